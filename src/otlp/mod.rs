//! PURE: OTLP/HTTP logs (an `ExportLogsServiceRequest`, binary protobuf or proto3 JSON) → the
//! same [`LogRecord`](crate::record::LogRecord)s the Logplex path classifies. No I/O.
//!
//! Flow: [`decode`] reads the payload with the `opentelemetry-proto` types (prost for
//! protobuf, its serde mapping for OTLP/JSON: hex trace ids, integer enums, 64-bit integers as
//! strings or numbers, unknown fields ignored); [`map::lines`] turns every record into a
//! syslog line as Logplex would have framed it (source and dyno from the attributes or the
//! body, see [`origin`]) plus what syslog has no place for ([`Telemetry`]: trace and span id,
//! attributes, stated level); [`map::records`] classifies those lines with the very classifier
//! of the Logplex path. [`response`] encodes the answers the OTLP specification asks for.
//!
//! [`Telemetry`]: crate::record::Telemetry

pub mod map;
pub mod origin;
pub mod response;
mod value;

pub use map::{lines, records, Line, Lines, Routing};
pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use prost::Message as _;

/// The two encodings of OTLP/HTTP, chosen by `Content-Type`; the answer uses the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (proto3 JSON with the OTLP rules).
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` value names (parameters such as `charset` ignored).
    pub fn from_content_type(value: &str) -> Option<Encoding> {
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A payload that is not an `ExportLogsServiceRequest` in the declared encoding: answered
/// `400` with a `google.rpc.Status`, which OTLP clients do not retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Decodes one export request. Nesting is bounded by the decoders themselves (prost's
/// recursion limit of 100, serde_json's of 128), so a deeply nested payload is an error,
/// never a stack overflow.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportLogsServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(body).map_err(|e| {
            DecodeError(format!(
                "not an OTLP ExportLogsServiceRequest (protobuf): {e}"
            ))
        }),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| DecodeError(format!("not an OTLP ExportLogsServiceRequest (JSON): {e}"))),
    }
}

#[cfg(test)]
mod tests;
