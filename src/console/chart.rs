//! Server-rendered SVG charts: one symptom score by day of recovery against the band the protocol
//! expects that day. The band is read from the protocol's assessment rules: on each day, the score
//! at which a rule of that sign raises "watch", and the one at which it raises "urgent". Each point
//! has a shape for its level (circle ok, diamond watch, triangle urgent) and a text label, so the
//! chart does not rely on colour; the same data is also given as a table.

use std::fmt::Write;

use crate::models::check_ins::CheckInRecord;
use crate::plan::questions::{Answer, SignKind};
use crate::plan::{Level, Protocol};

/// A check-in's scores by sign: its answers to the score questions of its protocol.
pub fn scores(check_in: &CheckInRecord) -> Vec<(String, i32)> {
    let score = |(sign, answer): (&String, &Answer)| match answer {
        Answer::Score(score) => Some((sign.clone(), *score)),
        Answer::YesNo(_) => None,
    };
    check_in.answers.iter().filter_map(score).collect()
}

/// The lowest score of `sign` at which a rule of at least `level` applies on `day`, if any.
pub fn threshold(protocol: &Protocol, sign: &str, day: i64, level: Level) -> Option<i32> {
    protocol
        .assessment
        .rules
        .iter()
        .filter(|r| r.sign == sign && r.level >= level)
        .filter(|r| r.from_day.is_none_or(|from| day >= from) && r.to_day.is_none_or(|to| day <= to))
        .filter_map(|r| r.at_least)
        .min()
}

/// The level a score of `sign` raises on `day`.
pub fn level_of(protocol: &Protocol, sign: &str, day: i64, score: i32) -> Level {
    if threshold(protocol, sign, day, Level::Urgent).is_some_and(|t| score >= t) {
        Level::Urgent
    } else if threshold(protocol, sign, day, Level::Watch).is_some_and(|t| score >= t) {
        Level::Watch
    } else {
        Level::Ok
    }
}

/// One point of a chart.
pub struct Point {
    pub day: i64,
    pub score: i32,
    pub level: Level,
}

