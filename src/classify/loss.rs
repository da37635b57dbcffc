//! PURE: recognises the only signal of loss Heroku gives, the L10 (Logplex drain buffer
//! overflow) and L12/L13 (log-shuttle) lines, in every wording seen (docs/wire.md, "Loss lines").

/// A loss report: which code said it and how many messages it says were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    /// `L10`, `L12` or `L13`.
    pub code: &'static str,
    /// Messages reported dropped or lost.
    pub dropped: u64,
}

/// Recognises
/// `Error L10 (output buffer overflow): N messages dropped since …` (Logplex code),
/// `Error L10 (output buffer overflow): drain 'd.…' dropped N messages since …` (production),
/// `Error L12: N messages dropped since …` and `Error L13: N messages lost since …`.
pub fn parse_loss(message: &str) -> Option<Loss> {
    let rest = message.strip_prefix("Error L1")?;
    let (code, rest) = match rest.as_bytes().first()? {
        b'0' => ("L10", &rest[1..]),
        b'2' => ("L12", &rest[1..]),
        b'3' => ("L13", &rest[1..]),
        _ => return None,
    };
    let (_, after) = rest.split_once(':')?;
    let mut words = after.split_ascii_whitespace().peekable();
    // Either "N messages dropped|lost" or "drain 'd.…' dropped N messages".
    while let Some(word) = words.next() {
        if let Ok(n) = word.parse::<u64>() {
            if words.peek().is_some_and(|w| w.starts_with("message")) {
                return Some(Loss { code, dropped: n });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_l10_wordings_and_log_shuttle_losses() {
        assert_eq!(
            parse_loss("Error L10 (output buffer overflow): 7 messages dropped since 2014-01-01T00:00:00+00:00."),
            Some(Loss { code: "L10", dropped: 7 })
        );
        assert_eq!(
            parse_loss("Error L10 (output buffer overflow): drain 'd.f14da5dc-106b-468d-b1bd-bed0ed9fa1e7' dropped 12 messages since 2024-05-01T10:10:59.280571+00:00."),
            Some(Loss { code: "L10", dropped: 12 })
        );
        assert_eq!(
            parse_loss("Error L12: 222 messages dropped since 2024-05-01T10:11:04.125756+00:00"),
            Some(Loss {
                code: "L12",
                dropped: 222
            })
        );
        assert_eq!(
            parse_loss("Error L13: 111 messages lost since 2024-05-01T10:11:05.002231+00:00"),
            Some(Loss {
                code: "L13",
                dropped: 111
            })
        );
    }

    #[test]
    fn other_lines_are_not_loss_reports() {
        assert_eq!(parse_loss("Error R14 (Memory quota exceeded)"), None);
        assert_eq!(parse_loss("Error L10 nothing here"), None);
        assert_eq!(parse_loss("hello"), None);
    }
}
