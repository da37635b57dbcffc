#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use super::*;
use proptest::prelude::*;

const ROUTER: &[u8] = b"<158>1 2024-05-01T10:00:00.118264+00:00 host heroku router - at=info method=GET path=\"/\" status=200\n";

#[test]
fn a_router_line_splits_into_its_header_fields() {
    let message = parse(ROUTER).unwrap();
    assert_eq!(message.pri, 158);
    assert_eq!((message.facility(), message.severity()), (19, 6));
    assert_eq!(message.version, 1);
    assert_eq!(message.timestamp, Some(1_714_557_600_118_264));
    assert_eq!(message.timestamp_raw, b"2024-05-01T10:00:00.118264+00:00");
    assert_eq!(message.hostname, b"host");
    assert_eq!(message.app_name, b"heroku");
    assert_eq!(message.procid, b"router");
    assert_eq!(message.msgid, b"-");
    assert_eq!(message.structured_data, None);
    assert_eq!(message.msg, b"at=info method=GET path=\"/\" status=200");
    assert!(message.trailing_lf);
}

#[test]
fn a_logplex_msg_starting_with_dash_or_bracket_stays_in_msg() {
    for msg in [
        &b"- Gracefully stopping, waiting for requests to finish"[..],
        b"-",
        b"[GIN] 2022/01/01 - 10:00:00 | 200 |     163.92\xc2\xb5s",
        b"[DATABASE] [7-1]  sql_error_code = 00000 LOG:  duration: 1 ms",
        b"[id a=\"b\"] looks like SD",
    ] {
        let line = [
            &b"<190>1 2024-05-01T10:12:03.965260+00:00 host app web.1 - "[..],
            msg,
            b"\n",
        ]
        .concat();
        let message = parse(&line).unwrap();
        assert_eq!(message.msg, msg);
        assert_eq!(message.structured_data, None);
    }
}

#[test]
fn multiple_spaces_inside_msg_are_kept() {
    let line = b"<134>1 2024-05-01T10:10:39+00:00 host app postgres.1 - [GREEN] [14-1]  sql_error_code = 00000 LOG:  duration";
    assert_eq!(
        parse(line).unwrap().msg,
        b"[GREEN] [14-1]  sql_error_code = 00000 LOG:  duration"
    );
}

#[test]
fn an_empty_msg_with_its_lf_parses() {
    let message = parse(b"<190>1 2024-05-01T10:13:03.000005+00:00 host app web.1 - \n").unwrap();
    assert_eq!(message.msg, b"");
    assert!(message.trailing_lf);
}

#[test]
fn an_empty_msg_without_lf_parses() {
    let message = parse(b"<190>1 2024-05-01T10:13:03.000005+00:00 host app web.1 - ").unwrap();
    assert_eq!(message.msg, b"");
    assert!(!message.trailing_lf);
}

#[test]
fn only_one_trailing_lf_is_removed_and_a_cr_is_kept() {
    let message = parse(b"<190>1 - host app web.1 - line\r\n\n").unwrap();
    assert_eq!(message.msg, b"line\r\n");
    assert!(message.trailing_lf);
}

#[test]
fn a_message_with_only_five_separators_is_an_error() {
    assert_eq!(
        parse(b"<190>1 2024-05-01T10:00:00+00:00 host app web.1 -"),
        Err(ParseError::MissingFields)
    );
    assert_eq!(
        parse(b"<190>1 2024-05-01T10:00:00+00:00 host app web.1 -\n"),
        Err(ParseError::MissingFields)
    );
    assert_eq!(parse(b"<190>1"), Err(ParseError::MissingFields));
}

#[test]
fn a_bad_pri_is_an_error() {
    assert_eq!(parse(b""), Err(ParseError::MissingPri));
    assert_eq!(parse(b"190>1 - host a b - m"), Err(ParseError::MissingPri));
    assert_eq!(parse(b"<>1 - host a b - m"), Err(ParseError::BadPri));
    assert_eq!(parse(b"<192>1 - host a b - m"), Err(ParseError::BadPri));
    assert_eq!(parse(b"<1900>1 - host a b - m"), Err(ParseError::BadPri));
    assert_eq!(parse(b"<19x>1 - host a b - m"), Err(ParseError::BadPri));
    assert_eq!(parse(b"<191>1 - host a b - m").map(|m| m.pri), Ok(191));
    assert_eq!(parse(b"<0>1 - host a b - m").map(|m| m.pri), Ok(0));
}

#[test]
fn a_bad_version_is_an_error() {
    assert_eq!(
        parse(b"<190> - host a b - m x"),
        Err(ParseError::BadVersion)
    );
    assert_eq!(
        parse(b"<190>1x - host a b - m"),
        Err(ParseError::BadVersion)
    );
    assert_eq!(
        parse(b"<190>1000 - host a b - m"),
        Err(ParseError::BadVersion)
    );
    assert_eq!(parse(b"<190>2 - host a b - m").map(|m| m.version), Ok(2));
}

#[test]
fn a_nil_or_invalid_timestamp_is_none_but_the_message_parses() {
    let message = parse(b"<190>1 - host app web.1 - hi").unwrap();
    assert_eq!(
        (message.timestamp, message.timestamp_raw),
        (None, &b"-"[..])
    );
    let message = parse(b"<190>1 2024-13-01T10:00:00+00:00 host app web.1 - hi").unwrap();
    assert_eq!(message.timestamp, None);
    assert_eq!(message.msg, b"hi");
}

