//! One integration binary: the real server, real HTTP, real Postgres.

mod helpers;
mod ingest;
mod outage;
