//! The Logplex wire layer, pure: request body bytes → frames → syslog messages that borrow
//! the body. No I/O, no async, no allocation per message; the caller logs and counts.
//!
//! Flow: [`frames`] splits the body by octet counting ([`frame`]), [`parse`] reads each
//! message's RFC 5424 header ([`syslog`]), and [`timestamp`] turns TIMESTAMP into UTC
//! microseconds. Classification of MSG happens downstream.

pub mod frame;
pub mod syslog;
pub mod timestamp;

pub use frame::{frames, Frame, FrameError, Framer};
pub use syslog::{parse, ParseError, SyslogMessage};

/// Appends the line Heroku writes for these columns, without its LF:
/// `<PRI>1 YYYY-MM-DDTHH:MM:SS.UUUUUU+00:00 host SOURCE DYNO - MESSAGE` (the text the
/// database function `line_raw` rebuilds, migration 0005).
pub fn write_line(
    out: &mut Vec<u8>,
    pri: u16,
    ts_us: i64,
    source: &[u8],
    dyno: &[u8],
    message: &[u8],
) {
    out.push(b'<');
    if pri >= 100 {
        out.push(b'0' + (pri / 100 % 10) as u8);
    }
    if pri >= 10 {
        out.push(b'0' + (pri / 10 % 10) as u8);
    }
    out.push(b'0' + (pri % 10) as u8);
    out.extend_from_slice(b">1 ");
    timestamp::format_micros(ts_us, out);
    out.extend_from_slice(b" host ");
    out.extend_from_slice(source);
    out.push(b' ');
    out.extend_from_slice(dyno);
    out.extend_from_slice(b" - ");
    out.extend_from_slice(message);
}

/// The default cap on one frame's declared length (256 KiB): Logplex messages are at most about
/// 10 KB, so anything far above that is corruption rather than data.
pub const DEFAULT_MAX_FRAME_LEN: usize = 256 * 1024;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::Value;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples");

    fn decode(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    fn text<'v>(value: &'v Value, key: &str) -> &'v str {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing in {value}"))
    }

    /// Checks `parse(raw)` against one expected-message object of the samples.
    fn assert_parses_like(raw: &[u8], expected: &Value) {
        let message =
            parse(raw).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(raw)));
        let context = String::from_utf8_lossy(raw);
        assert_eq!(
            u64::from(message.pri),
            expected["pri"].as_u64().unwrap(),
            "{context}"
        );
        assert_eq!(
            u64::from(message.facility()),
            expected["facility"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(message.severity()),
            expected["severity"].as_u64().unwrap()
        );
        let timestamp = text(expected, "timestamp");
        assert_eq!(message.timestamp_raw, timestamp.as_bytes());
        let reference = chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
        assert_eq!(
            message.timestamp,
            Some(reference.timestamp_micros()),
            "{context}"
        );
        assert_eq!(message.hostname, text(expected, "hostname").as_bytes());
        assert_eq!(message.app_name, text(expected, "app_name").as_bytes());
        assert_eq!(message.procid, text(expected, "procid").as_bytes());
        assert_eq!(message.msgid, text(expected, "msgid").as_bytes());
        let msg = match expected["msg"].as_str() {
            Some(msg) => msg.as_bytes().to_vec(),
            None => decode(text(expected, "msg_b64")),
        };
        assert_eq!(message.msg, &msg[..], "{context}");
        assert_eq!(
            Some(message.trailing_lf),
            expected["trailing_newline"].as_bool()
        );
        assert_eq!(message.structured_data, None);
    }

    fn manifest() -> Vec<Value> {
        let text = std::fs::read_to_string(format!("{SAMPLES}/posts/manifest.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn sample_posts_split_into_exactly_the_expected_messages() {
        let posts = manifest();
        assert!(posts.len() >= 10);
        for post in &posts {
            let body =
                std::fs::read(format!("{SAMPLES}/posts/{}", text(post, "body_file"))).unwrap();
            let items: Vec<_> = frames(&body, DEFAULT_MAX_FRAME_LEN).collect();
            let expected = post["messages"].as_array().unwrap();
            let name = text(post, "name");
            assert_eq!(
                items.len() as u64,
                post["expected_message_count"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(items.len(), expected.len(), "{name}");
            for (item, expected) in items.iter().zip(expected) {
                assert_eq!(
                    item,
                    &Frame::Message(&decode(text(expected, "raw_b64"))),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn sample_posts_agree_with_their_msg_count_header() {
        for post in manifest() {
            let count = post["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0] == "Logplex-Msg-Count")
                .and_then(|h| h[1].as_str())
                .map(|c| c.parse::<usize>().unwrap());
            let body =
                std::fs::read(format!("{SAMPLES}/posts/{}", text(&post, "body_file"))).unwrap();
            assert_eq!(count, Some(frames(&body, DEFAULT_MAX_FRAME_LEN).count()));
        }
    }

    #[test]
    fn sample_post_messages_parse_into_the_expected_fields() {
        for post in manifest() {
            for expected in post["messages"].as_array().unwrap() {
                assert_parses_like(&decode(text(expected, "raw_b64")), expected);
            }
        }
    }

    #[test]
    fn every_sample_frame_parses_into_the_expected_fields() {
        let lines = std::fs::read_to_string(format!("{SAMPLES}/frames.jsonl")).unwrap();
        let mut count = 0;
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let expected: Value = serde_json::from_str(line).unwrap();
            let raw = decode(text(&expected, "raw_b64"));
            assert_eq!(raw.len() as u64, expected["frame_len"].as_u64().unwrap());
            assert_parses_like(&raw, &expected);
            count += 1;
        }
        assert!(count >= 100);
    }

    #[test]
    fn sample_frames_survive_an_lf_added_after_each_frame() {
        let lines = std::fs::read_to_string(format!("{SAMPLES}/frames.jsonl")).unwrap();
        let raws: Vec<Vec<u8>> = lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| decode(text(&serde_json::from_str(l).unwrap(), "raw_b64")))
            .collect();
        let mut body = Vec::new();
        for raw in &raws {
            body.extend_from_slice(format!("{} ", raw.len()).as_bytes());
            body.extend_from_slice(raw);
            body.push(b'\n');
        }
        let items: Vec<_> = frames(&body, DEFAULT_MAX_FRAME_LEN).collect();
        let expected: Vec<_> = raws.iter().map(|r| Frame::Message(r)).collect();
        assert_eq!(items, expected);
    }
}
