use super::*;
use crate::alerts::RuleSpec;

fn rule(text: &str) -> Rule {
    toml::from_str::<RuleSpec>(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .validate(None)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn event(rule: &Rule, notice: Notice) -> Event<'_> {
    let at = DateTime::parse_from_rfc3339("2026-11-01T10:05:00Z")
        .unwrap()
        .with_timezone(&Utc);
    Event {
        rule,
        notice,
        value: Some(0.05),
        at,
        firing_since: at,
        base_url: "https://logs.example.com",
    }
}

#[test]
fn the_webhook_body_holds_what_receivers_need() {
    let r = rule(
        "name = \"5xx\"\napp = \"shop\"\nkind = \"rate\"\nfilter = \"status=5xx\"\nthreshold = 0.02\nwindow = \"5m\"",
    );
    let body = event(&r, Notice::Firing).payload(Format::Webhook);
    assert_eq!(body["alert"], "5xx");
    assert_eq!(body["app"], "shop");
    assert_eq!(body["state"], "firing");
    assert_eq!(body["value"], 0.05);
    assert_eq!(body["threshold"], 0.02);
    assert_eq!(body["window"], "5m");
    assert_eq!(body["when"], "2026-11-01T10:05:00Z");
    assert_eq!(
        body["link"],
        "https://logs.example.com/api/apps/shop/logs?status=5xx&kind=router\
         &since=2026-11-01T10%3A00%3A00Z&until=2026-11-01T10%3A05%3A00Z"
    );
    assert!(body["summary"]
        .as_str()
        .unwrap()
        .starts_with("[FIRING] shop/5xx: rate 5.00% ≥ 2.00% in 5m"));
}

#[test]
fn slack_gets_text_and_alertmanager_its_version_4_shape() {
    let r = rule("name = \"drops\"\napp = \"shop\"\nkind = \"loss\"\nwindow = \"10m\"");
    let slack = event(&r, Notice::Resolved).payload(Format::Slack);
    let text = slack["text"].as_str().unwrap();
    assert!(text.starts_with("[RESOLVED] shop/drops"), "{text}");
    assert!(text.contains("|matching lines>"), "{text}");
    assert!(text.contains("/api/apps/shop/loss?since="), "{text}");
    let am = event(&r, Notice::Resolved).payload(Format::Alertmanager);
    assert_eq!(am["version"], "4");
    assert_eq!(am["status"], "resolved");
    assert_eq!(am["alerts"][0]["labels"]["alertname"], "drops");
    assert_eq!(am["alerts"][0]["endsAt"], "2026-11-01T10:05:00Z");
    assert_eq!(am["alerts"][0]["fingerprint"].as_str().unwrap().len(), 16);
}
