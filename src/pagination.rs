//! Keyset pagination: `limit` and an opaque `cursor` in, `{items, next_cursor}` out.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clock;
use crate::db::MultiBackend;
use crate::validate::Checks;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^([0-2]:)?[0-9]{1,16}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// The position after which the next page starts: the sort keys of the last item served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// An optional leading sort key (such as a severity rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<i32>,
    /// Creation instant, microseconds since the epoch.
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub fn new(rank: Option<i32>, at: NaiveDateTime, id: &str) -> Cursor {
        Cursor { rank, at: clock::micros(at), id: id.to_string() }
    }

    /// `[rank:]micros:id`. Clients treat it as opaque; its shape is exact so that every string
    /// of that shape is a position (perhaps past the end), and the document can say so.
    pub fn encode(&self) -> String {
        match self.rank {
            Some(rank) => format!("{rank}:{}:{}", self.at, self.id),
            None => format!("{}:{}", self.at, self.id),
        }
    }

    pub fn decode(raw: &str) -> Result<Cursor, String> {
        let invalid = || "is not a cursor this server issued".to_string();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let parts: Vec<&str> = raw.split(':').collect();
        if !parts.iter().rev().skip(1).all(|p| digits(p)) {
            return Err(invalid());
        }
        let (rank, at, id) = match parts.as_slice() {
            [rank, at, id] => {
                (Some(rank.parse::<i32>().ok().filter(|r| (0..=2).contains(r)).ok_or_else(invalid)?), *at, *id)
            }
            [at, id] => (None, *at, *id),
            _ => return Err(invalid()),
        };
        let at = at.parse::<i64>().ok().filter(|at| (0..=9_999_999_999_999_999).contains(at)).ok_or_else(invalid)?;
        let id = uuid::Uuid::try_parse(id).map_err(|_| invalid())?.hyphenated().to_string();
        if id != parts[parts.len() - 1] {
            return Err(invalid());
        }
        clock::from_micros(at).ok_or_else(invalid)?;
        Ok(Cursor { rank, at, id })
    }

    pub fn instant(&self) -> NaiveDateTime {
        clock::from_micros(self.at).unwrap_or_default()
    }
}

/// The order a list is served in, by its sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// A filter on a query over `QS`: the rows that come after a cursor.
pub type Keyset<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

type Later<At, Id> = dsl::Or<dsl::Gt<At, NaiveDateTime>, dsl::And<dsl::Eq<At, NaiveDateTime>, dsl::Gt<Id, String>>>;
type Earlier<At, Id> = dsl::Or<dsl::Lt<At, NaiveDateTime>, dsl::And<dsl::Eq<At, NaiveDateTime>, dsl::Lt<Id, String>>>;
type LaterRanked<Rank, QS> = dsl::Or<dsl::Gt<Rank, i32>, dsl::And<dsl::Eq<Rank, i32>, Keyset<QS>>>;

impl Cursor {
    /// The rows after this cursor in a list sorted by (`at`, `id`) in `order`.
    pub fn rows_after<QS, At, Id>(&self, order: Order, at: At, id: Id) -> Keyset<QS>
    where
        At: Expression<SqlType = Timestamp> + Copy,
        Id: Expression<SqlType = Text> + 'static,
        Later<At, Id>: BoxableExpression<QS, MultiBackend, SqlType = Bool> + 'static,
        Earlier<At, Id>: BoxableExpression<QS, MultiBackend, SqlType = Bool> + 'static,
    {
        let (instant, last) = (self.instant(), self.id.clone());
        match order {
            Order::Ascending => Box::new(at.gt(instant).or(at.eq(instant).and(id.gt(last)))),
            Order::Descending => Box::new(at.lt(instant).or(at.eq(instant).and(id.lt(last)))),
        }
    }

    /// The rows after this cursor in a list sorted by (`rank`, `at`, `id`), all ascending.
    pub fn rows_after_ranked<QS: 'static, Rank, At, Id>(&self, rank: Rank, at: At, id: Id) -> Keyset<QS>
    where
        Rank: Expression<SqlType = Integer> + Copy,
        At: Expression<SqlType = Timestamp> + Copy,
        Id: Expression<SqlType = Text> + 'static,
        Later<At, Id>: BoxableExpression<QS, MultiBackend, SqlType = Bool> + 'static,
        Earlier<At, Id>: BoxableExpression<QS, MultiBackend, SqlType = Bool> + 'static,
        LaterRanked<Rank, QS>: BoxableExpression<QS, MultiBackend, SqlType = Bool> + 'static,
    {
        let last = self.rank.unwrap_or(0);
        Box::new(rank.gt(last).or(rank.eq(last).and(self.rows_after(Order::Ascending, at, id))))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The number of rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

impl PageQuery {
    pub fn parse(self, checks: &mut Checks) -> Option<PageRequest> {
        let limit = checks.optional("limit", self.limit, parse_limit);
        let after = checks.optional("cursor", self.cursor, |raw| Cursor::decode(&raw));
        checks.is_ok().then(|| PageRequest { limit: limit.unwrap_or(DEFAULT_LIMIT), after })
    }
}

impl PageQuery {
    /// For routes whose only query parameters are the page's: the page, or 422 naming each bad one.
    pub fn into_request(self) -> Result<PageRequest, crate::error::AppError> {
        let mut checks = Checks::new();
        let page = self.parse(&mut checks);
        checks.finish()?;
        crate::validate::checked(page)
    }
}

fn parse_limit(raw: String) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("must be an integer from 1 to {MAX_LIMIT}")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `request.fetch()` rows in order; `position` gives an item's sort keys.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, position: impl Fn(&T) -> Cursor) -> Page<T> {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more { rows.last().map(|last| position(last).encode()) } else { None };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, Checks> {
        let mut checks = Checks::new();
        let query = PageQuery { limit: limit.map(String::from), cursor: cursor.map(String::from) };
        query.parse(&mut checks).ok_or(checks)
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(parse(None, None).unwrap().limit, 50);
        assert_eq!(parse(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(parse(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = clock::now();
        let cursor = Cursor::new(Some(2), at, "01a210ff-356e-7511-8855-fb32cae2393b");
        let back = parse(None, Some(&cursor.encode())).unwrap().after.unwrap();
        assert_eq!(back, cursor);
        assert_eq!(back.instant(), at);
        assert!(parse(None, Some("not-a-cursor")).is_err());
    }

    #[test]
    fn pages_know_whether_more_follow() {
        let request = PageRequest { limit: 2, after: None };
        let at = clock::now();
        let ids = [
            "01a210ff-356e-7511-8855-00000000000a",
            "01a210ff-356e-7511-8855-00000000000b",
            "01a210ff-356e-7511-8855-00000000000c",
        ];
        let page = Page::from_rows(ids.to_vec(), &request, |s| Cursor::new(None, at, s));
        assert_eq!(page.items, ids[..2]);
        assert_eq!(Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap().id, ids[1]);
        let last = Page::from_rows(ids[..1].to_vec(), &request, |s| Cursor::new(None, at, s));
        assert!(last.next_cursor.is_none());
    }
}
