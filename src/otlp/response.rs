//! PURE: the bodies of OTLP/HTTP answers, in the encoding the request used: the
//! `ExportLogsServiceResponse` of a `200` (with `partial_success` when records were refused)
//! and the `google.rpc.Status` of every error.

use super::Encoding;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use prost::Message as _;

/// `google.rpc.Status`, the error body OTLP/HTTP prescribes (`details` is never sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for a person.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The `google.rpc.Code`s the endpoint answers with.
pub mod code {
    /// 400: the payload cannot be decoded, or an unsupported encoding.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// 413 and 429: too large, or too much at once.
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// 500.
    pub const INTERNAL: i32 = 13;
    /// 503: the write queue is full or the database is away; retry after `Retry-After`.
    pub const UNAVAILABLE: i32 = 14;
    /// 401: no valid credential.
    pub const UNAUTHENTICATED: i32 = 16;
    /// 405 and 415.
    pub const UNIMPLEMENTED: i32 = 12;
}

/// The success body: empty, or `partial_success` with the refused count and the reason.
pub fn success(encoding: Encoding, rejected: u64, message: Option<&str>) -> Vec<u8> {
    let partial = (rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.unwrap_or_default().to_owned(),
    });
    match encoding {
        Encoding::Protobuf => ExportLogsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        // Written by hand to keep `{}` for "all accepted" and the count a JSON number (proto3
        // JSON parsers accept numbers and strings for int64; not all accept strings).
        Encoding::Json => match partial {
            None => b"{}".to_vec(),
            Some(p) => serde_json::json!({"partialSuccess": {
                "rejectedLogRecords": p.rejected_log_records,
                "errorMessage": p.error_message,
            }})
            .to_string()
            .into_bytes(),
        },
    }
}

/// An error body: `google.rpc.Status` with `code` and `message`.
pub fn status(encoding: Encoding, code: i32, message: &str) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => Status {
            code,
            message: message.to_owned(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    }
}
