//! logdrain: a Heroku HTTPS log drain that stores every line, parsed and typed, in Postgres.
//!
//! Two flows, each running one way (no module imports one above it):
//!
//! ```text
//! POST /logs   http/ingest.rs      auth from headers, body capped and gunzipped
//!   → pipeline                     PURE: body + context + rules → COPY rows, counts, events
//!       → logplex/                 PURE: octet-counted frames → RFC 5424 messages
//!       → pipeline/join.rs         PURE: split long lines joined
//!       → classify/                PURE: message → LogRecord (kind, level, fields)
//!       → rules/                   PURE: drop, sample, redact (a redacted line reclassified)
//!       → store/copy.rs            PURE: LogRecords → binary COPY tuples
//!   → ingest/                      bounded queue (bytes) → batch writers; 204 after commit
//!   → store/write.rs               sqlx: one transaction per batch (ledger + COPY + counters)
//!
//! GET /api/…   http/query.rs       bearer auth, handlers, tail streaming
//!   → query/                       PURE: parameters → store filters; rows → text/json/SSE
//!   → store/read.rs                sqlx: filtered pages, aggregates (filters in store/filter.rs)
//! ```
//!
//! `http/error.rs` is the one error → status table for both. `config.rs` turns flags, env and
//! the config file (`cli.rs` holds clap's structs) into one command's validated settings;
//! `main.rs` dispatches on them; `app.rs` wires the server together and owns the shutdown
//! order. `record.rs` is the shared vocabulary, `units.rs` the duration and size parsers,
//! `client.rs` the `logs`/`tail` client, `synth/` realistic Heroku traffic for benches and the
//! load driver. The project's reference (drain contract, wire facts) is in `docs/`.

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
