//! `Set-Cookie` values, written so that no name, value or attribute can add an attribute or a
//! header of its own.
//!
//! RFC 6265 allows a cookie value only "cookie-octets": visible ASCII less `"`, `,`, `;` and
//! `\`. Lift percent-encodes every other byte of a value (and `%` itself, so the encoding is
//! reversible), every byte of a name that is not a token character, and, in `Path` and
//! `Domain`, control characters and `;`. A value that needs none of this, as session ids and
//! tokens do not, is written unchanged.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Bytes a cookie value cannot carry as they are: all but RFC 6265's cookie-octets, and `%`.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// Bytes of a name that are not token characters (RFC 9110), and `%`.
const NAME: &AsciiSet = &VALUE
    .add(b'(')
    .add(b')')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}');

/// Bytes an attribute value (`Path`, `Domain`) cannot carry: controls and `;`.
const ATTRIBUTE: &AsciiSet = &CONTROLS.add(b';');

/// The `SameSite` attribute of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`
    Strict,
    /// `SameSite=Lax`
    Lax,
    /// `SameSite=None` (browsers require `Secure` with it)
    None,
}

/// A cookie to set on the response, written as one `Set-Cookie` value.
///
/// ```
/// use lift::http::{Cookie, SameSite};
/// use std::time::Duration;
///
/// let c = Cookie::new("id", "a3fWa")
///     .max_age(Duration::from_secs(3600))
///     .secure()
///     .same_site(SameSite::Lax);
/// assert_eq!(c.to_string(), "id=a3fWa; Max-Age=3600; Secure; SameSite=Lax");
///
/// // A value cannot inject attributes: what a cookie cannot carry is percent-encoded,
/// // and `Cookie::decode` reads it back.
/// let c = Cookie::new("note", "a; Domain=evil.example");
/// assert_eq!(c.to_string(), "note=a%3B%20Domain=evil.example");
/// assert_eq!(Cookie::decode("a%3B%20Domain=evil.example"), "a; Domain=evil.example");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<Duration>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl Cookie {
    /// A session cookie with a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Cookie {
            name: name.into(),
            value: value.into(),
            path: None,
            domain: None,
            max_age: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }

    /// `Path=`
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// `Domain=`
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `Max-Age=` in whole seconds (zero expires the cookie).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// `Secure`
    pub fn secure(mut self) -> Self {
        self.secure = true;
        self
    }

    /// `HttpOnly`
    pub fn http_only(mut self) -> Self {
        self.http_only = true;
        self
    }

    /// `SameSite=`
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// A cookie value as a request carries it, with the percent-encoding Lift writes undone
    /// (bytes that do not form UTF-8 become U+FFFD). A value that holds no `%` is returned as
    /// it is.
    pub fn decode(value: &str) -> Cow<'_, str> {
        percent_decode_str(value).decode_utf8_lossy()
    }
}

impl fmt::Display for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}",
            utf8_percent_encode(&self.name, NAME),
            utf8_percent_encode(&self.value, VALUE)
        )?;
        if let Some(p) = &self.path {
            write!(f, "; Path={}", utf8_percent_encode(p, ATTRIBUTE))?;
        }
        if let Some(d) = &self.domain {
            write!(f, "; Domain={}", utf8_percent_encode(d, ATTRIBUTE))?;
        }
        if let Some(a) = self.max_age {
            write!(f, "; Max-Age={}", a.as_secs())?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        match self.same_site {
            Some(SameSite::Strict) => f.write_str("; SameSite=Strict"),
            Some(SameSite::Lax) => f.write_str("; SameSite=Lax"),
            Some(SameSite::None) => f.write_str("; SameSite=None"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_cookie_carries_can_add_an_attribute() {
        let value = "a;b, c\"d\\e\r\nSet-Cookie: x=1 é%";
        let c = Cookie::new("id; Secure", value)
            .path("/; Domain=evil.example")
            .domain("example.com\r\nX-Evil: 1");
        assert_eq!(
            c.to_string(),
            "id%3B%20Secure=a%3Bb%2C%20c%22d%5Ce%0D%0ASet-Cookie:%20x=1%20%C3%A9%25; \
             Path=/%3B Domain=evil.example; Domain=example.com%0D%0AX-Evil: 1"
        );
        let written = c.to_string();
        let (_, rest) = written.split_once('=').unwrap();
        let (sent, _) = rest.split_once("; ").unwrap();
        assert_eq!(Cookie::decode(sent), value);
    }

    #[test]
    fn plain_values_are_written_unchanged() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_";
        let c = Cookie::new("session", jwt).path("/api");
        assert_eq!(c.to_string(), format!("session={jwt}; Path=/api"));
        assert_eq!(Cookie::new("b64", "YQ==").to_string(), "b64=YQ==");
        assert_eq!(Cookie::decode(jwt), jwt);
    }
}
