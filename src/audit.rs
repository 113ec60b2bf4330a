//! The audit trail: every request the router takes to a `/v1` route (reads and writes of patient data, denied access,
//! logins and failed logins, staff changes) becomes one event: when, who, which patient, what,
//! outcome, request id, client address.
//!
//! Events are queued in memory and appended in batches by one writer thread, so a read does not
//! pay for a write transaction of its own. The window a crash can lose is the batch delay
//! (`BATCH_DELAY`); a graceful shutdown flushes the queue first.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use sha2::Digest;
use tracing_actix_web::RequestId;

use crate::auth::Caller;
use crate::client_addr::{IpNet, client_ip};
use crate::db::Database;
use crate::models::audit::checkpoint::{Checkpointer, Head};
use crate::models::audit::key::AuditKey;
use crate::models::audit::{self, NewEvent};

const QUEUE_CAPACITY: usize = 100_000;
const BATCH_DELAY: Duration = Duration::from_millis(50);
const BATCH_MAX: usize = 1_000;

enum Message {
    Event(Box<NewEvent>),
    Flush(mpsc::Sender<()>),
}

/// The handle requests use to record events.
#[derive(Clone)]
pub struct AuditLog {
    queue: SyncSender<Message>,
    /// Proxies whose word on the client's address is believed (`TRUSTED_PROXIES`).
    trusted_proxies: Arc<[IpNet]>,
}

impl AuditLog {
    /// Starts the writer thread, which keys the chain and signs checkpoints with `checkpoints`.
    pub fn start(db: Database, checkpoints: Checkpointer, trusted_proxies: Vec<IpNet>) -> AuditLog {
        let (queue, incoming) = mpsc::sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_batches(db, checkpoints, incoming))
            .expect("the audit writer thread starts");
        AuditLog { queue, trusted_proxies: trusted_proxies.into() }
    }

    pub fn record(&self, event: NewEvent) {
        match self.queue.try_send(Message::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => tracing::error!("audit queue full: an audit event was dropped"),
            Err(TrySendError::Disconnected(_)) => tracing::error!("audit writer stopped: an audit event was dropped"),
        }
    }

    /// Blocks until every event recorded so far is in the database and covered by a checkpoint.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}

