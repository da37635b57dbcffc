use super::*;

#[test]
fn clean_utf8_is_borrowed() {
    assert!(matches!(clean(b"plain line"), Cow::Borrowed("plain line")));
}

#[test]
fn colour_codes_are_removed() {
    assert_eq!(
        clean(b"\x1b[1;34mINFO \x1b[0mpid=2 msg=\"\x1b[32mconnected\x1b[0m\""),
        "INFO pid=2 msg=\"connected\""
    );
    assert_eq!(clean(b"a\x1b]0;title\x07b"), "ab");
    assert_eq!(clean(b"a\x1b]0;title\x1b\\b"), "ab");
    assert_eq!(clean(b"trailing\x1b"), "trailing");
    assert_eq!(clean(b"\x1b[K"), "");
}

#[test]
fn nul_and_invalid_bytes_are_replaced() {
    assert_eq!(clean(b"a\0b"), "a\u{FFFD}b");
    assert_eq!(clean(b"caf\xe9"), "caf\u{FFFD}");
}
