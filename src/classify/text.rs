//! PURE: MSG bytes → the searchable text of a line.
//!
//! Valid UTF-8 without NULs or escape codes (nearly every line) is borrowed as it is. Anything
//! else is decoded with replacement characters, NUL (which Postgres text cannot hold) becomes
//! U+FFFD and ANSI escape sequences (colours, cursor moves) are removed. The exact bytes stay
//! in `raw`.

use std::borrow::Cow;

/// The escape byte that opens an ANSI sequence.
const ESC: u8 = 0x1b;

/// MSG as searchable text (see the module docs).
pub fn clean(msg: &[u8]) -> Cow<'_, str> {
    // `simdutf8` accepts exactly what `std::str::from_utf8` accepts, with vector code.
    match simdutf8::basic::from_utf8(msg) {
        Ok(text) if memchr::memchr2(0, ESC, msg).is_none() => Cow::Borrowed(text),
        Ok(text) => Cow::Owned(scrub(text)),
        Err(_) => Cow::Owned(scrub(&String::from_utf8_lossy(msg))),
    }
}

/// Replaces NULs and removes ANSI escape sequences: CSI (`ESC [ params final`), OSC
/// (`ESC ] … BEL` or `ESC ] … ESC \`) and two-byte escapes (`ESC` + one character).
fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    // Parameter and intermediate bytes, then one final byte in @..~.
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                        if !(' '..='?').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                _ => {}
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
