//! The languages the API answers in, and choosing one for a request.
//!
//! The rule: a supported language named in the request's `Accept-Language` wins (the highest
//! `q`, the first listed on a tie; `es-ES`, `es-419` are `es`; `*`, unsupported languages, `q=0`
//! and anything malformed are ignored, never an error); else, when the texts are for a patient
//! (a patient calling, or a message or feed sent to a patient without a request), the patient's
//! preferred language; else English. A protocol without a translation to the chosen language
//! answers in English, and `Content-Language` says which language an answer is in.

use actix_web::http::header::{self, HeaderValue};
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Language {
    En,
    Es,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Es];
    /// The languages a protocol may carry translations to (English is the documents' own).
    pub const TRANSLATED: [Language; 1] = [Language::Es];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
        }
    }

    /// `en` or `es` exactly.
    pub fn parse(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == code)
    }

    /// A language tag (`es`, `es-ES`, `ES-419`): its primary subtag, if it is a language we serve.
    pub fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Language::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }

    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }
}

crate::text_column::text_column!(Language);

impl std::str::FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Language, String> {
        Language::parse(s).ok_or_else(|| format!("`{s}` is not a language: en or es"))
    }
}

/// The supported language an `Accept-Language` value prefers, if it names one.
pub fn from_accept_language(value: &str) -> Option<Language> {
    let mut best: Option<(Language, u16)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = Some(1000u16);
        for param in parts {
            let Some((name, v)) = param.split_once('=') else { continue };
            if name.trim().eq_ignore_ascii_case("q") {
                q = quality(v.trim());
            }
        }
        let (Some(language), Some(q)) = (Language::of_tag(tag), q) else { continue };
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((language, q));
        }
    }
    best.map(|(language, _)| language)
}

/// A `q` value in thousandths (RFC 9110 §12.4.2: 0 to 1, at most three decimals).
fn quality(v: &str) -> Option<u16> {
    let parsed: f64 = v.parse().ok()?;
    (v.len() <= 5 && (0.0..=1.0).contains(&parsed)).then(|| (parsed * 1000.0).round() as u16)
}

/// The language the request asks for by its `Accept-Language`, if it names one we serve.
#[derive(Debug, Clone, Copy)]
pub struct Requested(pub Option<Language>);

impl Requested {
    /// The rule above: the request's language, else `preferred` (the patient's, when the texts
    /// are for a patient), else English.
    pub fn or(self, preferred: Option<Language>) -> Language {
        self.0.or(preferred).unwrap_or(Language::En)
    }
}

impl actix_web::FromRequest for Requested {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Requested, actix_web::Error>>;
    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let values = req.headers().get_all(header::ACCEPT_LANGUAGE).filter_map(|v| v.to_str().ok());
        let joined = values.collect::<Vec<_>>().join(",");
        std::future::ready(Ok(Requested(from_accept_language(&joined))))
    }
}

/// The `Content-Language` of an answer holding texts in these languages (`es`, or `es, en` when
/// some texts fell back to English).
pub fn content_language(languages: impl IntoIterator<Item = Language>) -> HeaderValue {
    let mut all: Vec<Language> = languages.into_iter().collect();
    all.sort();
    all.dedup();
    if all.is_empty() {
        all.push(Language::En);
    }
    // Spanish first when present: the language the answer is mostly in.
    all.reverse();
    let text = all.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ");
    HeaderValue::from_str(&text).expect("language codes are valid header values")
}

/// An answer carrying texts chosen by language: `Content-Language` and `Vary: Accept-Language`.
pub fn localized<R: actix_web::Responder>(
    answer: R,
    languages: impl IntoIterator<Item = Language>,
) -> actix_web::CustomizeResponder<R> {
    answer
        .customize()
        .insert_header((header::CONTENT_LANGUAGE, content_language(languages)))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Language")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        let cases = [
            ("es", Some(Language::Es)),
            ("es-ES", Some(Language::Es)),
            ("es-419,en;q=0.5", Some(Language::Es)),
            ("ES_mx", Some(Language::Es)),
            ("en-GB,es;q=0.9", Some(Language::En)),
            ("fr, es;q=0.3, en;q=0.2", Some(Language::Es)),
            ("en;q=0.4, es;q=0.8", Some(Language::Es)),
            ("es;q=0.5, en;q=0.5", Some(Language::Es)),
            ("es;q=0, en;q=0.1", Some(Language::En)),
            ("*", None),
            ("fr-FR, de", None),
            ("", None),
            (";;;,,=", None),
            ("es;q=2", None),
            ("es;q=abc, en", Some(Language::En)),
            ("es;q=0.12345", None),
            ("\u{00e9}s", None),
        ];
        for (value, expected) in cases {
            assert_eq!(from_accept_language(value), expected, "{value:?}");
        }
    }

    #[test]
    fn the_request_beats_the_preference_which_beats_english() {
        assert_eq!(Requested(Some(Language::En)).or(Some(Language::Es)), Language::En);
        assert_eq!(Requested(None).or(Some(Language::Es)), Language::Es);
        assert_eq!(Requested(None).or(None), Language::En);
    }

    #[test]
    fn content_language_lists_what_the_answer_holds() {
        assert_eq!(content_language([Language::Es]), "es");
        assert_eq!(content_language([Language::En, Language::Es, Language::Es]), "es, en");
        assert_eq!(content_language([]), "en");
    }
}
