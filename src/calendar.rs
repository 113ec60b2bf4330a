//! The iCalendar (RFC 5545) feed of a treatment's reminders, the public URL of a subscription to
//! it, and keeping that URL's secret out of the logs.
//!
//! One event per reminder (UID from the reminder's stable id), at the patient's local time with
//! `TZID` of the patient's zone and a `VTIMEZONE` describing that zone over the span of the plan
//! (RFC 5545 §3.6.5), and one alarm per local day and due time, on the first event due then,
//! naming all of the reminders due then: a phone rings once a day, not once per reminder (twice
//! on a day when a window in time or a "you may now" milestone is due at another time).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::{Alarm, Calendar, CalendarDateTime, Component, Event, EventLike, Trigger};

use crate::config::Settings;
use crate::models::plans::PlanContext;
use crate::plan::PlannedReminder;

const EVENT_MINUTES: i64 = 15;
/// How often a subscribed calendar app is asked to poll the feed.
const REFRESH_HOURS: i64 = 12;
/// The path under which subscription feeds are served; the secret follows.
pub const FEED_PREFIX: &str = "/v1/calendar-feeds/";

pub fn render(ctx: &PlanContext) -> String {
    let zone = ctx.schedules.current().timezone;
    let mut calendar = Calendar::empty();
    calendar.append_property(("VERSION", "2.0"));
    calendar.append_property(("PRODID", "-//Aftercare//Recovery reminders//EN"));
    calendar.append_property(("CALSCALE", "GREGORIAN"));
    calendar.name("Aftercare reminders");
    calendar.timezone(zone.name());
    calendar.ttl(&Duration::hours(REFRESH_HOURS));
    // Stamped with the treatment's creation, so the feed is the same bytes until the plan changes.
    let stamp = ctx.treatment.created_at.and_utc();
    let plan = ctx.plan();
    let reminders = plan.all_reminders();
    // Reminders ring together when they are due together: one alarm per local day and due
    // instant (a day has one unless a rule's window or a milestone moves some of its reminders).
    let mut by_day: BTreeMap<_, Vec<&PlannedReminder>> = BTreeMap::new();
    for reminder in &reminders {
        by_day.entry(reminder.local_date).or_default().push(reminder);
    }
    for day in by_day.values() {
        let mut rung = Vec::new();
        for reminder in day.iter() {
            let mut event = Event::new();
            event
                .uid(&format!("{}@aftercare", reminder.id))
                .timestamp(stamp)
                .summary(reminder.title)
                .description(reminder.body)
                .starts(local(zone, reminder.due_at))
                .ends(local(zone, reminder.due_at + Duration::minutes(EVENT_MINUTES)));
            if !rung.contains(&reminder.due_at) {
                rung.push(reminder.due_at);
                let together: Vec<&PlannedReminder> =
                    day.iter().copied().filter(|r| r.due_at == reminder.due_at).collect();
                event.alarm(
                    Alarm::display(&alarm_text(&together), Trigger::before_start(Duration::zero()))
                        .uid(&format!("{}-alarm@aftercare", reminder.id))
                        .timestamp(stamp)
                        .done(),
                );
            }
            calendar.push(event.done());
        }
    }
    let text = calendar.done().to_string();
    let (first, last) = match (reminders.first(), reminders.last()) {
        (Some(first), Some(last)) => (first.due_at, last.due_at),
        _ => {
            let start = crate::plan::local_time::instant_of(plan.first_day(), chrono::NaiveTime::MIN, zone);
            (start, start)
        }
    };
    let timezone = vtimezone(zone, first - Duration::days(1), last + Duration::days(1));
    // The time zone comes before the events that refer to it (only a convention, but a common one).
    let at = text.find("BEGIN:VEVENT\r\n").or_else(|| text.rfind("END:VCALENDAR")).unwrap_or(text.len());
    format!("{}{}{}", &text[..at], timezone, &text[at..])
}

/// What the day's alarm says: the day of recovery and every reminder of the day.
fn alarm_text(day: &[&PlannedReminder]) -> String {
    let titles: Vec<&str> = day.iter().map(|r| r.title).collect();
    format!("Aftercare, day {}: {}", day[0].day_number, titles.join("; "))
}

/// An instant as the wall-clock time in `zone`, referring to that zone's `VTIMEZONE`.
fn local(zone: Tz, at: DateTime<Utc>) -> CalendarDateTime {
    CalendarDateTime::WithTimezone { date_time: at.with_timezone(&zone).naive_local(), tzid: zone.name().to_string() }
}

/// The offset of `zone` at an instant: total seconds east of UTC, whether it is daylight time,
/// and its abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    seconds: i32,
    daylight: bool,
    name: Option<String>,
}

fn observed(zone: Tz, at: DateTime<Utc>) -> Observed {
    let offset = zone.offset_from_utc_datetime(&at.naive_utc());
    Observed {
        seconds: offset.fix().local_minus_utc(),
        daylight: !offset.dst_offset().is_zero(),
        name: offset.abbreviation().map(str::to_string),
    }
}

/// A change of offset: the first instant of the new one, and the offsets before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transition {
    at: DateTime<Utc>,
    from: Observed,
    to: Observed,
}

/// The zone's transitions in `from..to`, found by sampling every six hours and narrowing each
/// change down to the second (no zone changes its offset twice within six hours).
fn transitions(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let step = Duration::hours(6);
    let mut found = Vec::new();
    let mut at = from;
    let mut before = observed(zone, at);
    while at < to {
        let next = (at + step).min(to);
        let after = observed(zone, next);
        if after != before {
            // In whole seconds: offsets change on the second.
            let (mut lo, mut hi) = (at.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let mid_at = DateTime::from_timestamp(mid, 0).unwrap_or(at);
                if observed(zone, mid_at) == before { lo = mid } else { hi = mid }
            }
            let at = DateTime::from_timestamp(hi, 0).unwrap_or(next);
            found.push(Transition { at, from: before, to: after.clone() });
        }
        (at, before) = (next, after);
    }
    found
}

