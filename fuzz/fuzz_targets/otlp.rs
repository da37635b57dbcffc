//! Arbitrary bytes as an OTLP/HTTP logs payload through the decoder and the mapping the
//! `POST /v1/logs` handler uses: `otlp::decode` (protobuf or JSON, chosen by the first byte),
//! `otlp::lines` (both routings) and `pipeline::run_otlp` (classify → rules → COPY), with rules
//! that change nothing and with the default rules (builtin redaction).
//!
//! Invariants checked:
//! - no panic, for any payload (undecodable ones are an `Err`, answered 400);
//! - every record of the request is either a line or counted as rejected, and with the app
//!   routing none is rejected;
//! - every rendered line parses as RFC 5424 (it is classified as a Logplex line would be);
//! - one record per line without drop rules, `message` never holds NUL;
//! - trace and span ids, when kept, are 32 and 16 lower-case hex digits;
//! - tags are always a JSON object.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logdrain::otlp::map::MapSettings;
use logdrain::otlp::{decode, lines, Encoding, Routing};
use logdrain::pipeline::{run_otlp, Context};
use logdrain::rules::{compile, RedactConfig, Rules, RulesConfig};
use std::sync::OnceLock;

const RECEIVED_US: i64 = 1_700_000_000_000_000;

fn rule_sets() -> &'static [Rules; 2] {
    static RULES: OnceLock<[Rules; 2]> = OnceLock::new();
    RULES.get_or_init(|| {
        let off = RulesConfig {
            redact: RedactConfig {
                query_params: false,
                authorization: false,
                secret_keys: false,
                card_numbers: false,
                key_shapes: false,
                ..RedactConfig::default()
            },
            ..RulesConfig::default()
        };
        [
            compile(&off).expect("rules that change nothing compile"),
            Rules::default(),
        ]
    })
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let Ok(request) = decode(payload, encoding) else {
        return;
    };
    let total: usize = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let settings = MapSettings {
        max_attributes: usize::from(selector >> 4) * 8,
    };
    let tags = [("env".to_owned(), "fuzz".to_owned())];
    for routing in [Routing::OneApp, Routing::ByServiceName] {
        let mapped = lines(&request, routing, &tags, settings, RECEIVED_US);
        assert_eq!(mapped.lines.len() as u64 + mapped.rejected, total as u64);
        if routing == Routing::OneApp {
            assert_eq!(mapped.rejected, 0);
        }
        for line in &mapped.lines {
            assert!(logdrain::logplex::parse(&line.raw).is_ok());
            let tags = line.telemetry.tags.as_deref().expect("tags");
            let value: serde_json::Value = serde_json::from_str(tags).expect("tags are JSON");
            assert!(value.is_object());
        }
        let ctx = Context {
            app_id: 1,
            received_us: RECEIVED_US,
            tags: None,
            frame_id: Some("otlp-fuzz"),
            max_frame: 1 << 20,
        };
        for rules in rule_sets() {
            let prepared = run_otlp(&mapped.lines, &ctx, rules);
            assert_eq!(prepared.records.len(), mapped.lines.len());
            for rec in &prepared.records {
                assert!(rec.pri.is_some());
                assert!(!rec.message.contains('\0'));
                let t = rec.telemetry.as_deref().expect("telemetry");
                if let Some(id) = &t.trace_id {
                    assert!(is_hex(id, 32));
                }
                if let Some(id) = &t.span_id {
                    assert!(is_hex(id, 16));
                }
                if let Some(tags) = &t.tags {
                    assert!(serde_json::from_str::<serde_json::Value>(tags).is_ok());
                }
            }
        }
    }
});
