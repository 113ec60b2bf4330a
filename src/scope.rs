//! The access rule, written once: staff see their own clinic's rows, a patient only their own.
//! Queries apply it with `Scope::rows` (or `Scope::clinic_rows` for tables without a patient), and
//! data already in memory is checked with `Scope::allows`.

use diesel::expression::{BoxableExpression, ValidGrouping, is_aggregate};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::auth::Caller;
use crate::db::MultiBackend;
use crate::domain::Role;

/// What a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Staff (administrators and clinicians): every row of their clinic.
    Clinic(String),
    /// A patient: the rows about themselves.
    Patient { clinic_id: String, patient_id: String },
}

/// A filter a boxed query over `QS` takes.
pub type Filter<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

/// A text column of a table in `QS` (what the filters compare with the caller's ids).
pub trait TextColumn<QS>: BoxableExpression<QS, MultiBackend, SqlType = Text> + NotAggregate + 'static {}

impl<QS, C> TextColumn<QS> for C where C: BoxableExpression<QS, MultiBackend, SqlType = Text> + NotAggregate + 'static {}

/// What a filter must be (diesel's `BoxableExpression` asks it of the whole filter, not its parts).
pub trait NotAggregate: ValidGrouping<(), IsAggregate = is_aggregate::No> {}

impl<E: ValidGrouping<(), IsAggregate = is_aggregate::No>> NotAggregate for E {}

impl Scope {
    pub fn of(caller: &Caller) -> Scope {
        match caller.role {
            Role::Admin | Role::Clinician => Scope::Clinic(caller.clinic_id.clone()),
            Role::Patient => Scope::Patient { clinic_id: caller.clinic_id.clone(), patient_id: caller.user_id.clone() },
        }
    }

    /// Whether a row of `clinic_id` about `patient_id` is in scope: the in-memory twin of `rows`.
    pub fn allows(&self, clinic_id: &str, patient_id: &str) -> bool {
        match self {
            Scope::Clinic(clinic) => clinic == clinic_id,
            Scope::Patient { patient_id: patient, .. } => patient == patient_id,
        }
    }

    /// The rows in scope of a table that names each row's clinic and patient in these columns.
    pub fn rows<QS, C, P>(&self, clinic_id: C, patient_id: P) -> Filter<QS>
    where
        C: TextColumn<QS>,
        P: TextColumn<QS>,
    {
        match self {
            Scope::Clinic(clinic) => Box::new(clinic_id.eq(clinic.clone())),
            Scope::Patient { patient_id: patient, .. } => Box::new(patient_id.eq(patient.clone())),
        }
    }

    /// The rows of the caller's own clinic, for tables that hold no patient's data (staff lists,
    /// the audit trail, the queue's counters).
    pub fn clinic_rows<QS, C: TextColumn<QS>>(&self, clinic_id: C) -> Filter<QS> {
        Box::new(clinic_id.eq(self.clinic_id().to_string()))
    }

    pub fn clinic_id(&self) -> &str {
        match self {
            Scope::Clinic(clinic_id) | Scope::Patient { clinic_id, .. } => clinic_id,
        }
    }
}
