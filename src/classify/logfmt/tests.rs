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
