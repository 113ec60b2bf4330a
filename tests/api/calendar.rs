//! The calendar feed: RFC 5545, checked by parsers we did not write.

use std::collections::HashSet;
use std::io::BufReader;
use std::process::Command;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::fixtures::{today_in, treatment};
use crate::support::spawn;

#[actix_web::test]
async fn the_feed_has_one_event_per_reminder_and_one_alarm_per_day_and_parses_elsewhere() {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, "Australia/Lord_Howe").await;
    let treated_on = today_in("Australia/Lord_Howe") - Duration::days(3);
    let t = treatment(&app, &admin, &patient.id, treated_on).await;
    let id = t["id"].as_str().unwrap();

    let feed = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &patient.token).await;
    assert_eq!(feed.status, 200);
    assert!(feed.header("content-type").starts_with("text/calendar"));
    let text = feed.text.clone();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert!(!text.replace("\r\n", "").contains('\n'), "every line ends in CRLF");
    assert!(text.split("\r\n").all(|line| line.len() <= 75), "long lines are folded");

    let reminders = app
        .get(
            &format!("/v1/treatments/{id}/reminders?from={treated_on}&to={}", treated_on + Duration::days(89)),
            &patient.token,
        )
        .await;
    let reminders = reminders.body["items"].as_array().unwrap().clone();

    // An independent Rust parser.
    let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let calendar = parser.next().expect("one calendar").expect("it parses");
    assert_eq!(calendar.events.len(), reminders.len());
    assert_eq!(calendar.timezones.len(), 1, "one VTIMEZONE");
    let zone: Tz = "Australia/Lord_Howe".parse().unwrap();
    let mut days_seen = HashSet::new();
    for (event, reminder) in calendar.events.iter().zip(&reminders) {
        let prop = |name: &str| event.properties.iter().find(|p| p.name == name).cloned().unwrap();
        let value = |name: &str| prop(name).value.unwrap_or_default();
        assert_eq!(value("UID"), format!("{}@aftercare", reminder["id"].as_str().unwrap()));
        // TEXT values escape commas and semicolons (RFC 5545 §3.3.11); this parser leaves them so.
        assert_eq!(value("SUMMARY").replace("\\,", ",").replace("\\;", ";"), reminder["title"].as_str().unwrap());
        // The local time in the patient's zone, naming the zone.
        let due: DateTime<Utc> = reminder["due_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(value("DTSTART"), due.with_timezone(&zone).format("%Y%m%dT%H%M%S").to_string());
        let params = prop("DTSTART").params.unwrap_or_default();
        assert_eq!(params, vec![("TZID".to_string(), vec!["Australia/Lord_Howe".to_string()])]);
        // One alarm per day and due time, on the first event due then (day 1 rings at the
        // treatment's time, day 2 also when the 24 hours end).
        let first_then = days_seen.insert(reminder["due_at"].as_str().unwrap().to_string());
        assert_eq!(event.alarms.len(), usize::from(first_then), "{}", value("UID"));
    }

    let again = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &admin.token).await;
    assert!(again.text == text, "UIDs and content are stable across calls");

    python_icalendar_reads(&text, &reminders);
}

/// Whether Python's `icalendar` (PyPI) is installed; CI installs it and sets REQUIRE_PYTHON_ICALENDAR.
fn python_icalendar() -> bool {
    let available = Command::new("python3").args(["-c", "import icalendar"]).status().is_ok_and(|s| s.success());
    if !available {
        assert!(std::env::var("REQUIRE_PYTHON_ICALENDAR").is_err(), "python3 -m pip install icalendar");
        eprintln!("skipped the Python icalendar check: pip install icalendar to run it");
    }
    available
}

/// What Python's `icalendar` reads in the feed, one line per event:
/// `UID local-date-time-with-offset utc-by-zoneinfo utc-by-the-feed's-VTIMEZONE alarms`,
/// then one line per alarm: `ALARM its-event's-UID its description`.
fn python_reads(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, text).unwrap();
    let script = r#"
import sys, datetime, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
zones = cal.walk('VTIMEZONE')
assert len(zones) == 1, len(zones)
own = zones[0].to_tz(lookup_tzid=False)  # the zone as the feed's VTIMEZONE describes it, not zoneinfo's
utc = datetime.timezone.utc
for e in cal.walk('VEVENT'):
    start = e['DTSTART'].dt
    assert start.tzinfo is not None, 'a local time without a zone'
    assert str(e['DTSTART'].params['TZID']) == str(zones[0]['TZID'])
    by_own = start.replace(tzinfo=None)
    by_own = own.localize(by_own) if hasattr(own, 'localize') else by_own.replace(tzinfo=own)
    print(e['UID'], start.isoformat(), start.astimezone(utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
          by_own.astimezone(utc).strftime('%Y-%m-%dT%H:%M:%SZ'), len(e.walk('VALARM')))
for e in cal.walk('VEVENT'):
    for a in e.walk('VALARM'):
        print('ALARM', e['UID'], a['DESCRIPTION'])
"#;
    let out = Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn python_icalendar_reads(text: &str, reminders: &[Value]) {
    if !python_icalendar() {
        return;
    }
    let read = python_reads(text);
    let events: Vec<&str> = read.lines().filter(|l| !l.starts_with("ALARM ")).collect();
    assert_eq!(events.len(), reminders.len());
    for (line, reminder) in events.iter().zip(reminders) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], format!("{}@aftercare", reminder["id"].as_str().unwrap()));
        let due = reminder["due_at"].as_str().unwrap();
        assert_eq!((fields[2], fields[3]), (due, due), "{line}");
    }
}

