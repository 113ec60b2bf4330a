//! The calendar feed: RFC 5545, checked by parsers we did not write.

use std::io::BufReader;
use std::process::Command;

use chrono::Duration;
use serde_json::Value;

use crate::fixtures::{today_in, treatment};
use crate::support::spawn;

#[actix_web::test]
async fn the_feed_has_one_event_with_an_alarm_per_reminder_and_parses_elsewhere() {
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
    for (event, reminder) in calendar.events.iter().zip(&reminders) {
        let prop = |name: &str| {
            event.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
        };
        assert_eq!(prop("UID"), format!("{}@aftercare", reminder["id"].as_str().unwrap()));
        assert_eq!(prop("SUMMARY"), reminder["title"].as_str().unwrap());
        let due = reminder["due_at"].as_str().unwrap().replace(['-', ':'], "");
        assert_eq!(prop("DTSTART"), due);
        assert_eq!(event.alarms.len(), 1, "each event has an alarm");
    }

    let again = app.get(&format!("/v1/treatments/{id}/calendar.ics"), &admin.token).await;
    assert!(again.text == text, "UIDs and content are stable across calls");

    python_icalendar_reads(&text, &reminders);
}

/// Python's `icalendar` (PyPI), when installed; CI installs it and sets REQUIRE_PYTHON_ICALENDAR.
fn python_icalendar_reads(text: &str, reminders: &[Value]) {
    let available = Command::new("python3").args(["-c", "import icalendar"]).status().is_ok_and(|s| s.success());
    if !available {
        assert!(std::env::var("REQUIRE_PYTHON_ICALENDAR").is_err(), "python3 -m pip install icalendar");
        eprintln!("skipped the Python icalendar check: pip install icalendar to run it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, text).unwrap();
    let script = "import sys, icalendar\n\
        cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\n\
        events = cal.walk('VEVENT')\n\
        assert all(len(e.walk('VALARM')) == 1 for e in events)\n\
        print(len(events), len({str(e['UID']) for e in events}))";
    let out = Command::new("python3").args(["-c", script]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = String::from_utf8(out.stdout).unwrap();
    assert_eq!(counts.trim(), format!("{} {}", reminders.len(), reminders.len()));
}
