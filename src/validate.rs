//! Collects every invalid field of a request, so a 422 names them all at once.

use crate::error::{AppError, FieldError};

#[derive(Default, Debug)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_string(), message: message.into() });
    }

    /// A value that must be present and must parse.
    pub fn required<R, T>(
        &mut self,
        field: &str,
        value: Option<R>,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<T> {
        match value {
            None => {
                self.fail(field, "is required");
                None
            }
            Some(raw) => self.record(field, parse(raw)),
        }
    }

    /// A value that may be absent; when present it must parse.
    pub fn optional<R, T>(
        &mut self,
        field: &str,
        value: Option<R>,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<T> {
        value.and_then(|raw| self.record(field, parse(raw)))
    }

    fn record<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Err(422)` naming every failed field, or `Ok` when all passed.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Validation(self.errors)) }
    }
}

/// Reads an optional JSON integer. JSON Schema counts `9.0` as the integer 9, so it is accepted;
/// `9.5` or a string is a type error (400).
pub fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    match whole_number(&number) {
        Some(n) => Ok(Some(n)),
        None => Err(D::Error::custom(format!("invalid type: {number}, expected an integer"))),
    }
}

/// An integer sent as `3` or `3.0` (some clients write every number as a float).
pub fn whole_number(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

/// Unwraps a value that `Checks::finish` has already proven present.
pub fn checked<T>(value: Option<T>) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::internal("a checked value was missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_field_is_named() {
        let mut checks = Checks::new();
        let a: Option<i32> = checks.required("a", None::<i32>, Ok);
        let b = checks.required("b", Some(5), |v| if v > 3 { Err("too big".into()) } else { Ok(v) });
        let c = checks.optional("c", None::<i32>, Ok);
        assert!(a.is_none() && b.is_none() && c.is_none());
        let Err(AppError::Validation(errors)) = checks.finish() else { panic!("expected a validation error") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b"]);
    }
}
