//! Stoa's shared vocabulary: the error catalog, AccessToken2 tokens, validation rules and the signalling protocol.
//! Pure code: no IO, no async, no clocks (time is always passed in).

pub mod error;
pub mod signal;
pub mod token;
pub mod validate;

pub use error::{ErrorCode, RtcError};
