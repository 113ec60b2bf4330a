//! Use cases: one function for each thing a caller can do. Each owns its way to the database
//! (`Database::read` for short reads, `write` for a write transaction, `run` for longer reads)
//! and the business rules of that action. Handlers parse the request into domain values, call
//! one use case, and shape its answer; models hold the queries a use case is made of.

pub mod accounts;
pub mod audit;
pub mod calendar_feeds;
pub mod check_ins;
pub mod clinicians;
pub mod data_rights;
pub mod invitations;
pub mod mail;
pub mod passwords;
pub mod patients;
pub mod photos;
pub mod plans;
pub mod protocols;
pub mod screenings;
pub mod treatments;
