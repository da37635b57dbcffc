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

/// The default cap on one frame's declared length (256 KiB): Logplex messages are at most about
/// 10 KB, so anything far above that is corruption rather than data.
pub const DEFAULT_MAX_FRAME_LEN: usize = 256 * 1024;
