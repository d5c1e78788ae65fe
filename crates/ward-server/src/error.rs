//! API errors: every failure is `{"error": {"code", "message", "hint"}}` with the right status,
//! never a stack trace or an internal detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ward_app::{AppError, Kind};
use ward_store::StoreError;

/// The JSON error body.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong and how to fix it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code (e.g. `unauthenticated`, `forbidden`, `invalid_request`).
    pub code: String,
    /// One line for people.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// An error an API call returns.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub detail: ErrorDetail,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: ErrorDetail {
                code: code.into(),
                message: message.into(),
                hint: hint.into(),
            },
        }
    }

    /// 400 with a hint.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message, hint)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message, hint)
    }

    /// 500 without detail (the detail goes to the server log only).
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request",
            "retry; if it persists, the server log has the details",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Invalid(m) => ApiError::invalid(m, "check the request against `GET /api/v1/log`"),
            StoreError::Event(e) => ApiError::invalid(e.to_string(), "fix the event; nothing was written"),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m, "reload and retry"),
            StoreError::Refused(m) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "sensitive_content",
                m,
                "remove it: Ward records facts about systems, never PHI or secrets",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<AppError> for ApiError {
    /// The one place an application error's kind becomes an HTTP status.
    fn from(e: AppError) -> ApiError {
        let status = match e.kind {
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Locked => StatusCode::LOCKED,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Upstream => StatusCode::BAD_GATEWAY,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            detail: ErrorDetail {
                code: e.code,
                message: e.message,
                hint: e.hint,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Never echo: a message or hint that quotes PHI or a secret is withheld here, whatever
        // handler built it.
        let mut detail = self.detail;
        if let Some(w) = ward_app::identifier::withheld(&detail.message) {
            detail.message = w;
        }
        if let Some(w) = ward_app::identifier::withheld(&detail.hint) {
            detail.hint = w;
        }
        (self.status, axum::Json(ErrorBody { error: detail })).into_response()
    }
}
