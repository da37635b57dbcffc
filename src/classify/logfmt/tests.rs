use super::*;

fn all(text: &str) -> Vec<(String, String)> {
    pairs(text)
        .map(|p| (p.key.to_owned(), p.text().into_owned()))
        .collect()
}

fn kv(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn quoted_empty_and_escaped_values() {
    assert_eq!(
        all(r#"key="value with spaces" empty= quoted="" esc="she said \"hi\"" trailing="#),
        kv(&[
            ("key", "value with spaces"),
            ("empty", ""),
            ("quoted", ""),
            ("esc", r#"she said "hi""#),
            ("trailing", ""),
        ])
    );
}

#[test]
fn bare_words_are_skipped_and_unicode_survives() {
    assert_eq!(
        all("注文が完了しました order_id=8812 total=¥3,980 customer=\"山田 太郎\" 🎉"),
        kv(&[
            ("order_id", "8812"),
            ("total", "¥3,980"),
            ("customer", "山田 太郎")
        ])
    );
    assert_eq!(all("no pairs here"), kv(&[]));
    assert_eq!(all("=x a=1"), kv(&[("a", "1")]));
}

#[test]
fn an_unclosed_quote_runs_to_the_end() {
    assert_eq!(all(r#"a="open b=2"#), kv(&[("a", "open b=2")]));
    assert_eq!(all(r#"a="x\"#), kv(&[("a", r"x\")]));
}

#[test]
fn numbers_keep_their_type_and_lose_their_unit() {
    assert_eq!(
        number_with_unit("21.00MB"),
        Some((Value::Float(21.0), "MB"))
    );
    assert_eq!(
        number_with_unit("348836pages"),
        Some((Value::Int(348_836), "pages"))
    );
    assert_eq!(
        number_with_unit("0.02767"),
        Some((Value::Float(0.02767), ""))
    );
    assert_eq!(number_with_unit("4ms"), Some((Value::Int(4), "ms")));
    assert_eq!(number_with_unit("1e3"), Some((Value::Float(1000.0), "")));
    assert_eq!(number_with_unit("1bottle"), Some((Value::Int(1), "bottle")));
    assert_eq!(number_with_unit("abc"), None);
    assert_eq!(number_with_unit("1.2.3"), None);
    assert_eq!(number_with_unit("99999999999999999999"), None);
    assert_eq!(millis("30001ms"), Some(30_001));
    assert_eq!(millis("0"), Some(0));
    assert_eq!(millis(""), None);
}

#[test]
fn the_decimal_fast_path_agrees_with_the_standard_parser() {
    for text in [
        "21.00",
        "0.02767",
        "15405636.0",
        "-3.5",
        "+0.1",
        "123456789.012345",
        "0.1",
        "2.46",
    ] {
        assert_eq!(simple_decimal(text), text.parse::<f64>().ok(), "{text}");
    }
    assert_eq!(simple_decimal("1234567890.1234567"), None); // too many digits: slow path
    assert_eq!(simple_decimal("1e5"), None);
    assert_eq!(simple_decimal("1."), None);
}

proptest::proptest! {
    #[test]
    fn decimals_match_std(int in 0u64..10_000_000, frac in 0u64..10_000_000, width in 1usize..8) {
        let text = format!("{int}.{frac:0width$}");
        if let Some(fast) = simple_decimal(&text) {
            proptest::prop_assert_eq!(Some(fast), text.parse::<f64>().ok(), "{}", text);
        }
    }
}

/// The byte-at-a-time scanner the word-at-a-time one replaced, kept as the reference it must
/// agree with.
mod reference {
    use super::Pair;

    const KEY_END: [bool; 256] = {
        let mut table = [false; 256];
        table[b' ' as usize] = true;
        table[b'=' as usize] = true;
        table[b'"' as usize] = true;
        table
    };

    pub fn pairs(text: &str) -> Vec<Pair<'_>> {
        let bytes = text.as_bytes();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            let start = pos;
            let Some(rest) = bytes.get(start..) else {
                return out;
            };
            let key_len = rest
                .iter()
                .position(|&b| KEY_END[usize::from(b)])
                .unwrap_or(bytes.len() - start);
            let at = start + key_len;
            match bytes.get(at) {
                None => return out,
                Some(b'=') if key_len > 0 => {
                    let key = &text[start..at];
                    let from = at + 1;
                    if bytes.get(from) == Some(&b'"') {
                        let from = from + 1;
                        let mut search = from;
                        let end = loop {
                            let Some(n) = bytes[search..].iter().position(|&b| b == b'"') else {
                                break bytes.len();
                            };
                            let at = search + n;
                            let backslashes = bytes[from..at]
                                .iter()
                                .rev()
                                .take_while(|&&b| b == b'\\')
                                .count();
                            if backslashes % 2 == 0 {
                                break at;
                            }
                            search = at + 1;
                        };
                        pos = (end + 1).min(bytes.len());
                        let value = &text[from..end];
                        out.push(Pair {
                            key,
                            value,
                            escaped: value.contains('\\'),
                        });
                    } else {
                        let len = bytes[from..]
                            .iter()
                            .position(|&b| b == b' ')
                            .unwrap_or(bytes.len() - from);
                        let end = from + len;
                        pos = (end + 1).min(bytes.len());
                        out.push(Pair {
                            key,
                            value: &text[from..end],
                            escaped: false,
                        });
                    }
                }
                Some(b' ') => pos = at + 1,
                Some(_) => {
                    pos = bytes[at..]
                        .iter()
                        .position(|&b| b == b' ')
                        .map_or(bytes.len(), |n| at + n + 1);
                }
            }
        }
    }
}

/// Text made mostly of the bytes the scanner looks for.
fn logfmt_like() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just(" ".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just("é".to_owned()),
        "[a-z_#.]{1,20}",
        "[ -~]{0,12}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    #[test]
    fn the_scanner_agrees_with_the_reference(text in logfmt_like()) {
        let got: Vec<Pair<'_>> = pairs(&text).collect();
        proptest::prop_assert_eq!(got, reference::pairs(&text), "{:?}", text);
    }

    #[test]
    fn the_scanner_agrees_with_the_reference_on_any_text(text in "\\PC{0,80}") {
        let got: Vec<Pair<'_>> = pairs(&text).collect();
        proptest::prop_assert_eq!(got, reference::pairs(&text), "{:?}", text);
    }
}

/// `number_with_unit` as first written (scan, then `simple_decimal` or the standard parsers
/// over the number), kept as the reference the one-pass version must agree with.
fn reference_number_with_unit(text: &str) -> Option<(Value<'static>, &str)> {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits_start = at;
    while at < bytes.len() && bytes[at].is_ascii_digit() {
        at += 1;
    }
    let mut float = false;
    if at < bytes.len() && bytes[at] == b'.' {
        let frac = at + 1;
        let mut end = frac;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end > frac {
            float = true;
            at = end;
        }
    }
    if at == digits_start {
        return None;
    }
    if float || at > digits_start {
        if let Some(b'e' | b'E') = bytes.get(at) {
            let mut end = at + 1;
            if let Some(b'-' | b'+') = bytes.get(end) {
                end += 1;
            }
            let exp_start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > exp_start {
                float = true;
                at = end;
            }
        }
    }
    let (number, unit) = text.split_at(at);
    if !unit.bytes().all(|b| b.is_ascii_alphabetic() || b == b'%') {
        return None;
    }
    let value = if float {
        Value::Float(match simple_decimal(number) {
            Some(f) => f,
            None => number.parse::<f64>().ok().filter(|f| f.is_finite())?,
        })
    } else {
        Value::Int(number.parse::<i64>().ok()?)
    };
    Some((value, unit))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    #[test]
    fn numbers_with_units_agree_with_the_reference(
        text in "[-+]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{0,4})?[a-zA-Z%.0-9]{0,4}"
    ) {
        let got = number_with_unit(&text);
        let expected = reference_number_with_unit(&text);
        // Compare floats by their bits: the same rounding, not merely close.
        let bits = |v: &Option<(Value<'static>, &str)>| {
            v.as_ref().map(|(value, unit)| match value {
                Value::Float(f) => (format!("f{}", f.to_bits()), unit.to_string()),
                other => (format!("{other:?}"), unit.to_string()),
            })
        };
        proptest::prop_assert_eq!(bits(&got), bits(&expected), "{:?}", text);
    }
}
