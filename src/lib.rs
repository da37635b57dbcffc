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
//!       → store/rollup.rs          PURE: LogRecords → what they add to the stats rollups
//!   → ingest/                      bounded queue (bytes) → batch writers; 204 after commit
//!   → store/write.rs               sqlx: one transaction per batch (ledger + COPY + rollups + counters)
//!
//! POST /v1/logs http/otlp.rs       OTLP/HTTP: Basic or Bearer auth, body capped and gunzipped
//!   → otlp/                        PURE: export → one RFC 5424 line per record + telemetry
//!   → pipeline::run_otlp           the same classify → rules → COPY; then the same queue
//!
//! GET /api/…   http/query.rs       bearer or session auth, handlers, tail streaming
//!   → query/                       PURE: parameters → store filters; rows → text/json/SSE
//!   → store/read.rs                sqlx: filtered pages, aggregates over rollups and line edges
//! ```
//!
//! `http/error.rs` is the one error → status table for both. `config.rs` turns flags, env and
//! the config file (`cli.rs` holds clap's structs) into one command's validated settings;
//! `main.rs` dispatches on them; `app.rs` wires the server together and owns the shutdown
//! order. `record.rs` is the shared vocabulary, `secret.rs` the secret type, `units.rs` the
//! duration and size parsers, `client.rs` the `logs`/`tail` client, `synth/` realistic Heroku traffic for benches and the
//! load driver. The project's reference (drain contract, wire facts) is in `docs/`.
//!
//! The pages (`http/pages.rs`, files embedded from `web/`) are static shells whose scripts read
//! the same query API with a session cookie (`http/session.rs`). `alerts/` runs beside both
//! flows: a round every `LOGDRAIN_ALERT_EVERY` reads through `store/`, steps each rule's PURE
//! state machine and sends notifications with its own client; its HTTP endpoints are in
//! `http/alerts.rs`.

pub mod alerts;
pub mod app;
pub mod classify;
pub mod cli;
pub mod client;
pub mod config;
pub mod http;
pub mod ingest;
pub mod logplex;
pub mod otlp;
pub mod pipeline;
pub mod query;
pub mod record;
pub mod rules;
mod scan;
pub mod secret;
pub mod store;
pub mod synth;
pub mod units;
