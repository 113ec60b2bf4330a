//! The iCalendar (RFC 5545) feed of a treatment's reminders.

use chrono::Duration;
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};

use crate::models::plans::PlanContext;

const EVENT_MINUTES: i64 = 15;

pub fn render(ctx: &PlanContext) -> String {
    let mut calendar = Calendar::empty();
    calendar.append_property(("VERSION", "2.0"));
    calendar.append_property(("PRODID", "-//Aftercare//Recovery reminders//EN"));
    calendar.append_property(("CALSCALE", "GREGORIAN"));
    calendar.name("Aftercare reminders");
    // Stamped with the treatment's creation, so the feed is the same bytes until the plan changes.
    let stamp = ctx.treatment.created_at.and_utc();
    for reminder in ctx.plan().all_reminders() {
        let event = Event::new()
            .uid(&format!("{}@aftercare", reminder.id))
            .timestamp(stamp)
            .summary(reminder.title)
            .description(reminder.body)
            .starts(reminder.due_at)
            .ends(reminder.due_at + Duration::minutes(EVENT_MINUTES))
            .alarm(
                Alarm::display(reminder.title, Trigger::before_start(Duration::zero()))
                    .uid(&format!("{}-alarm@aftercare", reminder.id))
                    .timestamp(stamp)
                    .done(),
            )
            .done();
        calendar.push(event);
    }
    calendar.done().to_string()
}
