//! Authentication: passwords, tokens, and the authenticated-caller extractor.

pub mod caller;
pub mod password;
pub mod tokens;

pub use caller::{Admin, Caller, Patient, Staff};
