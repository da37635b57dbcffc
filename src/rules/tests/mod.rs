//! Redaction, verdicts and compile errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod apply;
mod compile;
mod properties;
mod redact;
mod verdict;
