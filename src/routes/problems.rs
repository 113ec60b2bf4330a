//! The error answers of the OpenAPI document: every one is a `Problem` as problem+json.

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

macro_rules! problem_responses {
    ($($name:ident => $description:literal),+ $(,)?) => {$(
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(crate::error::PROBLEM_JSON, content)
                        .build()
                        .into(),
                )
            }
        }
    )+};
}

problem_responses!(
    BadRequest => "Malformed JSON, or JSON of the wrong types",
    Unauthorized => "Missing, invalid or expired credentials",
    Forbidden => "The caller's role may not do this",
    NotFound => "No such resource, or not the caller's to see",
    Conflict => "Conflicts with existing data",
    PayloadTooLarge => "The request body is too large",
    UnsupportedMediaType => "The request body is not JSON",
    Invalid => "Invalid values; `errors` names every invalid field",
    TooManyRequests => "Rate limited; see Retry-After",
    Unavailable => "The database is not answering",
);
