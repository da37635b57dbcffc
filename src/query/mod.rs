//! PURE: the read side between HTTP and the store (`GET /api/openapi.json`): query parameters → the store's
//! filters, stored rows → text/JSON/NDJSON/SSE, the H/R/L code descriptions and the OpenAPI
//! document. The handlers are in `http::query`, the SQL in `store::read`; nothing here imports
//! `http`.

pub mod codes;
pub mod format;
pub mod params;

/// The OpenAPI 3 description of the query API and the alert endpoints, served at
/// `/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");
