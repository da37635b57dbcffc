use super::*;

fn get<'a>(e: &'a Extract<'_>, key: &str) -> Option<&'a Value<'a>> {
    e.field(key)
}

#[test]
fn runtime_samples_lose_their_units() {
    let line = "source=web.1 dyno=heroku.2808254.d97d0ea7 sample#memory_total=21.00MB sample#memory_pgpgin=348836pages sample#load_avg_1m=2.46";
    assert!(is_runtime_metrics(line));
    let e = extract(line, Origin::Runtime);
    assert_eq!(get(&e, "source"), Some(&Value::Str("web.1".into())));
    assert_eq!(
        get(&e, "dyno_id"),
        Some(&Value::Str("heroku.2808254.d97d0ea7".into()))
    );
    assert_eq!(get(&e, "memory_total"), Some(&Value::Float(21.0)));
    assert_eq!(get(&e, "memory_pgpgin"), Some(&Value::Int(348_836)));
    assert_eq!(get(&e, "load_avg_1m"), Some(&Value::Float(2.46)));
}

#[test]
fn addon_samples_keep_heroku_key_names() {
    let line = "source=DATABASE addon=postgresql-curly-12345 sample#db_size=26219348792bytes sample#memory-total=15405636.0kB sample#tmp-disk-used=33849344 sample#wal-percentage-used=0.07";
    let e = extract(line, Origin::Addon);
    assert_eq!(
        get(&e, "addon"),
        Some(&Value::Str("postgresql-curly-12345".into()))
    );
    assert_eq!(get(&e, "db_size"), Some(&Value::Int(26_219_348_792)));
    assert_eq!(get(&e, "memory-total"), Some(&Value::Float(15_405_636.0)));
    assert_eq!(get(&e, "tmp-disk-used"), Some(&Value::Int(33_849_344)));
    assert_eq!(get(&e, "wal-percentage-used"), Some(&Value::Float(0.07)));
    assert!(!is_runtime_metrics("State changed from up to down"));
}
