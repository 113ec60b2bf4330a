//! The recovery-plan engine. Pure: no I/O and no clock; "today" is always an argument.
//!
//! Given a protocol, a treatment and what we know of the patient, it answers the phases
//! (`timeline`), the daily reminders with their UTC instants (`reminders`), the screening outcome
//! (`screening`) and the assessment of a check-in (`assessment`).

pub mod assessment;
pub mod local_time;
#[cfg(test)]
mod properties;
pub mod protocol;
pub mod questions;
pub mod reminders;
pub mod screening;
pub mod timeline;
pub mod translations;
pub mod variants;

pub use protocol::{Level, Personal, Protocol};
pub use reminders::{PlannedReminder, Schedule, ScheduleHistory, TreatmentPlan};