/// `+HHMM` (or `+HHMMSS`), as TZOFFSETFROM and TZOFFSETTO write offsets.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{sec:02}") }
}

/// One STANDARD or DAYLIGHT observance, starting at `onset` (local time of the offset before it).
fn observance(out: &mut String, onset: NaiveDateTime, from: &Observed, to: &Observed) {
    let kind = if to.daylight { "DAYLIGHT" } else { "STANDARD" };
    let _ = write!(out, "BEGIN:{kind}\r\nDTSTART:{}\r\n", onset.format("%Y%m%dT%H%M%S"));
    let _ = write!(out, "TZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n", utc_offset(from.seconds), utc_offset(to.seconds));
    if let Some(name) = to.name.as_deref().filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || "+-".contains(c)))
    {
        let _ = write!(out, "TZNAME:{name}\r\n");
    }
    let _ = write!(out, "END:{kind}\r\n");
}

/// The `VTIMEZONE` of `zone`, true for every instant from `from` to `to`: the observance in force
/// at `from` (since its last change within the year before, else since 1970), and each change up
/// to `to`.
fn vtimezone(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", zone.name());
    let earlier = transitions(zone, from - Duration::days(370), from);
    match earlier.last() {
        Some(t) => observance(&mut out, (t.at + Duration::seconds(t.from.seconds.into())).naive_utc(), &t.from, &t.to),
        None => {
            let now = observed(zone, from);
            let epoch = NaiveDateTime::default();
            observance(&mut out, epoch, &now, &now);
        }
    }
    for t in transitions(zone, from, to) {
        observance(&mut out, (t.at + Duration::seconds(t.from.seconds.into())).naive_utc(), &t.from, &t.to);
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// The absolute URL of a subscription's feed. From `PUBLIC_BASE_URL` when it is set; else the
/// scheme and host a trusted proxy forwarded, or the request's own `Host`.
pub fn feed_url(req: &HttpRequest, settings: &Settings, secret: &str) -> String {
    let base = match &settings.public_base_url {
        Some(base) => base.clone(),
        None => {
            let proxied = req
                .peer_addr()
                .is_some_and(|peer| settings.trusted_proxies.iter().any(|net| net.contains(&peer.ip().to_canonical())));
            if proxied {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            } else {
                let scheme = if req.app_config().secure() { "https" } else { "http" };
                let host = req
                    .uri()
                    .authority()
                    .map(|a| a.as_str().to_string())
                    .or_else(|| req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(String::from))
                    .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
                    .unwrap_or_else(|| req.app_config().host().to_string());
                format!("{scheme}://{host}")
            }
        }
    };
    format!("{base}{FEED_PREFIX}{secret}.ics")
}

/// A request path as logs may show it: a calendar feed's secret replaced, however the path was
/// spelt (percent-encoded letters route to the same feed, so they are decoded before looking).
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    let decoded = percent_decoded(path).to_ascii_lowercase();
    match decoded.find("calendar-feeds") {
        Some(_) => Cow::Owned(format!("{FEED_PREFIX}(secret)")),
        None => Cow::Borrowed(path),
    }
}

fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn transitions_are_found_to_the_second() {
        let found = transitions(chrono_tz::Europe::Madrid, utc("2026-10-01T00:00:00Z"), utc("2026-11-30T00:00:00Z"));
        assert_eq!(found.len(), 1);
        let t = &found[0];
        assert_eq!(t.at, utc("2026-10-25T01:00:00Z"));
        assert_eq!((t.from.seconds, t.from.daylight, t.to.seconds, t.to.daylight), (7200, true, 3600, false));
        assert_eq!(t.to.name.as_deref(), Some("CET"));
        let ny = transitions(chrono_tz::America::New_York, utc("2026-02-20T00:00:00Z"), utc("2026-04-01T00:00:00Z"));
        assert_eq!(ny.iter().map(|t| t.at).collect::<Vec<_>>(), [utc("2026-03-08T07:00:00Z")]);
        assert!(
            transitions(chrono_tz::Asia::Kolkata, utc("2026-01-01T00:00:00Z"), utc("2026-12-31T00:00:00Z")).is_empty()
        );
    }

    #[test]
    fn the_vtimezone_has_the_observance_in_force_and_each_change() {
        let text = vtimezone(chrono_tz::Europe::Madrid, utc("2026-10-20T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        let expected = "BEGIN:VTIMEZONE\r\nTZID:Europe/Madrid\r\n\
            BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n\
            BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
            END:VTIMEZONE\r\n";
        assert_eq!(text, expected);
        let kolkata = vtimezone(chrono_tz::Asia::Kolkata, utc("2026-10-20T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        assert!(
            kolkata.contains("DTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nTZNAME:IST\r\n")
        );
        assert_eq!(utc_offset(-(4 * 3600 + 30 * 60 + 15)), "-043015");
    }

    #[test]
    fn feed_secrets_never_reach_a_log_line() {
        assert_eq!(loggable_path("/v1/treatments/abc/calendar.ics"), "/v1/treatments/abc/calendar.ics");
        for path in ["/v1/calendar-feeds/s3cret.ics", "/v1/calendar%2Dfeeds/s3cret.ics", "/v1//Calendar-Feed%73/s3cret"]
        {
            assert!(!loggable_path(path).contains("s3cret"), "{path}");
        }
    }
}