#[test]
fn non_utf8_bytes_anywhere_are_fine() {
    let message = parse(b"<190>1 \xff host \xfe\xfd web.1 - \xc3\n").unwrap();
    assert_eq!(message.app_name, b"\xfe\xfd");
    assert_eq!(message.msg, b"\xc3");
}

#[test]
fn a_log_shuttle_nil_structured_data_is_split_from_msg() {
    let message = parse(b"<172>1 2024-05-01T10:11:05.125756+00:00 shuttle app log-shuttle - - Error L12: 222 messages dropped since 2024-05-01T10:11:04.125756+00:00\n").unwrap();
    assert_eq!(message.structured_data, Some(&b"-"[..]));
    assert_eq!(
        message.msg,
        b"Error L12: 222 messages dropped since 2024-05-01T10:11:04.125756+00:00"
    );
    let message = parse(b"<190>1 - shuttle app web.1 - -").unwrap();
    assert_eq!(
        (message.structured_data, message.msg),
        (Some(&b"-"[..]), &b""[..])
    );
    let message = parse(b"<190>1 - shuttle app web.1 - - \n").unwrap();
    assert_eq!(
        (message.structured_data, message.msg),
        (Some(&b"-"[..]), &b""[..])
    );
}

#[test]
fn well_formed_structured_data_from_other_senders_is_split_from_msg() {
    let line = br#"<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\"cation\]" eventID="1011"][examplePriority@32473 class="high"] An application event"#;
    let message = parse(line).unwrap();
    assert_eq!(
        message.structured_data,
        Some(&br#"[exampleSDID@32473 iut="3" eventSource="Appli\"cation\]" eventID="1011"][examplePriority@32473 class="high"]"#[..])
    );
    assert_eq!(message.msg, b"An application event");
    assert_eq!(message.msgid, b"ID47");
}

#[test]
fn malformed_structured_data_from_other_senders_stays_in_msg() {
    for msg in [
        &b"-dash"[..],
        b"[unclosed",
        b"[id a=b] unquoted",
        b"[id a=\"b\"]glued",
        b"[] empty",
    ] {
        let line = [&b"<190>1 - shuttle app web.1 - "[..], msg].concat();
        let message = parse(&line).unwrap();
        assert_eq!((message.structured_data, message.msg), (None, msg));
    }
}

/// One header token: any bytes except SP, at least one.
fn token() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>().prop_filter("no SP", |b| *b != b' '), 1..12)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn header_like_bytes_never_panic(
        tail in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'-'), Just(b'['), Just(b']'), Just(b'"'), Just(b'\\'), Just(b'='), any::<u8>()], 0..64),
    ) {
        let line = [&b"<190>1 - shuttle a b - "[..], &tail].concat();
        let message = parse(&line);
        prop_assert!(message.is_ok());
    }

    #[test]
    fn logplex_header_fields_and_msg_round_trip(
        pri in 0..=191_u8,
        micros in 0..4_102_444_800_000_000_i64,
        app_name in token(),
        procid in token(),
        msg in proptest::collection::vec(any::<u8>(), 0..200),
        lf in any::<bool>(),
    ) {
        let mut line = format!("<{pri}>1 ").into_bytes();
        timestamp::format_micros(micros, &mut line);
        let timestamp_end = line.len();
        line.extend_from_slice(b" host ");
        line.extend_from_slice(&app_name);
        line.push(b' ');
        line.extend_from_slice(&procid);
        line.extend_from_slice(b" - ");
        line.extend_from_slice(&msg);
        if lf {
            line.push(b'\n');
        }
        let full_msg = [&msg[..], if lf { b"\n" } else { b"" }].concat();

        let message = parse(&line).unwrap();
        prop_assert_eq!(message.pri, pri);
        prop_assert_eq!(message.timestamp, Some(micros));
        prop_assert_eq!(message.timestamp_raw, &line[format!("<{pri}>1 ").len()..timestamp_end]);
        prop_assert_eq!(message.hostname, b"host");
        prop_assert_eq!(message.app_name, &app_name[..]);
        prop_assert_eq!(message.procid, &procid[..]);
        prop_assert_eq!(message.msgid, b"-");
        prop_assert_eq!(message.structured_data, None);
        prop_assert_eq!(message.msg, full_msg.strip_suffix(b"\n").unwrap_or(&full_msg));
        prop_assert_eq!(message.trailing_lf, full_msg.ends_with(b"\n"));
    }

    #[test]
    fn log_shuttle_msg_after_nil_structured_data_round_trips(
        hostname in token().prop_filter("not Logplex", |h| h != b"host"),
        msg in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let line = [&b"<190>1 - "[..], &hostname, b" token web.1 - - ", &msg].concat();
        let message = parse(&line).unwrap();
        prop_assert_eq!(message.hostname, &hostname[..]);
        prop_assert_eq!(message.structured_data, Some(&b"-"[..]));
        prop_assert_eq!(message.msg, msg.strip_suffix(b"\n").unwrap_or(&msg));
    }
}
