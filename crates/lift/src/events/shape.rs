//! Pieces shared by the response shapes: body encoding and header maps.

use std::borrow::Cow;

use base64::Engine as _;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::http::request::is_json_content_type;
use crate::http::Response;

/// The body as the sources want it: text as is, anything else base64 with the flag set.
pub(super) fn body(r: &Response) -> (Cow<'_, str>, bool) {
    let bytes = r.body();
    if bytes.is_empty() {
        return (Cow::Borrowed(""), false);
    }
    let textual = r
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(is_text_content_type);
    match std::str::from_utf8(bytes) {
        Ok(s) if textual => (Cow::Borrowed(s), false),
        _ => (
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(bytes)),
            true,
        ),
    }
}

fn is_text_content_type(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || is_json_content_type(&essence)
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

fn value(v: &HeaderValue) -> Cow<'_, str> {
    match v.to_str() {
        Ok(s) => Cow::Borrowed(s),
        // Header values may carry obs-text bytes; JSON needs text.
        Err(_) => String::from_utf8_lossy(v.as_bytes()),
    }
}

/// Every header, repeated values joined with `, ` (`Set-Cookie` skipped when `skip_cookies`,
/// kept to its first value otherwise, since cookies cannot be comma-joined).
pub(super) struct Joined<'a> {
    pub headers: &'a HeaderMap,
    pub skip_cookies: bool,
}

impl Serialize for Joined<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for name in self.headers.keys() {
            let mut values = self.headers.get_all(name).iter();
            let Some(first) = values.next() else { continue };
            if name == SET_COOKIE {
                if !self.skip_cookies {
                    map.serialize_entry(name.as_str(), &value(first))?;
                }
                continue;
            }
            let mut joined = value(first);
            for v in values {
                let s = joined.to_mut();
                s.push_str(", ");
                s.push_str(&value(v));
            }
            map.serialize_entry(name.as_str(), &joined)?;
        }
        map.end()
    }
}

/// Headers with exactly one value.
pub(super) struct Single<'a>(pub &'a HeaderMap);

impl Serialize for Single<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for name in self.0.keys() {
            let mut values = self.0.get_all(name).iter();
            if let (Some(v), None) = (values.next(), values.next()) {
                map.serialize_entry(name.as_str(), &value(v))?;
            }
        }
        map.end()
    }
}

/// Every header as an array of its values.
pub(super) struct Multi<'a>(pub &'a HeaderMap);

impl Serialize for Multi<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct HeaderValues<'a>(http::header::GetAll<'a, HeaderValue>);
        impl Serialize for HeaderValues<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(None)?;
                for v in self.0.iter() {
                    seq.serialize_element(&value(v))?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(None)?;
        for name in self.0.keys() {
            map.serialize_entry(name.as_str(), &HeaderValues(self.0.get_all(name)))?;
        }
        map.end()
    }
}

/// The `Set-Cookie` values, for the HTTP API `cookies` array.
pub(super) struct Cookies<'a>(pub &'a HeaderMap);

impl Serialize for Cookies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for v in self.0.get_all(SET_COOKIE) {
            seq.serialize_element(&value(v))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_stay_text_binary_is_base64() {
        let r = Response::json(&serde_json::json!({"a":1})).unwrap();
        assert_eq!(body(&r), (Cow::Borrowed(r#"{"a":1}"#), false));
        let r = Response::bytes("image/png", vec![0x89, 0x50, 0x4e, 0x47]);
        assert_eq!(body(&r), (Cow::Owned("iVBORw==".to_owned()), true));
        let r = Response::bytes("application/octet-stream", "plain");
        assert_eq!(body(&r), (Cow::Owned("cGxhaW4=".to_owned()), true));
        let r = Response::bytes("image/svg+xml", "<svg/>");
        assert!(!body(&r).1);
    }
}