fn write_batches(db: Database, mut checkpoints: Checkpointer, incoming: Receiver<Message>) {
    let mut batch: Vec<NewEvent> = Vec::new();
    let mut waiting: Vec<mpsc::Sender<()>> = Vec::new();
    let mut backlog = false;
    loop {
        if !backlog {
            // Wait for the first message, then let the batch gather for the batch delay. Sleeping
            // rather than waiting on the queue matters: a sender wakes a receiver that is waiting,
            // which would cost a thread wake-up for every event.
            match next_message(&incoming, &mut checkpoints) {
                Some(Message::Event(event)) => batch.push(*event),
                Some(Message::Flush(done)) => waiting.push(done),
                None => return checkpoints.checkpoint(),
            }
            if waiting.is_empty() {
                std::thread::sleep(BATCH_DELAY);
            }
        }
        while batch.len() < BATCH_MAX {
            match incoming.try_recv() {
                Ok(Message::Event(event)) => batch.push(*event),
                Ok(Message::Flush(done)) => waiting.push(done),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => break,
            }
        }
        // A full batch means more are queued: write the next one at once.
        backlog = batch.len() >= BATCH_MAX;
        let events = batch.len() as u64;
        if let Some(head) = append_batch(&db, checkpoints.key(), &mut batch) {
            checkpoints.appended(head, events);
        }
        if !waiting.is_empty() {
            checkpoints.checkpoint();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Waits for the next message, signing a checkpoint when one falls due meanwhile. `None`: every
/// handle to the log is gone.
fn next_message(incoming: &Receiver<Message>, checkpoints: &mut Checkpointer) -> Option<Message> {
    loop {
        let Some(wait) = checkpoints.due_in() else { return incoming.recv().ok() };
        match incoming.recv_timeout(wait) {
            Ok(message) => return Some(message),
            Err(RecvTimeoutError::Timeout) => checkpoints.checkpoint(),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Appends the batch, retrying until the database takes it; returns the chain's new head.
fn append_batch(db: &Database, key: &AuditKey, batch: &mut Vec<NewEvent>) -> Option<Head> {
    while !batch.is_empty() {
        let written = db
            .connection()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| audit::append(&mut conn, key, batch.clone()).map_err(|e| e.to_string()));
        match written {
            Ok(head) => {
                batch.clear();
                return head;
            }
            Err(err) => {
                tracing::error!(error = %err, events = batch.len(), "could not write audit events; retrying");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    None
}

/// What a handler knows about the subject of its request, for the audit event.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub patient_id: Option<String>,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<String>,
}

/// Lets a handler name the patient and resource its request was about.
pub fn note_subject(req: &HttpRequest, subject: Subject) {
    req.extensions_mut().insert(subject);
}

/// Lets a handler name who acted when there is no access token (login).
pub fn note_actor(req: &HttpRequest, actor: Caller) {
    req.extensions_mut().insert(actor);
}

fn resource_type_of(segment: &str) -> Option<&'static str> {
    match segment {
        "patients" => Some("patient"),
        "treatments" => Some("treatment"),
        "check-ins" => Some("check-in"),
        "photos" => Some("photo"),
        "reminders" => Some("reminder"),
        "clinicians" => Some("staff"),
        "erasure-requests" => Some("erasure-request"),
        "protocols" => Some("protocol"),
        _ => None,
    }
}

fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 | 404 => "denied",
        429 => "throttled",
        500.. => "error",
        _ => "invalid",
    }
}

/// Longest id an audit event keeps from a request: a canonical UUID (36 characters), or
/// `sha256:` and 64 hex digits (71).
pub const MAX_ID_CHARS: usize = 71;

/// An id as the trail keeps it. A well-formed id (a UUID, as `models::new_id` makes them) in its
/// canonical form; anything else names nothing and is kept as `sha256:` and the hex digest of what
/// was sent: a row stays small whatever the request held, and a known probe can still be matched.
pub fn bounded_id(raw: &str) -> String {
    match uuid::Uuid::parse_str(raw) {
        Ok(id) => id.hyphenated().to_string(),
        Err(_) => format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw.as_bytes()))),
    }
}

/// Records one audit event for every request that the router took to a `/v1` or console route, whatever
/// its spelling and whoever answered it (handler, 405, replay, 401). The decision and every field
/// come from the route table and the server, never from the raw path: a path no route matches
/// writes nothing, and nothing a client sends can make a row longer than its bound.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let log = req.app_data::<actix_web::web::Data<AuditLog>>().cloned();
    let res = next.call(req).await?;
    if let Some(log) = log
        && let Some(event) = event_for(&res, &log.trusted_proxies)
    {
        log.record(event);
    }
    Ok(res)
}

/// The event for an answer, if it answered a `/v1` route. The client address is the one login
/// throttling uses: the TCP peer, or what `TRUSTED_PROXIES` vouch for.
fn event_for<B>(res: &ServiceResponse<B>, trusted_proxies: &[IpNet]) -> Option<NewEvent> {
    let request = res.request();
    let route = crate::middleware::route_pattern(request);
    // The API and the console's pages and forms (not its static script and stylesheet).
    let console = route.starts_with("/console") && !route.starts_with("/console/static/");
    if !route.starts_with("/v1/") && !console {
        return None;
    }
    let status = res.status().as_u16();
    // A console page's 304 (the review queue's poll revalidating its ETag) discloses nothing the
    // audited 200 before it did not: an open console would otherwise write an event every poll.
    if console && status == 304 {
        return None;
    }
    let extensions = request.extensions();
    let caller = extensions.get::<Caller>();
    let subject = extensions.get::<Subject>().cloned().unwrap_or_default();
    // The resource a route names by `{id}` is the segment just before it.
    let named = route
        .split('/')
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[1] == "{id}")
        .and_then(|pair| resource_type_of(pair[0]));
    let path_id = request.match_info().get("id").map(bounded_id);
    Some(NewEvent {
        id: crate::models::new_id(),
        at: crate::clock::now(),
        user_id: caller.map(|c| c.user_id.clone()),
        role: caller.map(|c| c.role.as_str().to_string()),
        clinic_id: caller.map(|c| c.clinic_id.clone()),
        patient_id: subject.patient_id.as_deref().map(bounded_id),
        action: format!("{} {route}", crate::metrics::method_label(request.method())),
        resource_type: subject.resource_type.or(named).map(String::from),
        resource_id: subject.resource_id.as_deref().map(bounded_id).or(path_id),
        outcome: outcome_of(status).to_string(),
        status: i32::from(status),
        request_id: extensions.get::<RequestId>().map(|id| id.to_string()),
        client_addr: client_ip(request, trusted_proxies).map(|ip| ip.to_string()),
    })
}
