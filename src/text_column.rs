//! Domain values kept in TEXT columns, read and written by diesel directly on every backend.
//!
//! `text_column!(T)` stores `T` as `T::as_str()` and reads it back with `T::from_str`; the type
//! also derives `AsExpression` and `FromSqlRow` with `sql_type = Text`. The impls are generic over
//! the backend, so they serve SQLite, PostgreSQL and the `MultiBackend` of `DbConnection` alike
//! (each needs only what `str` and `String` already have). A stored string that no longer parses
//! is a deserialization error, answered as a 500 like any other database error.

macro_rules! text_column {
    ($type:ty) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                diesel::serialize::ToSql::<diesel::sql_types::Text, DB>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $type
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Ok(text.parse::<$type>()?)
            }
        }
    };
}

pub(crate) use text_column;