/// A patient whose reminders are at 09:00 in `zone`, treated on `treated_on`: the feed as the
/// patient downloads it, and the plan's reminders.
async fn feed_of(zone: &str, treated_on: NaiveDate) -> (String, Vec<Value>) {
    let app = spawn().await;
    let admin = app.clinic("North").await;
    let patient = app.patient(&admin, zone).await;
    let t = treatment(&app, &admin, &patient.id, treated_on).await;
    let id = t["id"].as_str().unwrap();
    let feed = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &patient.token).await;
    assert_eq!(feed.status, 200);
    let path = format!("/v1/treatments/{id}/reminders?from={treated_on}&to={}", treated_on + Duration::days(89));
    let reminders = app.get(&path, &patient.token).await.body["items"].as_array().unwrap().clone();
    (feed.text, reminders)
}

/// Across a daylight-saving change, every reminder stays at 09:00 local, which is a different UTC
/// hour before and after; Python reads it so, both through its own zone data and through the
/// feed's VTIMEZONE; and each day rings once, naming all of its reminders.
#[actix_web::test]
async fn local_times_hold_across_a_dst_change_and_each_day_rings_once() {
    // Madrid leaves summer time on 25 October 2026; New York starts it on 14 March 2027.
    let cases = [
        ("Europe/Madrid", NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(), "2026-10-24", "07:00", "2026-10-26", "08:00"),
        (
            "America/New_York",
            NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(),
            "2027-03-13",
            "14:00",
            "2027-03-15",
            "13:00",
        ),
    ];
    for (zone, treated_on, before, utc_before, after, utc_after) in cases {
        let (text, reminders) = feed_of(zone, treated_on).await;
        assert!(text.contains(&format!("BEGIN:VTIMEZONE\r\nTZID:{zone}\r\n")), "{zone}");
        assert!(text.contains("BEGIN:STANDARD\r\n") && text.contains("BEGIN:DAYLIGHT\r\n"), "{zone}: both observances");
        let due_on = |date: &str| {
            reminders
                .iter()
                .find(|r| r["local_date"] == date)
                .map(|r| r["due_at"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(due_on(before), format!("{before}T{utc_before}:00Z"), "{zone}");
        assert_eq!(due_on(after), format!("{after}T{utc_after}:00Z"), "{zone}");
        let days: HashSet<&str> = reminders.iter().map(|r| r["local_date"].as_str().unwrap()).collect();
        let moments: HashSet<&str> = reminders.iter().map(|r| r["due_at"].as_str().unwrap()).collect();
        let alarms = text.matches("BEGIN:VALARM").count();
        assert_eq!(alarms, moments.len(), "{zone}: exactly one alarm per day and due time");
        // Day 1 at the treatment's default time (10:00, after the 09:00 reminder time), day 2 at
        // 09:00 and when the 24 hours end (10:00): two more rings than days.
        assert_eq!(moments.len(), days.len() + 1, "{zone}");

        if !python_icalendar() {
            continue;
        }
        let read = python_reads(&text);
        let mut alarms_by_day = std::collections::HashMap::new();
        let events: Vec<&str> = read.lines().filter(|l| !l.starts_with("ALARM ")).collect();
        assert_eq!(events.len(), reminders.len(), "{zone}");
        for (line, reminder) in events.iter().zip(&reminders) {
            let fields: Vec<&str> = line.split(' ').collect();
            let date = reminder["local_date"].as_str().unwrap();
            // The local time Python reads: the reminder's local time (09:00, or 10:00 for the
            // treatment's own day and the end of its 24 hours) on its own date, whatever the offset.
            let time = reminder["local_time"].as_str().unwrap();
            assert!(["09:00", "10:00"].contains(&time));
            assert!(fields[1].starts_with(&format!("{date}T{time}:00")), "{zone}: {line}");
            let due = reminder["due_at"].as_str().unwrap();
            assert_eq!((fields[2], fields[3]), (due, due), "{zone}: zoneinfo and the VTIMEZONE agree: {line}");
            *alarms_by_day.entry(due).or_insert(0) += fields[4].parse::<i32>().unwrap();
        }
        assert!(alarms_by_day.values().all(|n| *n == 1), "{zone}: {alarms_by_day:?}");
        assert_eq!(alarms_by_day.len(), moments.len());
        // Each alarm names every reminder due with it.
        for line in read.lines().filter(|l| l.starts_with("ALARM ")) {
            let uid = line.split(' ').nth(1).unwrap().trim_end_matches("@aftercare");
            let due = reminders.iter().find(|r| r["id"] == uid).unwrap()["due_at"].clone();
            for r in reminders.iter().filter(|r| r["due_at"] == due) {
                assert!(line.contains(r["title"].as_str().unwrap()), "{zone}: {line} lacks {}", r["title"]);
            }
        }
    }
}
