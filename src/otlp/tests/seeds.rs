//! The fuzz seeds of the `otlp` target decode as they should, and decoding and mapping never
//! panic on arbitrary or mutated payloads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use super::*;

#[test]
fn the_fuzz_seeds_decode_into_what_they_say() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/otlp");
    let pb = std::fs::read(format!("{dir}/router_app_system.pb")).unwrap();
    let req = decode(&pb[1..], Encoding::Protobuf).expect("protobuf seed");
    let mapped = lines(&req, Routing::ByServiceName, &[], SETTINGS, RECEIVED);
    let recs = records(&mapped.lines, RECEIVED);
    let kinds: Vec<Kind> = recs.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [Kind::Router, Kind::App, Kind::System]);
    assert_eq!(recs[1].level, Level::Error);
    let json = std::fs::read(format!("{dir}/quirks.json")).unwrap();
    let req = decode(&json[1..], Encoding::Json).expect("JSON seed");
    assert_eq!(
        lines(&req, Routing::OneApp, &[], SETTINGS, RECEIVED)
            .lines
            .len(),
        2
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Decoding and mapping never panic: arbitrary bytes, and seeds with bytes flipped.
    #[test]
    fn decoding_and_mapping_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..8),
    ) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/otlp");
        let mut inputs = vec![(Encoding::Protobuf, bytes.clone()), (Encoding::Json, bytes)];
        for (file, enc) in [("router_app_system.pb", Encoding::Protobuf), ("quirks.json", Encoding::Json)] {
            let mut seed = std::fs::read(format!("{dir}/{file}")).unwrap().split_off(1);
            for (at, b) in &flips {
                if let Some(x) = seed.get_mut(*at) {
                    *x = *b;
                }
            }
            inputs.push((enc, seed));
        }
        for (enc, input) in inputs {
            if let Ok(req) = decode(&input, enc) {
                for routing in [Routing::OneApp, Routing::ByServiceName] {
                    let mapped = lines(&req, routing, &[], SETTINGS, RECEIVED);
                    for r in records(&mapped.lines, RECEIVED) {
                        proptest::prop_assert!(r.pri.is_some());
                        proptest::prop_assert!(!r.message.contains('\0'));
                    }
                }
            }
        }
    }
}
