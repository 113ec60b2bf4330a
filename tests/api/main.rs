//! Black-box tests of the API through a real socket. They run on SQLite by default and, unchanged,
//! on PostgreSQL when TEST_DATABASE_URL is set.

mod fixtures;
mod smtp_sink;
mod support;

mod audit;
mod audit_anchor;
mod auth;
mod calendar;
mod calendar_subscriptions;
mod check_in_questions;
mod check_in_safety;
mod check_ins;
mod cli;
mod clinic_protocols;
mod console;
mod contract;
mod data_rights;
mod errors;
mod isolation;
mod languages;
mod login_throttle;
mod mail;
mod memberships;
mod notifications;
mod odd_input;
mod offboarding;
mod openapi;
mod operations;
mod patients;
mod photo_content;
mod photo_renditions;
mod plan_cache;
mod plans;
mod replays;
mod request_edges;
mod revalidation;
mod screening_gate;
mod staff;
mod storage;
mod tokens;
mod treatment_time;
mod variants;
