//! One integration binary: the real server, real HTTP, real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is the test failing

mod classify;
mod cli;
mod compact;
mod compact_crash;
mod helpers;
mod hostile;
mod ingest;
mod outage;
mod partitions;
mod query;
mod reliability;
mod rules;
mod tls;
