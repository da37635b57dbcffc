use super::*;

fn get<'a>(e: &'a Extract<'_>, key: &str) -> Option<&'a Value<'a>> {
    e.field(key)
}

fn s(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v))
}

#[test]
fn state_changes_and_crashes() {
    let e = extract("State changed from up to crashed");
    assert_eq!(get(&e, "event"), Some(&s("state_change")));
    assert_eq!(get(&e, "from"), Some(&s("up")));
    assert_eq!(get(&e, "to"), Some(&s("crashed")));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(
        extract("State changed from starting to up").level,
        Some(Level::Info)
    );
}

#[test]
fn starts_with_and_without_backticks() {
    let e = extract("Starting process with command `bundle exec puma -C config/puma.rb`");
    assert_eq!(
        get(&e, "command"),
        Some(&s("bundle exec puma -C config/puma.rb"))
    );
    let e = extract("Starting process with command node ./main.js");
    assert_eq!(get(&e, "command"), Some(&s("node ./main.js")));
}

#[test]
fn exits_stops_and_lifecycle_words() {
    let e = extract("Process exited with status 137");
    assert_eq!(get(&e, "exit_status"), Some(&Value::Int(137)));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(
        extract("Process exited with status 143").level,
        Some(Level::Info)
    );
    assert_eq!(get(&extract("Process exited"), "event"), Some(&s("exited")));
    for (line, event) in [
        ("Stopping all processes with SIGTERM", "stopping"),
        ("Stopping remaining processes with SIGKILL", "stopping"),
        ("Restarting", "restarting"),
        ("Cycling", "cycling"),
        ("Idling", "idling"),
        ("Unidling", "idling"),
        ("Awaiting client", "other"),
        ("Slug compilation started", "other"),
    ] {
        assert_eq!(get(&extract(line), "event"), Some(&s(event)), "{line}");
    }
}

#[test]
fn memory_reports_in_both_units() {
    let e = extract("Process running mem=870M(170.1%)");
    assert_eq!(get(&e, "memory_mb"), Some(&Value::Int(870)));
    assert_eq!(get(&e, "memory_pct"), Some(&Value::Float(170.1)));
    assert_eq!(e.level, Some(Level::Warning));
    let e = extract("Process running mem=1028MB(103.3%)");
    assert_eq!(get(&e, "memory_mb"), Some(&Value::Int(1028)));
}

#[test]
fn r_errors_and_loss_reports() {
    let e = extract("Error R14 (Memory quota exceeded)");
    assert_eq!(e.columns.code.as_deref(), Some("R14"));
    assert_eq!(get(&e, "desc"), Some(&s("Memory quota exceeded")));
    assert_eq!(e.level, Some(Level::Error));
    let e = extract("Error R15 (Memory quota vastly exceeded)");
    assert_eq!(e.level, Some(Level::Critical));
    let e =
        extract("Error R12 (Exit timeout) -> Process failed to exit within 30 seconds of SIGTERM");
    assert_eq!(get(&e, "desc"), Some(&s("Exit timeout")));

    let e = extract("Error L10 (output buffer overflow): drain 'd.f14da5dc' dropped 12 messages since 2024-05-01T10:10:59.280571+00:00.");
    assert_eq!(e.columns.code.as_deref(), Some("L10"));
    assert_eq!(get(&e, "dropped"), Some(&Value::Int(12)));
    assert_eq!(e.dropped, 12);
    let e = extract("Error L13: 111 messages lost since 2024-05-01T10:11:05.002231+00:00");
    assert_eq!(e.dropped, 111);
    assert_eq!(get(&e, "event"), Some(&s("dropped")));
}
