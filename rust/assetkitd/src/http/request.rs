//! What every handler does with a request: read its body within its limit and timeout, run a
//! read off the async threads, and count (and log, a few lines a minute) what it refused.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Reads the body within `limit` (413 beyond it), the body timeout (408), and its framing (400
/// for a malformed chunked encoding or a body cut short). Declared lengths over the limit are
/// refused before a byte is read.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("request body exceeds {limit} bytes"))
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| match body_fault(&e) {
        BodyFault::TooLarge => too_large(),
        BodyFault::TimedOut => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body stalled; send it without pauses",
        ),
        BodyFault::Malformed => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the request body is malformed (bad chunked encoding, or cut short)",
        ),
    })
}

/// Most bytes a gzipped report body may inflate to (its wire size is bounded by `--max-body`).
pub const MAX_INFLATED: usize = 32 << 20;

/// The body as JSON bytes: as sent, or inflated when `Content-Encoding: gzip` (to at most
/// [`MAX_INFLATED`] bytes: a small body that inflates without end is refused, not held).
pub fn decoded_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    let encoding = headers.get(axum::http::header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim());
    match encoding {
        None | Some("identity") => Ok(body),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            use std::io::Read as _;
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(MAX_INFLATED));
            let mut reader = flate2::read::GzDecoder::new(&body[..]).take(MAX_INFLATED as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    format!("the gzipped body does not inflate: {e}"),
                )
            })?;
            if out.len() > MAX_INFLATED {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the gzipped body inflates beyond {MAX_INFLATED} bytes"),
                ));
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {:?} is not accepted; send gzip or no encoding", crate::log::clip(other)),
        )),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum BodyFault {
    TooLarge,
    TimedOut,
    Malformed,
}

/// What went wrong reading a body: the error chain holds a length-limit error, a body timeout,
/// or (anything else) a framing error from hyper.
fn body_fault(err: &axum::Error) -> BodyFault {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<http_body_util::LengthLimitError>() {
            return BodyFault::TooLarge;
        }
        if e.is::<tower_http::timeout::TimeoutError>() {
            return BodyFault::TimedOut;
        }
        cur = e.source();
    }
    BodyFault::Malformed
}

/// Wraps a handler result so every error is counted by reason and logged, a few lines per
/// reason per minute (a flood of bad requests is one summary line, not a full disk).
pub(crate) fn counted<T: IntoResponse>(state: &AppState, result: Result<T, ApiError>) -> Response {
    static LINES: crate::log::Limiter = crate::log::Limiter::new(10, std::time::Duration::from_secs(60));
    match result {
        Ok(v) => v.into_response(),
        Err(e) => {
            state.metrics.rejected(e.code);
            if let Some(suppressed) = LINES.allow(e.code) {
                tracing::info!(
                    code = e.code,
                    status = e.status.as_u16(),
                    message = %crate::log::clip_long(&e.message),
                    suppressed,
                    "request rejected"
                );
            }
            e.into_response()
        }
    }
}

/// Runs a read on a pooled connection off the async threads.
pub(crate) async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn crate::store::Db) -> crate::domain::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let readers = state.readers.clone();
    tokio::task::spawn_blocking(move || readers.with(f).map_err(ApiError::from)).await.map_err(ApiError::internal)?
}
