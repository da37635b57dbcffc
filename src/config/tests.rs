//! Unit tests of `config::load`: secrets, and the settings checked there.

use super::*;

#[test]
fn secrets_never_debug_print() {
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
}

fn maintain(args: &[&str]) -> Result<Policy, LoadError> {
    let argv: Vec<String> = ["logdrain", "maintain"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
    match load(&argv)?.task {
        Task::Maintain(_, policy) => Ok(policy),
        other => unreachable!("maintain: {other:?}"),
    }
}

#[test]
fn alert_history_keeps_a_thousand_per_rule_unless_told_and_never_none() {
    assert_eq!(maintain(&[]).expect("policy").alert_history_keep, 1000);
    let five = maintain(&["--alert-history-keep", "5"]).expect("policy");
    assert_eq!(five.alert_history_keep, 5);
    match maintain(&["--alert-history-keep", "0"]) {
        Err(LoadError::Invalid(e)) => assert_eq!(e.setting, "LOGDRAIN_ALERT_HISTORY_KEEP"),
        other => panic!("refused naming the setting: {other:?}"),
    }
}
