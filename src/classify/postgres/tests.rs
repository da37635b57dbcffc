use super::*;

fn get<'a>(e: &'a Extract<'_>, key: &str) -> Option<&'a Value<'a>> {
    e.field(key)
}

#[test]
fn a_slow_query_line() {
    let e = extract("[GREEN] [14-1]  sql_error_code = 00000 LOG:  duration: 2688.600 ms  execute <unnamed>: SELECT 1");
    assert_eq!(get(&e, "database"), Some(&Value::Str("GREEN".into())));
    assert_eq!(get(&e, "statement"), Some(&Value::Int(14)));
    assert_eq!(get(&e, "part"), Some(&Value::Int(1)));
    assert_eq!(get(&e, "sql_error_code"), Some(&Value::Str("00000".into())));
    assert_eq!(get(&e, "severity"), Some(&Value::Str("LOG".into())));
    assert_eq!(get(&e, "duration_ms"), Some(&Value::Float(2688.6)));
    assert_eq!(e.level, Some(Level::Info));
}

#[test]
fn continuation_parts_and_errors() {
    let e = extract("[DATABASE] [7-2]       SELECT column");
    assert_eq!(get(&e, "part"), Some(&Value::Int(2)));
    assert_eq!(get(&e, "severity"), None);
    let e = extract("[DATABASE] [9-1]  sql_error_code = 23505 ERROR:  duplicate key value");
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(get(&e, "duration_ms"), None);
    let e = extract("[DATABASE] [9-1]  sql_error_code = 53300 FATAL:  too many connections");
    assert_eq!(e.level, Some(Level::Critical));
}
