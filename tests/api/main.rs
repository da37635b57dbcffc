//! One integration binary: the real server, real HTTP, real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is the test failing

mod alerts;
mod browser;
mod classify;
mod cli;
mod compact;
mod compact_crash;
mod container;
mod framing;
mod helpers;
mod hostile;
mod ingest;
mod noisy;
mod otlp;
mod otlp_credentials;
mod otlp_hostile;
mod outage;
mod pages;
mod partitions;
mod query;
mod quickstart;
mod reliability;
mod rollups;
mod rules;
mod tls;