/// One chart: a sign, its points, and the rendered SVG.
pub struct Chart {
    pub sign: String,
    pub points: Vec<Point>,
    pub svg: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 112.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// The charts of every score sign for a treatment's check-ins, from day 1 to a week past the later
/// of today (`day`) and the last check-in: at least two weeks, at most the plan.
pub fn charts(protocol: &Protocol, check_ins: &[CheckInRecord], day: i64) -> Vec<Chart> {
    let reported = check_ins.iter().map(|c| c.day_number).max().unwrap_or(1);
    let last_day = (reported.max(day) + 7).min(protocol.plan_days).max(14).max(reported);
    let score_signs = protocol.assessment.signs.iter().filter(|s| s.kind == SignKind::Score).map(|s| s.key.as_str());
    score_signs
        .map(|sign| {
            let mut points: Vec<Point> = check_ins
                .iter()
                .filter_map(|c| {
                    let score = scores(c).into_iter().find(|(s, _)| s == sign)?.1;
                    Some(Point { day: c.day_number, score, level: level_of(protocol, sign, c.day_number, score) })
                })
                .collect();
            points.sort_by_key(|p| p.day);
            let svg = svg(protocol, sign, &points, last_day);
            Chart { sign: sign.to_string(), points, svg }
        })
        .collect()
}

fn x(day: i64, last_day: i64) -> f64 {
    LEFT + (day - 1) as f64 / (last_day - 1) as f64 * (WIDTH - LEFT - RIGHT)
}

fn y(score: f64) -> f64 {
    TOP + (10.0 - score) / 10.0 * (HEIGHT - TOP - BOTTOM)
}

/// A step line through each day's threshold (drawn where the day has one).
fn step_path(protocol: &Protocol, sign: &str, level: Level, last_day: i64) -> String {
    let mut d = String::new();
    let mut drawing = false;
    for day in 1..=last_day {
        let half = 0.5 / (last_day - 1) as f64 * (WIDTH - LEFT - RIGHT);
        let (x0, x1) = ((x(day, last_day) - half).max(LEFT), (x(day, last_day) + half).min(WIDTH - RIGHT));
        match threshold(protocol, sign, day, level) {
            Some(t) => {
                let yy = y(f64::from(t) - 0.5);
                let _ = write!(d, "{}{x0:.1},{yy:.1} L{x1:.1},{yy:.1} ", if drawing { "L" } else { "M" });
                drawing = true;
            }
            None => drawing = false,
        }
    }
    d
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn marker(point: &Point, last_day: i64) -> String {
    let (cx, cy) = (x(point.day, last_day), y(f64::from(point.score)));
    match point.level {
        Level::Ok => format!(r#"<circle class="pt pt-ok" cx="{cx:.1}" cy="{cy:.1}" r="4.5"/>"#),
        Level::Watch => format!(
            r#"<path class="pt pt-watch" d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z"/>"#,
            cx,
            cy - 6.0,
            cx + 6.0,
            cy,
            cx,
            cy + 6.0,
            cx - 6.0,
            cy
        ),
        Level::Urgent => format!(
            r#"<path class="pt pt-urgent" d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z"/><text class="pt-label" x="{:.1}" y="{:.1}">!</text>"#,
            cx,
            cy - 7.0,
            cx + 7.0,
            cy + 5.0,
            cx - 7.0,
            cy + 5.0,
            cx - 1.5,
            cy - 9.0
        ),
    }
}

fn svg(protocol: &Protocol, sign: &str, points: &[Point], last_day: i64) -> String {
    let mut s = String::new();
    let title_id = format!("chart-{sign}-title");
    let desc_id = format!("chart-{sign}-desc");
    let summary = if points.is_empty() {
        "No check-ins yet.".to_string()
    } else {
        points
            .iter()
            .map(|p| format!("day {} score {} ({})", p.day, p.score, p.level.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg"><title id="{title_id}">{} by day of recovery</title><desc id="{desc_id}">Shaded: the expected range (below the protocol's watch level for that day). Dashed line: watch from this score; solid line: urgent from this score. {}</desc>"#,
        escape(sign),
        escape(&summary)
    );
    // The expected band: from 0 up to just under the day's watch threshold (the whole scale on a
    // day with no rule for this sign).
    let mut band = format!("M{LEFT:.1},{:.1} ", y(0.0));
    for day in 1..=last_day {
        let half = 0.5 / (last_day - 1) as f64 * (WIDTH - LEFT - RIGHT);
        let (x0, x1) = ((x(day, last_day) - half).max(LEFT), (x(day, last_day) + half).min(WIDTH - RIGHT));
        let top = threshold(protocol, sign, day, Level::Watch).map_or(10.0, |t| f64::from(t) - 0.5).clamp(0.0, 10.0);
        let _ = write!(band, "L{x0:.1},{:.1} L{x1:.1},{:.1} ", y(top), y(top));
    }
    let _ = write!(band, "L{:.1},{:.1} Z", WIDTH - RIGHT, y(0.0));
    let _ = write!(s, r#"<path class="band" d="{band}"/>"#);
    // Axes and grid.
    for score in [0, 2, 4, 6, 8, 10] {
        let yy = y(f64::from(score));
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{score}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let step = if last_day > 30 {
        5
    } else if last_day > 15 {
        2
    } else {
        1
    };
    for day in (1..=last_day).filter(|d| *d == 1 || d % step == 0) {
        let xx = x(day, last_day);
        let _ = write!(
            s,
            r#"<text class="axis" x="{xx:.1}" y="{:.1}" text-anchor="middle">{day}</text>"#,
            HEIGHT - BOTTOM + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">day of recovery</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 4.0
    );
    let watch = step_path(protocol, sign, Level::Watch, last_day);
    let urgent = step_path(protocol, sign, Level::Urgent, last_day);
    if !watch.is_empty() {
        let _ = write!(s, r#"<path class="limit limit-watch" d="{watch}"/>"#);
    }
    if !urgent.is_empty() {
        let _ = write!(s, r#"<path class="limit limit-urgent" d="{urgent}"/>"#);
    }
    // The legend, in words and shapes.
    let lx = WIDTH - RIGHT + 10.0;
    let _ = write!(
        s,
        r#"<circle class="pt pt-ok" cx="{lx:.1}" cy="20" r="4.5"/><text class="legend" x="{:.1}" y="24">ok</text><path class="pt pt-watch" d="M{lx:.1},34 L{:.1},40 L{lx:.1},46 L{:.1},40 Z"/><text class="legend" x="{:.1}" y="44">watch</text><path class="pt pt-urgent" d="M{lx:.1},55 L{:.1},67 L{:.1},67 Z"/><text class="legend" x="{:.1}" y="66">urgent</text><line class="limit limit-watch" x1="{:.1}" x2="{:.1}" y1="84" y2="84"/><text class="legend" x="{:.1}" y="88">watch ≥</text><line class="limit limit-urgent" x1="{:.1}" x2="{:.1}" y1="102" y2="102"/><text class="legend" x="{:.1}" y="106">urgent ≥</text>"#,
        lx + 10.0,
        lx + 6.0,
        lx - 6.0,
        lx + 10.0,
        lx + 7.0,
        lx - 7.0,
        lx + 10.0,
        lx - 6.0,
        lx + 6.0,
        lx + 10.0,
        lx - 6.0,
        lx + 6.0,
        lx + 10.0
    );
    // The patient's scores: a line, then a marker per check-in with its own title.
    if points.len() > 1 {
        let line: Vec<String> =
            points.iter().map(|p| format!("{:.1},{:.1}", x(p.day, last_day), y(f64::from(p.score)))).collect();
        let _ = write!(s, r#"<polyline class="series" points="{}"/>"#, line.join(" "));
    }
    for point in points {
        let _ = write!(
            s,
            r#"<g><title>Day {}: {} {} ({})</title>{}</g>"#,
            point.day,
            escape(sign),
            point.score,
            point.level.as_str(),
            marker(point, last_day)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_the_protocol_rules() {
        let protocol = Protocol::standard();
        // Whatever the standard protocol says, a threshold for urgent is never below watch's.
        let score_signs = protocol.assessment.signs.iter().filter(|s| s.kind == SignKind::Score);
        for sign in score_signs.map(|s| s.key.as_str()) {
            for day in 1..=protocol.plan_days {
                if let (Some(w), Some(u)) =
                    (threshold(&protocol, sign, day, Level::Watch), threshold(&protocol, sign, day, Level::Urgent))
                {
                    assert!(w <= u, "{sign} day {day}");
                }
                for score in 0..=10 {
                    let answers = [(sign.to_string(), Answer::Score(score))].into_iter().collect();
                    let judged = crate::plan::assessment::assess(&protocol, day, &answers);
                    assert_eq!(level_of(&protocol, sign, day, score), judged.level, "{sign} day {day} score {score}");
                }
            }
        }
    }
}
