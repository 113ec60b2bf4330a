//! The pages' templates (`src/console/templates/`) and the values they show, already formatted.

use askama::Template;

/// What every page's frame needs: who is logged in and the CSRF token of its forms.
pub struct Frame {
    pub name: String,
    pub is_admin: bool,
    pub csrf: String,
    /// The navigation entry of this page.
    pub current: &'static str,
}

impl Frame {
    pub fn of(session: &super::session::ConsoleSession, current: &'static str) -> Frame {
        Frame { name: session.name.clone(), is_admin: session.is_admin(), csrf: session.csrf_token.clone(), current }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub error: Option<String>,
}

/// A check-in as the queue shows it.
pub struct QueueItem {
    pub id: String,
    pub patient_id: String,
    pub patient_name: String,
    /// `urgent`, `watch` or `ok`: a class, and said in words beside a shape.
    pub level: &'static str,
    pub shape: &'static str,
    pub day: i64,
    pub date: String,
    pub phase: String,
    pub expect: Vec<String>,
    pub reasons: Vec<String>,
    pub scores: String,
    pub signs: String,
    pub notes: Option<String>,
    pub reported: String,
}

pub struct Counts {
    pub urgent: i64,
    pub watch: i64,
    pub ok: i64,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub frame: Frame,
    /// `QueueItems`, rendered.
    pub items_html: String,
}

/// The part of the queue the page's script refreshes.
#[derive(Template)]
#[template(path = "queue_items.html")]
pub struct QueueItems {
    pub csrf: String,
    pub counts: Counts,
    pub items: Vec<QueueItem>,
    pub next: Option<String>,
}

pub struct PatientRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: &'static str,
    pub since: String,
}

#[derive(Template)]
#[template(path = "patients.html")]
pub struct PatientsPage {
    pub frame: Frame,
    pub patients: Vec<PatientRow>,
    pub next: Option<String>,
    pub timezones: Vec<&'static str>,
    pub skin_types: Vec<&'static str>,
    pub added: Option<String>,
}

pub struct TreatmentLink {
    pub id: String,
    pub label: String,
    pub current: bool,
}

pub struct AdherenceRow {
    pub kind: String,
    pub due: i64,
    pub acknowledged: i64,
    pub percent: String,
}

pub struct ChartView {
    pub sign: String,
    pub svg: String,
    pub rows: Vec<(i64, i32, &'static str)>,
}

pub struct CheckInRow {
    pub day: i64,
    pub date: String,
    pub level: &'static str,
    pub shape: &'static str,
    pub reasons: String,
    pub reviewed: String,
}

#[derive(Template)]
#[template(path = "patient.html")]
pub struct PatientPage {
    pub frame: Frame,
    pub id: String,
    pub name: String,
    pub email: String,
    pub timezone: String,
    pub skin_type: String,
    pub fitzpatrick: i32,
    pub discharged: Option<String>,
    pub treatments: Vec<TreatmentLink>,
    pub treatment: Option<TreatmentDetail>,
    pub reminder_time: String,
    /// The outcome of the screening just recorded.
    pub screened: Option<&'static str>,
    /// A new invitation was just sent.
    pub invited: bool,
    /// The patient has set a password: no invitation to send again.
    pub activated: bool,
    /// The current protocol's screening questions: (answer key, question).
    pub questions: Vec<(String, String)>,
    pub timezones: Vec<&'static str>,
    pub skin_types: Vec<&'static str>,
    pub procedures: Vec<&'static str>,
    pub settings: Vec<&'static str>,
    pub areas: Vec<&'static str>,
    pub today: String,
}

pub struct TreatmentDetail {
    pub label: String,
    pub day: i64,
    pub phase: String,
    pub protocol: String,
    pub charts: Vec<ChartView>,
    pub adherence: Vec<AdherenceRow>,
    pub adherence_through: String,
    pub check_ins: Vec<CheckInRow>,
    /// The treatment's photos, one row per body site.
    pub photos: Vec<PhotoSite>,
}

/// One body site's photos by day of recovery, side by side.
pub struct PhotoSite {
    pub key: &'static str,
    pub title: String,
    pub days: Vec<PhotoDay>,
}

pub struct PhotoDay {
    pub day: i64,
    pub date: String,
    pub photos: Vec<PhotoCell>,
}

pub struct PhotoCell {
    pub src: String,
    /// "Day 2, left cheek, front".
    pub alt: String,
    pub width: i32,
    pub height: i32,
}

pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    /// Has set a password (else a new invitation may be sent).
    pub activated: bool,
    pub is_self: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
pub struct StaffPage {
    pub frame: Frame,
    pub staff: Vec<StaffRow>,
    /// What the last form did.
    pub done: Option<&'static str>,
}

pub struct Recipient {
    pub id: String,
    pub label: String,
    pub chosen: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub frame: Frame,
    pub alerts_enabled: bool,
    /// The clinic's active, activated staff, who may receive alerts.
    pub recipients: Vec<Recipient>,
    pub default_time: String,
    pub valid_days: i32,
    pub saved: bool,
}

/// An option of a filter's select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct AuditRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub resource: String,
    pub patient: String,
    pub outcome: String,
    pub status: i32,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub frame: Frame,
    pub events: Vec<AuditRow>,
    /// The next page's query string (the same filters, older events).
    pub next: Option<String>,
    pub actors: Vec<Choice>,
    pub kinds: Vec<Choice>,
    pub action: String,
    pub from: String,
    pub to: String,
    pub filtered: bool,
}

/// The shape that says a level without colour.
pub fn shape(level: crate::plan::Level) -> &'static str {
    match level {
        crate::plan::Level::Urgent => "▲",
        crate::plan::Level::Watch => "◆",
        crate::plan::Level::Ok => "●",
    }
}
