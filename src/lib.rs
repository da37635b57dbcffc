//! logdrain: a Heroku HTTPS log drain that stores every line, parsed and typed, in Postgres.
//!
//! The data flows one way, and the modules follow it:
//!
//! ```text
//! HTTP (http/)            POST /logs: auth from headers, body capped and gunzipped
//!   → logplex/            PURE: octet-counted frames → RFC 5424 messages borrowing the body
//!   → classify/           PURE: message → LogRecord (kind, level, fields)
//!   → store/copy.rs       PURE: LogRecords → binary COPY tuples, encoded in the handler
//!   → ingest/             bounded queue (bytes) → batch writers; 204 only after commit
//!   → store/              sqlx: one transaction per batch (frame ledger + COPY + counters)
//! ```
//!
//! `record.rs` is the shared vocabulary; `config.rs` the validated settings that `cli.rs`
//! fills from flags and env vars; `app.rs` wires it together and owns the shutdown order.
//! `synth.rs` generates realistic Heroku traffic for benches and the load driver. `rules/` is
//! PURE too: the redaction, drop and sampling rules the ingest path applies to each line.

pub mod app;
pub mod classify;
pub mod cli;
pub mod client;
pub mod config;
pub mod http;
pub mod ingest;
pub mod logplex;
pub mod pipeline;
pub mod query;
pub mod record;
pub mod rules;
mod scan;
pub mod store;
pub mod synth;
pub mod units;
