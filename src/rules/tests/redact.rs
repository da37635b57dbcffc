//! Redaction: what must be masked, what must stay byte for byte, and that redacted lines still
//! parse as what they were.

use crate::classify::{logfmt, router};
use crate::rules::{compile, Redacted, Rules, RulesConfig};
use sha2::{Digest, Sha256};

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6\
                   IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

fn app(rules: &Rules, text: &str) -> Option<Redacted> {
    rules.redact("app", "web.1", text)
}

/// The redacted text of an app line, or the line itself when nothing changed.
fn red(text: &str) -> String {
    app(&Rules::default(), text).map_or_else(|| text.to_owned(), |r| r.text)
}

fn unchanged(text: &str) {
    assert_eq!(app(&Rules::default(), text), None, "changed: {text}");
}

fn rules(toml_text: &str) -> Rules {
    #[derive(serde::Deserialize)]
    struct File {
        rules: RulesConfig,
    }
    let file: File = toml::from_str(toml_text).unwrap();
    compile(&file.rules).unwrap()
}

fn router_line(path: &str) -> String {
    format!(
        "at=info method=GET path=\"{path}\" host=acme-shop.herokuapp.com \
         request_id=8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6 fwd=\"203.0.113.7\" dyno=web.1 \
         connect=0ms service=12ms status=302 bytes=0 protocol=https"
    )
}

#[test]
fn router_query_secrets_are_masked_and_the_line_still_parses() {
    let line = router_line("/oauth/callback?code=abc&access_token=ya29.a0Af&state=x");
    let out = Rules::default().redact("heroku", "router", &line).unwrap();
    assert_eq!(
        out.text,
        router_line("/oauth/callback?code=abc&access_token=[REDACTED]&state=x")
    );
    assert_eq!(out.hits, vec![("query_params".to_owned(), 1)]);

    let line = router_line("/api?api_key=XYZ");
    let out = Rules::default().redact("heroku", "router", &line).unwrap();
    assert_eq!(out.text, router_line("/api?api_key=[REDACTED]"));
    let before = router::extract(&line);
    let after = router::extract(&out.text);
    assert_eq!(
        after.columns.path.as_deref(),
        Some("/api?api_key=[REDACTED]")
    );
    assert_eq!(after.columns.route, before.columns.route);
    assert_eq!(after.columns.status, before.columns.status);
    assert_eq!(after.columns.request_id, before.columns.request_id);
    assert_eq!(after.fields, before.fields);
}

#[test]
fn other_url_secrets() {
    assert_eq!(
        red("GET /maps?key=AIzaSy_abc&sig=deadbeef&X-Amz-Signature=abc123&X-Amz-Credential=AK%2F&page=2"),
        "GET /maps?key=[REDACTED]&sig=[REDACTED]&X-Amz-Signature=[REDACTED]\
         &X-Amz-Credential=[REDACTED]&page=2"
    );
    assert_eq!(
        red("connecting to postgres://u1abc:p4ss%40word@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8"),
        "connecting to postgres://u1abc:[REDACTED]@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8"
    );
    assert_eq!(
        red("redis://:p0a1b2c3@ec2-host:6379"),
        "redis://:[REDACTED]@ec2-host:6379"
    );
    // `key` is only a secret as a query parameter; `code` is never one.
    unchanged("cache key=users/42 code=H12");
    unchanged("GET /callback?code=abc&state=xyz");
    unchanged("* Listening on http://0.0.0.0:3000");
    unchanged("GET https://example.com/a@b");
}

