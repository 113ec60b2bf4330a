//! HTTP revalidation for the reads a phone repeats on a metered network (RFC 9110 §8.8.3, §13.1.2).
//!
//! A read wrapped with this layer (`wrap = "actix_web::middleware::from_fn(crate::http_cache::revalidate)"`)
//! answers 200 with a strong `ETag` and `Cache-Control: private, no-cache`: the app may keep the
//! answer but must ask before reusing it. When the request's `If-None-Match` names the tag of the
//! answer it would get, it gets `304 Not Modified` with no body instead. The tag is a hash of the
//! answer's bytes, so it changes exactly when the answer does, whoever changed the data underneath.
//! Every other answer keeps the server's default, `no-store`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_LANGUAGE, ETAG, HeaderValue, IF_NONE_MATCH, VARY};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use crate::error::AppError;

/// What a revalidatable answer may do in the client's cache.
pub const REVALIDATE: &str = "private, no-cache";

pub async fn revalidate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let presented = req.headers().get_all(IF_NONE_MATCH).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let err = AppError::internal(format!("could not read the answer: {}", err.into()));
            return Ok(ServiceResponse::new(req, err.error_response()));
        }
    };
    let tag = entity_tag(&bytes);
    let tag_value = HeaderValue::from_str(&tag).expect("a hex tag is a valid header value");
    let cache_control = HeaderValue::from_static(REVALIDATE);
    if none_match(&presented, &tag) {
        // Of the 200's headers, a 304 repeats those that say how to cache it (RFC 9110 §15.4.5).
        let mut not_modified = HttpResponse::NotModified().finish();
        not_modified.headers_mut().insert(ETAG, tag_value);
        not_modified.headers_mut().insert(CACHE_CONTROL, cache_control);
        // `Vary` too (§15.4.5), and the language the kept answer is in: answers in another
        // language have other bytes, so other tags.
        for name in [VARY, CONTENT_LANGUAGE] {
            if let Some(value) = head.headers().get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return Ok(ServiceResponse::new(req, not_modified));
    }
    head.headers_mut().insert(ETAG, tag_value);
    head.headers_mut().insert(CACHE_CONTROL, cache_control);
    Ok(ServiceResponse::new(req, head.set_body(bytes).map_into_boxed_body()))
}

/// A strong entity tag for these bytes: a 128-bit hash, quoted. Not a secret and not a security
/// check, only "is this the same answer as before"; a fast hash keeps it cheap on the hot reads.
pub fn entity_tag(bytes: &[u8]) -> String {
    format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Whether an `If-None-Match` value names `tag`: `*`, or a list of tags compared weakly (a `W/`
/// prefix is ignored, as RFC 9110 §13.1.2 says for this header).
fn none_match(presented: &str, tag: &str) -> bool {
    presented
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_quoted_and_follow_the_bytes() {
        let tag = entity_tag(b"{\"a\":1}");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        assert_eq!(tag, entity_tag(b"{\"a\":1}"));
        assert_ne!(tag, entity_tag(b"{\"a\":2}"));
    }

    #[test]
    fn if_none_match_lists_wildcards_and_weak_tags_match() {
        let tag = entity_tag(b"x");
        assert!(none_match(&tag, &tag));
        assert!(none_match(&format!("\"other\", {tag}"), &tag));
        assert!(none_match(&format!("W/{tag}"), &tag));
        assert!(none_match("*", &tag));
        assert!(!none_match("", &tag));
        assert!(!none_match("\"other\"", &tag));
        assert!(!none_match(tag.trim_matches('"'), &tag), "an unquoted tag is not the tag");
    }
}
