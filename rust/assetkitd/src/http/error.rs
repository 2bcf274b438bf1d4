//! The HTTP layer's error answer: `{"error": {"code", "message", "field"?}}`, one shape for
//! every route, and how domain errors map onto it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::Error;
use crate::store::{DbErrorKind, WriteFailure};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong and, where possible, how to fix it.
    pub message: String,
    /// The offending field (a JSON path or parameter name), when there is one.
    pub field: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after: None }
    }
    /// The same error, telling the client when to try again.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }
    /// The same error, naming its field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// A 500 from any internal failure; the detail goes to the log, not to the client.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %crate::log::clip(&e.to_string()), "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        // Agents keep the report in their spool and come back.
        let retry_after = self.retry_after.or((self.status == StatusCode::SERVICE_UNAVAILABLE).then_some(5));
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(WriteFailure::Replay) => ApiError::new(StatusCode::CONFLICT, "replay", e.to_string()),
            Error::Store(WriteFailure::Closed) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string())
            }
            Error::Store(WriteFailure::Db(ref db))
                if matches!(db.kind, DbErrorKind::Unavailable | DbErrorKind::Retry) =>
            {
                static LINES: crate::log::Limiter = crate::log::Limiter::new(5, std::time::Duration::from_secs(60));
                if let Some(suppressed) = LINES.allow("unavailable") {
                    tracing::warn!(error = %crate::log::clip(&db.message), suppressed, "database unavailable");
                }
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry the same request shortly (a report already applied is answered as a duplicate)",
                )
            }
            Error::Unidentifiable => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unidentifiable", e.to_string()),
            Error::Invalid { field, message } => {
                let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
                match field {
                    Some(f) => error.with_field(f),
                    None => error,
                }
            }
            Error::HostnameTaken { .. } => {
                ApiError::new(StatusCode::CONFLICT, "hostname_taken", e.to_string()).with_field("hostname")
            }
            Error::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            Error::ReportIdConflict(_) => ApiError::new(StatusCode::CONFLICT, "report_id_conflict", e.to_string()),
            Error::PackagesUnknown(_) => ApiError::new(StatusCode::CONFLICT, "packages_unknown", e.to_string())
                .with_field("facts.packages_digest".to_owned()),
            Error::Store(WriteFailure::Db(_)) => {
                tracing::error!(error = %crate::log::clip(&e.to_string()), "database operation failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "database", e.to_string())
            }
            Error::KeyRevoked { host: true } => {
                ApiError::new(StatusCode::UNAUTHORIZED, "credential_revoked", e.to_string())
            }
            Error::KeyRevoked { host: false } => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            Error::OverBudget { retry_after, .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "over_budget", e.to_string()).with_retry_after(retry_after)
            }
            Error::Failpoint(_) => {
                tracing::error!(error = %crate::log::clip(&e.to_string()), "write failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "database", format!("{e}; nothing was written"))
            }
        }
    }
}

impl From<WriteFailure> for ApiError {
    fn from(e: WriteFailure) -> Self {
        Error::Store(e).into()
    }
}
