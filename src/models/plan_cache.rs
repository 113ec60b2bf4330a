//! Recovery plans kept in memory between requests, so the patient's app can read its timeline,
//! reminders and today screen without loading the treatment, patient and schedules every time.
//!
//! A kept plan is only as good as the data it was built from, so every entry is tagged with the
//! version of the plans' inputs (`plan_inputs_version`: database triggers move it whenever an
//! account, patient, schedule or treatment changes, whichever process or replica writes). Each
//! request reads the current version in the same statement as its account check (`Caller`), and
//! an entry answers only a request that read the same version. The version is read before the plan
//! is loaded, so a plan kept under a version holds data at least that new: a change committed
//! after it moves the version, and the next request misses and loads afresh.
//!
//! An entry also answers only a caller the database itself would have shown it to (the same
//! scope as `treatments::get` and `patients::get`): a hit can never widen what a caller sees.
//!
//! The version only moves forward, so restoring a backup under a running server (which takes it
//! back) needs a restart of the server, as it would for any process holding state read earlier.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::auth::{Caller, Patient};
use crate::error::AppError;
use crate::models::plans::PlanContext;

/// Plans and patients' treatment lists: enough for every active plan of a large clinic (a plan is
/// about a kilobyte).
pub const PLAN_CACHE_CAPACITY: usize = 20_000;

pub struct PlanCache {
    kept: Mutex<Kept>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Plans, all built at one version of their inputs.
#[derive(Default)]
struct Kept {
    version: i64,
    /// By treatment id.
    plans: HashMap<String, Arc<PlanContext>>,
    /// A patient's treatment ids, in the order `treatments::own` lists them, by patient id.
    patients: HashMap<String, Arc<[String]>>,
}

impl PlanCache {
    pub fn new(capacity: usize) -> PlanCache {
        PlanCache { kept: Mutex::default(), capacity, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// The plan of `treatment_id`, if one is kept at the caller's version and the caller may see it.
    pub fn get(&self, caller: &Caller, treatment_id: &str) -> Option<Arc<PlanContext>> {
        let found = caller.plan_inputs_version.and_then(|version| {
            let kept = self.lock();
            (kept.version == version).then(|| kept.plans.get(treatment_id).cloned()).flatten()
        });
        self.counted(found.filter(|plan| visible_to(plan, caller)))
    }

    /// The plans of all the calling patient's treatments, if every one is kept at the caller's version.
    pub fn own_plans(&self, caller: &Patient) -> Option<Vec<Arc<PlanContext>>> {
        let found = caller.plan_inputs_version.and_then(|version| {
            let kept = self.lock();
            let ids = kept.patients.get(&caller.user_id).filter(|_| kept.version == version)?;
            ids.iter().map(|id| kept.plans.get(id).cloned()).collect::<Option<Vec<_>>>()
        });
        self.counted(found.filter(|plans| plans.iter().all(|plan| visible_to(plan, caller))))
    }

    /// Keeps a plan the caller has just loaded, at the version the caller read before loading it.
    pub fn keep(&self, caller: &Caller, plan: Arc<PlanContext>) {
        if let Some(mut kept) = self.kept_at(caller) {
            kept.plans.insert(plan.treatment.id.clone(), plan);
        }
    }

    /// Keeps the plans of all the calling patient's treatments, just loaded, as `keep` does.
    pub fn keep_own(&self, caller: &Patient, plans: &[Arc<PlanContext>]) {
        if let Some(mut kept) = self.kept_at(caller) {
            let ids = plans.iter().map(|plan| plan.treatment.id.clone()).collect();
            kept.patients.insert(caller.user_id.clone(), ids);
            for plan in plans {
                kept.plans.insert(plan.treatment.id.clone(), plan.clone());
            }
        }
    }

    /// The kept plans, ready to take plans built at the caller's version: `None` when the caller
    /// read an older version than the plans kept (a change came between).
    fn kept_at(&self, caller: &Caller) -> Option<std::sync::MutexGuard<'_, Kept>> {
        let version = caller.plan_inputs_version?;
        let mut kept = self.lock();
        if version < kept.version {
            return None;
        }
        // Patients' treatment lists count against the room too: a patient without treatments
        // keeps a list but no plan.
        if version > kept.version || kept.plans.len() + kept.patients.len() >= self.capacity {
            // Every plan kept so far was built from older inputs (or there is no room): start over.
            kept.plans.clear();
            kept.patients.clear();
            kept.version = version;
        }
        Some(kept)
    }

    /// The plan of `treatment`, kept or built with `build` and kept.
    pub fn get_or_build(
        &self,
        caller: &Caller,
        treatment_id: &str,
        build: impl FnOnce() -> Result<PlanContext, AppError>,
    ) -> Result<Arc<PlanContext>, AppError> {
        if let Some(plan) = self.get(caller, treatment_id) {
            return Ok(plan);
        }
        let plan = Arc::new(build()?);
        self.keep(caller, plan.clone());
        Ok(plan)
    }

    /// Counts a lookup as a hit or a miss, and passes its answer on.
    fn counted<T>(&self, answer: Option<T>) -> Option<T> {
        let counter = if answer.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        answer
    }

    /// (hits, misses) since start.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // The map is consistent after every statement, so a panic elsewhere cannot leave it torn.
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The scope `treatments::get` and `patients::get` put on the queries, checked in memory.
fn visible_to(plan: &PlanContext, caller: &Caller) -> bool {
    let scope = caller.scope();
    scope.allows(&plan.treatment.clinic_id, &plan.treatment.patient_id)
        && scope.allows(&plan.patient.clinic_id, &plan.patient.id)
}