#[test]
fn rails_parameters_with_hash_rockets() {
    let line = r#"I, [2026-11-01T10:00:00.123456 #4]  INFO -- : [8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6]   Parameters: {"authenticity_token"=>"abc+/=", "user"=>{"email"=>"a@b.c", "password"=>"hunter2", "password_confirmation"=>"[FILTERED]"}, "commit"=>"Sign in"}"#;
    let out = app(&Rules::default(), line).unwrap();
    assert_eq!(
        out.text,
        r#"I, [2026-11-01T10:00:00.123456 #4]  INFO -- : [8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6]   Parameters: {"authenticity_token"=>"[REDACTED]", "user"=>{"email"=>"a@b.c", "password"=>"[REDACTED]", "password_confirmation"=>"[FILTERED]"}, "commit"=>"Sign in"}"#
    );
    assert_eq!(out.hits, vec![("secret_keys".to_owned(), 2)]);
    assert_eq!(
        red(r#"{:password=>"hunter2", :pin => 1234, "token" => 'abc'}"#),
        r#"{:password=>"[REDACTED]", :pin => 1234, "token" => '[REDACTED]'}"#
    );
}

#[test]
fn json_values_under_secret_keys_become_redacted_strings() {
    let line = r#"{"level":"info","password":"hunter2","user":"bob"}"#;
    assert_eq!(
        red(line),
        r#"{"level":"info","password":"[REDACTED]","user":"bob"}"#
    );
    let rules = rules("[rules.redact]\nsecret_names = [\"pin\"]\n");
    let line = r#"{"pin": 1234, "apiKey":12.5e3, "token" : true, "secret":null, "client_secret":"", "credentials":{"user":"x","accessToken":"s3cr\"et"}, "n":[1,2]}"#;
    let out = app(&rules, line).unwrap().text;
    assert_eq!(
        out,
        r#"{"pin": "[REDACTED]", "apiKey":"[REDACTED]", "token" : "[REDACTED]", "secret":null, "client_secret":"", "credentials":{"user":"x","accessToken":"[REDACTED]"}, "n":[1,2]}"#
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["pin"], "[REDACTED]");
    assert_eq!(doc["credentials"]["user"], "x");
}

#[test]
fn escaped_json_inside_a_string_stays_valid() {
    let line =
        r#"{"msg":"payload {\"password\":\"hunter2\",\"otp\":123456,\"token\":42}","user":"bob"}"#;
    let out = red(line);
    assert_eq!(
        out,
        r#"{"msg":"payload {\"password\":\"[REDACTED]\",\"otp\":123456,\"token\":\"[REDACTED]\"}","user":"bob"}"#
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(doc["msg"].as_str().unwrap().trim_start_matches("payload ")).unwrap();
    assert_eq!(inner["token"], "[REDACTED]");
}

#[test]
fn logfmt_values_under_secret_keys() {
    let line = "user=bob password=hunter2 at=info";
    let out = red(line);
    assert_eq!(out, "user=bob password=[REDACTED] at=info");
    let keys: Vec<_> = logfmt::pairs(&out).map(|p| (p.key, p.value)).collect();
    assert_eq!(
        keys,
        [("user", "bob"), ("password", "[REDACTED]"), ("at", "info")]
    );
    assert_eq!(
        red(r#"at=info DB_PASSWORD="two words" X-Auth-Token=abc stripe_api_key=k1 sig=00ff"#),
        r#"at=info DB_PASSWORD="[REDACTED]" X-Auth-Token=[REDACTED] stripe_api_key=[REDACTED] sig=[REDACTED]"#
    );
    assert_eq!(
        red(r#"level=info msg="login attempt password=hunter2" user=bob"#),
        r#"level=info msg="login attempt password=[REDACTED]" user=bob"#
    );
    assert_eq!(
        red("User{name=bob, password=hunter2}"),
        "User{name=bob, password=[REDACTED]}"
    );
    assert_eq!(red("password: hunter2 ok"), "password: [REDACTED] ok");
    assert_eq!(
        red("$ run --password=hunter2"),
        "$ run --password=[REDACTED]"
    );
}

#[test]
fn keys_that_only_look_secret_stay() {
    unchanged("request_id=8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6 token_count=5 tokens=7");
    unchanged("passwordless=true signal=SIGTERM author=bob oauth=google keyboard=us");
    unchanged("Invalid password for user bob; token expired");
    unchanged("password= token=\"\" secret=[FILTERED] pwd=***");
    unchanged("auth:login succeeded");
    unchanged(r#"{"password_hash_algo":"bcrypt","token_type":"bearer"}"#);
}

#[test]
fn authorization_headers_keep_their_scheme() {
    assert_eq!(
        red(&format!("Authorization: Bearer {JWT}")),
        "Authorization: Bearer [REDACTED]"
    );
    let out = app(
        &Rules::default(),
        "Authorization: Basic dXNlcjpwYXNz from 10.0.0.1",
    )
    .unwrap();
    assert_eq!(out.text, "Authorization: Basic [REDACTED] from 10.0.0.1");
    assert_eq!(out.hits, vec![("authorization".to_owned(), 1)]);
    assert_eq!(
        red(r#"{"headers":{"authorization":"Bearer abc.def","x":1}}"#),
        r#"{"headers":{"authorization":"Bearer [REDACTED]","x":1}}"#
    );
    assert_eq!(
        red("HTTP_AUTHORIZATION=Token token=abc123 path=/"),
        "HTTP_AUTHORIZATION=Token [REDACTED] path=/"
    );
    assert_eq!(
        red("curl -H 'Authorization: s3cr3t' x"),
        "curl -H 'Authorization: [REDACTED]' x"
    );
    assert_eq!(
        red("sent bearer 0a1b2c3d4e5f6a7b8c9d to upstream"),
        "sent bearer [REDACTED] to upstream"
    );
    unchanged("The Bearer of bad news");
    unchanged("Bearer token missing");
    unchanged("Using Bearer Authentication.");
}

#[test]
fn card_numbers() {
    for card in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",
        "3782 822463 10005",
        "6011111111111117",
    ] {
        let out = app(
            &Rules::default(),
            &format!("charging card {card} for order 8812"),
        )
        .unwrap();
        assert_eq!(
            out.text, "charging card [REDACTED] for order 8812",
            "{card}"
        );
        assert_eq!(out.hits, vec![("card_numbers".to_owned(), 1)]);
    }
    assert_eq!(
        red(r#"{"card":"4111111111111111","n":2}"#),
        r#"{"card":"[REDACTED]","n":2}"#
    );
    assert_eq!(red("cards 12 4111111111111111."), "cards 12 [REDACTED].");
}

#[test]
fn numbers_that_are_not_cards_stay() {
    unchanged("bytes=1234567890123 status=200 order_id=8812 total=39.80");
    unchanged("order 4111111111111112 failed"); // fails Luhn
    unchanged("1793527200123 1793527200123456 1793527200123456789"); // epoch ms, µs, ns
    unchanged("ts=2026-11-01T10:00:00.123456+00:00 at 2026-11-01 10:00:00 +0000");
    unchanged("request_id=41111111-1111-4111-8111-111111111111");
    unchanged("id=a4111111111111111b x4111111111111111 4111111111111111_x v0.4111111111111111");
    unchanged("Deploy 9f2c4e1a4111111111111111e8a0b1c2d3e4f5a6 by user dev@acme-shop.example");
    unchanged("call +4111111111111111 or 0.4111111111111111");
    unchanged("sample#memory_pgpgin=2451234pages sample#db_size=26123456789bytes");
    unchanged("1234 5678 9012 3456 and 4111 1111 1111 1112");
}

#[test]
fn key_shapes() {
    let out = app(&Rules::default(), "using AKIAIOSFODNN7EXAMPLE for s3").unwrap();
    assert_eq!(out.text, "using [REDACTED] for s3");
    assert_eq!(out.hits, vec![("key_shapes".to_owned(), 1)]);
    assert_eq!(red("aws=ASIAIOSFODNN7EXAMPLE"), "aws=[REDACTED]");
    unchanged(
        "KAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPL AKIAIOSFODNN7EXAMPLEX Akiaiosfodnn7example",
    );

    assert_eq!(red(&format!("session {JWT} ok")), "session [REDACTED] ok");
    unchanged("eyJhbGciOiJIUzI1NiJ9 is base64 JSON but no JWT");

    let key =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc==\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        red(&format!("loaded {key} done")),
        "loaded -----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY----- done"
    );
    assert_eq!(
        red("key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA"),
        "key: -----BEGIN OPENSSH PRIVATE KEY-----[REDACTED]"
    );
    unchanged("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");

    assert_eq!(
        red("stripe sk_live_51HxAbCdEfGhIjKlMnOp charged"),
        "stripe sk_live_[REDACTED] charged"
    );
    assert_eq!(
        red("GITHUB ghp_abcdefghijklmnopqrstuvwxyz0123456789 xoxb-1234-5678-abcdEFGH"),
        "GITHUB ghp_[REDACTED] xoxb-[REDACTED]"
    );
    assert_eq!(
        red("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
        "pat github_pat_[REDACTED]"
    );
    unchanged("task_live_123 ghp_short sk_live_ risk_live_abcdefghijklmnopqrstu");
}

#[test]
fn emails_only_when_asked() {
    let line = "Release v112 created by user dev@acme-shop.example";
    unchanged(line);
    let rules = rules("[rules.redact]\nemails = true\n");
    let out = app(&rules, line).unwrap();
    assert_eq!(
        out.text,
        "Release v112 created by user [REDACTED]@acme-shop.example"
    );
    assert_eq!(out.hits, vec![("emails".to_owned(), 1)]);
    assert_eq!(
        app(&rules, r#"{"to":"a.b+c@mail.example.org."}"#)
            .unwrap()
            .text,
        r#"{"to":"[REDACTED]@mail.example.org."}"#
    );
    assert_eq!(app(&rules, "git@github, a@b, @home, x@y.z1"), None);
}

fn ip_hash(salt: &str, ip: &str) -> String {
    let digest = Sha256::digest(format!("{salt}{ip}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("ip-{}", &hex[..16])
}

#[test]
fn client_ips_are_hashed_on_router_lines_only_when_asked() {
    let line = "at=info method=GET path=\"/\" host=a.herokuapp.com request_id=8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6 \
                fwd=\"203.0.113.7,10.0.0.1\" dyno=web.1 connect=0ms service=3ms status=200 bytes=5 protocol=https";
    assert_eq!(Rules::default().redact("heroku", "router", line), None);
    let rules = rules("[rules.redact]\nhash_client_ips = true\nip_hash_salt = \"pepper\"\n");
    let out = rules.redact("heroku", "router", line).unwrap();
    let want = line.replace(
        "203.0.113.7,10.0.0.1",
        &format!(
            "{},{}",
            ip_hash("pepper", "203.0.113.7"),
            ip_hash("pepper", "10.0.0.1")
        ),
    );
    assert_eq!(out.text, want);
    assert_eq!(out.hits, vec![("hash_client_ips".to_owned(), 2)]);
    assert_eq!(
        router::extract(&out.text).fields,
        router::extract(&want).fields
    );
    // With a space after the comma, and unquoted.
    let out = rules
        .redact(
            "heroku",
            "router",
            "at=info fwd=\"203.0.113.7, 10.0.0.1\" dyno=web.1",
        )
        .unwrap();
    assert_eq!(
        out.text,
        format!(
            "at=info fwd=\"{}, {}\" dyno=web.1",
            ip_hash("pepper", "203.0.113.7"),
            ip_hash("pepper", "10.0.0.1")
        )
    );
    assert_eq!(
        rules
            .redact("heroku", "router", "at=info fwd=1.2.3.4 dyno=web.1")
            .unwrap()
            .text,
        format!("at=info fwd={} dyno=web.1", ip_hash("pepper", "1.2.3.4"))
    );
    // Not a router line.
    assert_eq!(rules.redact("app", "web.1", "fwd=\"203.0.113.7\""), None);
}

#[test]
fn custom_patterns_with_and_without_a_secret_group() {
    let rules = rules(
        r#"
        [[rules.redact.patterns]]
        name = "account"
        regex = 'acct=(?P<secret>\d+)'
        [[rules.redact.patterns]]
        name = "ssn"
        regex = '\b\d{3}-\d{2}-\d{4}\b'
        replacement = "[SSN]"
        "#,
    );
    let out = app(&rules, "acct=12345 ssn 123-45-6789 acct=9 ok").unwrap();
    assert_eq!(out.text, "acct=[REDACTED] ssn [SSN] acct=[REDACTED] ok");
    assert_eq!(
        out.hits,
        vec![("account".to_owned(), 2), ("ssn".to_owned(), 1)]
    );
    assert_eq!(app(&rules, "acct=x"), None);
}

#[test]
fn several_secrets_in_one_line_are_counted_per_rule() {
    let out = app(
        &Rules::default(),
        "password=a token=b card=4111111111111111 key=AKIAIOSFODNN7EXAMPLE",
    )
    .unwrap();
    assert_eq!(
        out.text,
        "password=[REDACTED] token=[REDACTED] card=[REDACTED] key=[REDACTED]"
    );
    assert_eq!(
        out.hits,
        vec![
            ("secret_keys".to_owned(), 2),
            ("card_numbers".to_owned(), 1),
            ("key_shapes".to_owned(), 1)
        ]
    );
    // A JWT inside a secret query value is one redaction.
    let out = app(&Rules::default(), &format!("GET /cb?id_token={JWT}&x=1")).unwrap();
    assert_eq!(out.text, "GET /cb?id_token=[REDACTED]&x=1");
    assert_eq!(out.hits.len(), 1);
}

#[test]
fn switched_off_builtins_do_nothing() {
    let rules = rules(
        "[rules.redact]\nquery_params = false\nauthorization = false\nsecret_keys = false\n\
         card_numbers = false\nkey_shapes = false\n",
    );
    assert!(!rules.redacts());
    assert!(Rules::default().redacts());
    assert_eq!(
        app(
            &rules,
            &format!("GET /?token=a password=b 4111111111111111 AKIAIOSFODNN7EXAMPLE Bearer {JWT}")
        ),
        None
    );
}

#[test]
fn ordinary_heroku_lines_stay_byte_for_byte() {
    for line in [
        router_line("/products/123?page=2&sort=price"),
        "at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" host=a.herokuapp.com \
         request_id=0f3c6a1e-9b2d-4c5e-8a7f-112233445566 fwd=\"203.0.113.7\" dyno=web.2 \
         connect=1ms service=30001ms status=503 bytes=0 protocol=https"
            .to_owned(),
        "source=web.1 dyno=heroku.145151706.8d9e1f2a-3b4c-4d5e-8f60-718293a4b5c6 \
         sample#memory_total=512.00MB sample#memory_rss=480.12MB"
            .to_owned(),
        "Starting process with command `bundle exec puma -C config/puma.rb`".to_owned(),
        "Deploy 9f2c4e1a by user dev@acme-shop.example".to_owned(),
        "Set DATABASE_URL, SECRET_KEY_BASE config vars by user dev@acme-shop.example".to_owned(),
        "2026-11-01T10:00:00.123Z pid=4 tid=2d4k class=HardWorker jid=0a1b2c3d4e5f elapsed=0.512 INFO: done"
            .to_owned(),
        r#"{"level":30,"time":1793527200123,"pid":23,"reqId":"req-0a1b","msg":"request completed"}"#
            .to_owned(),
    ] {
        assert_eq!(Rules::default().redact("heroku", "router", &line), None, "{line}");
        unchanged(&line);
    }
}

#[test]
fn synthetic_traffic_has_no_false_positives() {
    let mut corpus = crate::synth::Corpus::new(7);
    let mut body = Vec::new();
    corpus.body(5_000, &mut body);
    let p = crate::pipeline::process_body(&body, 1 << 20, 0);
    let rules = Rules::default();
    for rec in &p.records {
        let out = rules.redact(&rec.source, &rec.dyno, &rec.message);
        assert_eq!(out, None, "{}", rec.message);
    }
}
