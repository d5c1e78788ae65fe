//! `ward-app`: Ward's application services, free of HTTP.
//!
//! - [`error`]: [`AppError`], the one error type (kind, code, message, hint).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;

pub use error::{AppError, Kind};
