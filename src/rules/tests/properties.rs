//! Properties of the redactor on any text: it never panics, and its output is a fixed point
//! (redacting twice changes nothing more than redacting once).

use crate::rules::{compile, Rules, RulesConfig};
use proptest::prelude::*;

/// Pieces that reach every detector: key names in their spellings, separators and quotes,
/// schemes, URL parts, key shapes, digits for card numbers, e-mail and `fwd=` parts, masks
/// a logger may already have written, and arbitrary text between them.
fn piece() -> impl Strategy<Value = String> {
    let vocabulary = prop::sample::select(vec![
        "password",
        "apiKey",
        "X-Auth-Token",
        "db_password",
        "token",
        "secret",
        "auth",
        "authorization",
        "Authorization",
        "access_token",
        "key",
        "sig",
        "request_id",
        "=",
        ":",
        ": ",
        "=>",
        "\"",
        "'",
        "\\\"",
        "\\\\",
        "&",
        "?",
        ";",
        "{",
        "}",
        "[",
        "]",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "Bearer ",
        "bearer",
        "Basic ",
        "://",
        "user:pw@",
        "https://",
        "postgres://u:p@h/db",
        "AKIA",
        "ASIA",
        "AKIAIOSFODNN7EXAMPLE",
        "eyJ",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-123",
        "-----BEGIN ",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "sk_live_",
        "ghp_",
        "xoxb-",
        "AIza",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "0",
        "1",
        "9",
        "-",
        "+",
        ".",
        "@",
        "a@b.co",
        "fwd=",
        "fwd=\"203.0.113.7\"",
        "[REDACTED]",
        "[FILTERED]",
        "***",
        "null",
        "true",
        "42",
        "é",
        "\u{1b}[31m",
        "\0",
    ])
    .prop_map(str::to_owned);
    prop_oneof![4 => vocabulary, 1 => "[a-zA-Z0-9_./+=-]{1,24}", 1 => any::<String>()]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..24).prop_map(|pieces| pieces.concat())
}

/// The default rules, and every detector on (e-mails, client IPs and a custom pattern too).
fn rule_sets() -> [Rules; 2] {
    let all: RulesConfig = toml::from_str(
        r#"
        [redact]
        emails = true
        hash_client_ips = true
        ip_hash_salt = "pepper"
        secret_names = ["pin"]

        [[redact.patterns]]
        name = "account numbers"
        regex = 'acct=(?P<secret>\d+)'
        "#,
    )
    .unwrap();
    [Rules::default(), compile(&all).unwrap()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_text_never_panics_and_redacting_twice_changes_nothing_more(text in text()) {
        for rules in &rule_sets() {
            for (app, procid) in [("app", "web.1"), ("heroku", "router"), ("", "")] {
                if let Some(once) = rules.redact(app, procid, &text) {
                    prop_assert_ne!(&once.text, &text);
                    let twice = rules.redact(app, procid, &once.text);
                    prop_assert_eq!(twice.map(|r| r.text), None, "once: {:?}", once.text);
                }
            }
        }
    }
}
