//! What one client may hold: time to send a request body, and the connections a process keeps.
//!
//! The HTTP server bounds the head (`REQUEST_HEAD_TIMEOUT_SECONDS`) and idle keep-alive
//! (`KEEP_ALIVE_SECONDS`) itself; it has no bound on the body, which a client could otherwise
//! announce and never send. `body_deadline` gives each body `REQUEST_BODY_TIMEOUT_SECONDS` in all,
//! then answers 408 and closes the connection. `connection_budget` keeps the connections a process
//! accepts below its open-files limit, so a flood of connections cannot take the files the
//! database needs; past the budget, new connections wait in the listen queue.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use futures_core::Stream;

use crate::error::problem_response;
use crate::state::AppState;

/// Files kept for the process itself (database, logs, listener, the runtime's own) on top of four a
/// pool connection (an SQLite database uses up to three files).
const RESERVED_FILES: usize = 64;
const FILES_PER_POOL_CONNECTION: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Body {
    Reading,
    Finished,
    TimedOut,
}

/// A request body, shared by the stream handlers read and the middleware, which keeps it alive
/// until the answer is sent: the server closes a connection whose body is unread and still held,
/// where it would try to drain one that was dropped (forever, if the client stalls).
struct Shared {
    payload: RefCell<Payload>,
    state: Cell<Body>,
}

/// A request body that ends in an error once its deadline has passed.
struct Deadline {
    shared: Rc<Shared>,
    timer: Pin<Box<actix_web::rt::time::Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.shared.state.get() != Body::Reading {
            return Poll::Ready(None);
        }
        let next = Pin::new(&mut *self.shared.payload.borrow_mut()).poll_next(cx);
        match next {
            Poll::Ready(None) => {
                self.shared.state.set(Body::Finished);
                Poll::Ready(None)
            }
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk)),
            Poll::Pending if self.timer.as_mut().poll(cx).is_ready() => {
                self.shared.state.set(Body::TimedOut);
                let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body came too slowly");
                Poll::Ready(Some(Err(PayloadError::Io(late))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The body of an answer whose request body was not read to the end; holds that request body
/// until the answer has been written, so the server closes the connection rather than drain it.
struct HoldingBody {
    body: BoxBody,
    _unread: Rc<Shared>,
}

impl MessageBody for HoldingBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

fn has_body(req: &ServiceRequest) -> bool {
    let length = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING)
}

/// Gives a request body `REQUEST_BODY_TIMEOUT_SECONDS` to arrive. A body still missing then is
/// answered 408 problem+json, whatever the handler made of the error, and the connection closed; so
/// is any answer sent before its body was read to the end, which would otherwise stay to drain it.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, impl MessageBody>>, actix_web::Error> {
    // A photo's bytes come from a phone, maybe on a slow network: they have a deadline of their own.
    let photo_upload = req.method() == actix_web::http::Method::PUT && req.path().ends_with("/content");
    let limit = req.app_data::<Data<AppState>>().map(|s| match photo_upload {
        true => s.settings.photos.upload_timeout,
        false => s.settings.request_body_timeout,
    });
    let Some(limit) = limit.filter(|_| has_body(&req)) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let shared = Rc::new(Shared { payload: RefCell::new(req.take_payload()), state: Cell::new(Body::Reading) });
    let timer = Box::pin(actix_web::rt::time::sleep(limit));
    req.set_payload(Payload::Stream { payload: Box::pin(Deadline { shared: shared.clone(), timer }) });
    let res = next.call(req).await?;
    let state = shared.state.get();
    if state == Body::Finished {
        return Ok(res.map_into_left_body());
    }
    let mut res = match state {
        Body::TimedOut => {
            let detail = format!("the request body did not arrive within {} seconds", limit.as_secs());
            let late = problem_response(StatusCode::REQUEST_TIMEOUT, "request-timeout", detail, None);
            res.into_response(late).map_into_boxed_body()
        }
        _ => res.map_into_boxed_body(),
    };
    res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    Ok(res.map_body(|_, body| HoldingBody { body, _unread: shared }).map_into_right_body())
}

/// How many connections the server accepts, and how they are shared among its workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionBudget {
    pub workers: usize,
    pub per_worker: usize,
    /// `per_worker * workers`: what the server holds before new connections wait.
    pub total: usize,
    /// The process's soft limit on open files, if it has one.
    pub open_files_limit: Option<u64>,
}

/// `requested` connections at most, kept below the open-files limit less what the process and its
/// `pool_size` database connections need, divided evenly over `workers` (at least one each).
pub fn connection_budget(requested: usize, workers: usize, pool_size: usize) -> ConnectionBudget {
    budget_within(requested, workers, pool_size, open_files_limit())
}

fn budget_within(requested: usize, workers: usize, pool_size: usize, limit: Option<u64>) -> ConnectionBudget {
    let workers = workers.max(1);
    let reserved = RESERVED_FILES + FILES_PER_POOL_CONNECTION * pool_size;
    let ceiling = limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX).saturating_sub(reserved));
    let per_worker = (requested.min(ceiling) / workers).max(1);
    ConnectionBudget { workers, per_worker, total: per_worker * workers, open_files_limit: limit }
}

fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    // `rlim_t` is not u64 on every platform.
    #[allow(clippy::unnecessary_cast)]
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

/// The keep-alive setting for the server: `Duration` idle time, never "forever".
pub fn keep_alive(idle: Duration) -> actix_web::http::KeepAlive {
    actix_web::http::KeepAlive::Timeout(idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stays_below_the_open_files_limit_and_is_shared_evenly() {
        let roomy = budget_within(4096, 2, 4, Some(1_000_000));
        assert_eq!((roomy.per_worker, roomy.total), (2048, 4096));
        let tight = budget_within(4096, 2, 4, Some(1024));
        assert_eq!(tight.total, 1024 - 64 - 16);
        assert_eq!(budget_within(10, 4, 4, None).total, 8);
        assert_eq!(budget_within(4096, 2, 4, Some(10)).total, 2, "at least one a worker");
    }
}
