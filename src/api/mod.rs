//! PURE parts of the query API (API.md §2): parameter parsing, output formats, the H/R/L code
//! descriptions and the OpenAPI document. The handlers are in `http::api`, the SQL in
//! `store::read`.

pub mod codes;
pub mod format;
pub mod params;

/// The OpenAPI 3 description of the read API, served at `/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");
