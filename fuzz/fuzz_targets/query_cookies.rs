//! Query strings and `Cookie` headers on arbitrary input, read back through the request
//! accessors a handler uses (`query`, `query_all`, `query_pairs`, `cookie`, `cookie_pairs`) from
//! every HTTP source's event shape.
//!
//! What must hold:
//! - the query: an HTTP API (v2) or Function URL `rawQueryString`, or ALB's still-encoded
//!   parameters, reads back as `application/x-www-form-urlencoded` decodes it (the
//!   `form_urlencoded` crate as reference: pairs split on `&`, empty ones skipped, name and
//!   value split at the first `=`, `+` a space, `%XX` decoded, invalid UTF-8 replaced); REST
//!   API (v1) parameters, which API Gateway has already decoded, read back unchanged; in order,
//!   repeats kept, `query` the first value, `query_all` every value;
//! - cookies: well-formed `name=value` pairs (RFC 6265 token names and cookie-octet values,
//!   `;` separators with optional spaces or tabs around them) read back exactly, in order, from
//!   one `Cookie` header, several, or the HTTP API `cookies` array; from any header text at all,
//!   every pair read is a `;`-free piece of it, its name holding no `=` and neither part
//!   padded with whitespace, and `cookie(name)` is the first pair's value;
//! - no panic anywhere.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lift::testing::invoke;
use lift::{App, AppService, Context};
use serde_json::{json, Value};

/// The event shape a request arrives in.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Source {
    V2,
    FunctionUrl,
    V1,
    V1Multi,
    Alb,
    AlbMulti,
}

/// A name or value from a few interesting pieces, or any text.
#[derive(Arbitrary, Debug)]
enum Piece {
    Known(u8),
    Any(String),
}

const PIECES: &[&str] = &[
    "a", "b", "a=b", "%", "%2", "%20", "%zz", "+", "%2B", "%C3%A9", "%C3", "%FF", "=", "&", ";",
    " ", "\t", "é", "\u{a0}", "\"", "%00", "a%3Db", "x%26y",
];

impl Piece {
    fn text(&self) -> &str {
        match self {
            Piece::Known(i) => PIECES[usize::from(*i) % PIECES.len()],
            Piece::Any(s) => s,
        }
    }
}

/// One well-formed cookie: a token name and a cookie-octet value, drawn from bytes.
#[derive(Arbitrary, Debug)]
struct WellFormed {
    name: Vec<u8>,
    value: Vec<u8>,
    /// The separator before the next cookie: `;` with optional spaces and tabs.
    sep: u8,
}

/// RFC 7230 `tchar`, which RFC 6265 cookie names are.
const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// RFC 6265 `cookie-octet`: visible ASCII but `"`, `,`, `;` and `\`.
fn cookie_octets() -> &'static [u8] {
    static O: OnceLock<Vec<u8>> = OnceLock::new();
    O.get_or_init(|| (0x21u8..=0x7e).filter(|b| !b"\",;\\".contains(b)).collect())
}

fn draw(bytes: &[u8], alphabet: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect()
}

impl WellFormed {
    fn pair(&self) -> (String, String) {
        let mut name = draw(&self.name, TCHAR);
        if name.is_empty() {
            name.push('n');
        }
        (name, draw(&self.value, cookie_octets()))
    }

    fn separator(&self) -> &'static str {
        ["; ", ";", " ; ", ";\t", "\t;  "][usize::from(self.sep) % 5]
    }
}

#[derive(Arbitrary, Debug)]
enum Cookies {
    /// One `Cookie` header of any text.
    Raw(Vec<Piece>),
    /// Several `Cookie` headers of any text (v1 and ALB multi-value; other sources take the
    /// first).
    RawMany(Vec<String>),
    /// Well-formed cookies, split over `headers` header values (0: the HTTP API `cookies`
    /// array, one cookie an element, where the source has one).
    WellFormed {
        cookies: Vec<WellFormed>,
        headers: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    source: Source,
    query: Vec<Piece>,
    cookies: Cookies,
    /// A name to look up besides those present.
    lookup: String,
}

fn app() -> &'static (tokio::runtime::Runtime, AppService) {
    static A: OnceLock<(tokio::runtime::Runtime, AppService)> = OnceLock::new();
    A.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let obs = lift::observability::Observability::new()
            .metrics_enabled(false)
            .tracing_enabled(false)
            .export_to(lift::observability::NullExporter);
        let app = App::new()
            .observability(obs)
            .get("/q", read_back)
            .build()
            .expect("the app builds");
        (rt, app)
    })
}

/// What the handler saw, as JSON: every pair, and each name's `query`/`query_all` and
/// `cookie` answers (the names present plus the `x-lookup` header's).
async fn read_back(ctx: Context) -> lift::http::Json<Value> {
    let req = ctx.request();
    let mut names: Vec<&str> = req.query_pairs().map(|(k, _)| k).collect();
    let mut cookie_names: Vec<&str> = req.cookie_pairs().map(|(k, _)| k).collect();
    if let Some(l) = req.header("x-lookup") {
        names.push(l);
        cookie_names.push(l);
    }
    let query: Vec<Value> = names
        .iter()
        .map(|n| {
            json!([
                n,
                req.query(n),
                ctx.request().query(n),
                req.query_all(n).collect::<Vec<_>>()
            ])
        })
        .collect();
    let cookies: Vec<Value> = cookie_names
        .iter()
        .map(|n| json!([n, req.cookie(n), ctx.request().cookie(n)]))
        .collect();
    lift::http::Json(json!({
        "query_pairs": req.query_pairs().collect::<Vec<_>>(),
        "cookie_pairs": req.cookie_pairs().collect::<Vec<_>>(),
        "query": query,
        "cookies": cookies,
    }))
}

type Pairs = Vec<(String, String)>;

/// Pairs as the event carries them: name and value, each still encoded as sent.
fn split_raw(raw: &str) -> Vec<(&str, &str)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

/// A JSON object written by hand, so that key order and repeated keys survive (as the
/// request view reads them).
fn object<'a>(entries: impl Iterator<Item = (&'a str, String)>) -> String {
    let body: Vec<String> = entries
        .map(|(k, v)| format!("{}:{v}", Value::from(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn string(s: &str) -> String {
    Value::from(s).to_string()
}

/// The event, and the query pairs the request must read back.
fn event(
    source: Source,
    raw_query: &str,
    cookie_headers: &[String],
    array: &[String],
    lookup: &str,
) -> (String, Pairs) {
    let decoded: Pairs = form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let raw = split_raw(raw_query);
    let mut headers: Vec<(&str, &str)> = vec![("x-lookup", lookup)];
    match source {
        Source::V2 | Source::FunctionUrl => {
            // HTTP API takes one value per header name.
            if let Some(c) = cookie_headers.first() {
                headers.push(("cookie", c));
            }
            let domain = match source {
                Source::FunctionUrl => "abcdefghijklmnop.lambda-url.us-east-1.on.aws",
                _ => "1234567890.execute-api.us-east-1.amazonaws.com",
            };
            let cookies: Vec<Value> = array.iter().map(|c| Value::from(c.as_str())).collect();
            let ev = format!(
                r#"{{"version":"2.0","routeKey":"$default","rawPath":"/q","rawQueryString":{},"cookies":{},"headers":{},"requestContext":{{"domainName":"{domain}","http":{{"method":"GET","path":"/q","sourceIp":"203.0.113.7"}},"stage":"$default"}},"isBase64Encoded":false}}"#,
                string(raw_query),
                Value::from(cookies),
                object(headers.iter().map(|(k, v)| (*k, string(v)))),
            );
            (ev, decoded)
        }
        Source::V1 | Source::V1Multi => {
            // API Gateway has decoded the parameters already: they read back as sent.
            let params = if matches!(source, Source::V1Multi) {
                let multi_headers = object(
                    std::iter::once(("x-lookup", format!("[{}]", string(lookup)))).chain(
                        cookie_headers
                            .iter()
                            .map(|c| ("Cookie", format!("[{}]", string(c)))),
                    ),
                );
                let q = object(
                    decoded
                        .iter()
                        .map(|(k, v)| (k.as_str(), format!("[{}]", string(v)))),
                );
                format!(
                    r#""multiValueQueryStringParameters":{q},"multiValueHeaders":{multi_headers}"#
                )
            } else {
                if let Some(c) = cookie_headers.first() {
                    headers.push(("Cookie", c));
                }
                let q = object(decoded.iter().map(|(k, v)| (k.as_str(), string(v))));
                format!(
                    r#""queryStringParameters":{q},"headers":{}"#,
                    object(headers.iter().map(|(k, v)| (*k, string(v))))
                )
            };
            let ev = format!(
                r#"{{"resource":"/q","path":"/q","httpMethod":"GET",{params},"requestContext":{{"stage":"prod","identity":{{"sourceIp":"203.0.113.7"}}}},"body":null,"isBase64Encoded":false}}"#
            );
            (ev, decoded)
        }
        Source::Alb | Source::AlbMulti => {
            // ALB forwards the parameters still encoded.
            let params = if matches!(source, Source::AlbMulti) {
                let multi_headers = object(
                    std::iter::once(("x-lookup", format!("[{}]", string(lookup)))).chain(
                        cookie_headers
                            .iter()
                            .map(|c| ("cookie", format!("[{}]", string(c)))),
                    ),
                );
                // The headers always hold `x-lookup`, so the event reads as multi-value even
                // without a query.
                let q = object(raw.iter().map(|(k, v)| (*k, format!("[{}]", string(v)))));
                format!(
                    r#""multiValueQueryStringParameters":{q},"multiValueHeaders":{multi_headers}"#
                )
            } else {
                if let Some(c) = cookie_headers.first() {
                    headers.push(("cookie", c));
                }
                let q = object(raw.iter().map(|(k, v)| (*k, string(v))));
                format!(
                    r#""queryStringParameters":{q},"headers":{}"#,
                    object(headers.iter().map(|(k, v)| (*k, string(v))))
                )
            };
            let ev = format!(
                r#"{{"requestContext":{{"elb":{{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fuzz/0"}}}},"httpMethod":"GET","path":"/q",{params},"body":"","isBase64Encoded":false}}"#
            );
            (ev, decoded)
        }
    }
}

fn pairs(v: &Value) -> Pairs {
    v.as_array()
        .expect("an array of pairs")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("a name").to_owned(),
                p[1].as_str().expect("a value").to_owned(),
            )
        })
        .collect()
}

fn check_query(seen: &Value, expected: &Pairs, lookup: &str) {
    let got = pairs(&seen["query_pairs"]);
    assert_eq!(&got, expected, "query pairs");
    for q in seen["query"].as_array().expect("query answers") {
        let name = q[0].as_str().expect("a name");
        let all: Vec<&str> = expected
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(q[1].as_str(), all.first().copied(), "query({name:?})");
        assert_eq!(q[2], q[1], "Context::query({name:?})");
        let got_all: Vec<&str> = q[3]
            .as_array()
            .expect("query_all")
            .iter()
            .map(|v| v.as_str().expect("a value"))
            .collect();
        assert_eq!(got_all, all, "query_all({name:?})");
    }
    assert!(
        seen["query"]
            .as_array()
            .is_some_and(|q| q.iter().any(|e| e[0] == lookup)),
        "the lookup name was asked"
    );
}

fn check_cookies(seen: &Value, headers: &[String], array: &[String], expected: Option<&Pairs>) {
    let got = pairs(&seen["cookie_pairs"]);
    if let Some(expected) = expected {
        assert_eq!(&got, expected, "cookie pairs from {headers:?} / {array:?}");
    }
    for (k, v) in &got {
        // Each pair is a `;`-free piece of what was sent: one array element or header segment.
        let from_array = array
            .iter()
            .any(|c| c.contains(k.as_str()) && c.contains(v.as_str()));
        let from_header = headers
            .iter()
            .flat_map(|h| h.split(';'))
            .any(|seg| seg.contains(k.as_str()) && seg.contains(v.as_str()));
        assert!(from_array || from_header, "({k:?}, {v:?}) was not sent");
        assert!(!k.contains('='), "name {k:?} holds '='");
        assert_eq!(k.trim(), k, "name {k:?} is padded");
        assert_eq!(v.trim(), v, "value {v:?} is padded");
        if !from_array {
            assert!(
                !k.contains(';') && !v.contains(';'),
                "({k:?}, {v:?}) holds ';'"
            );
        }
    }
    for c in seen["cookies"].as_array().expect("cookie answers") {
        let name = c[0].as_str().expect("a name");
        let first = got.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(c[1].as_str(), first, "cookie({name:?})");
        assert_eq!(c[2], c[1], "Context::cookie({name:?})");
    }
}

fuzz_target!(|input: Input| {
    let raw_query: String = input.query.iter().map(Piece::text).collect();
    let has_array = matches!(input.source, Source::V2 | Source::FunctionUrl);
    let multi_header = matches!(input.source, Source::V1Multi | Source::AlbMulti);
    let (headers, array, expected_cookies): (Vec<String>, Vec<String>, Option<Pairs>) =
        match &input.cookies {
            Cookies::Raw(pieces) => (vec![pieces.iter().map(Piece::text).collect()], vec![], None),
            Cookies::RawMany(hs) => {
                let hs = if multi_header {
                    hs.clone()
                } else {
                    hs.iter().take(1).cloned().collect()
                };
                (hs, vec![], None)
            }
            Cookies::WellFormed { cookies, headers } => {
                let expected: Pairs = cookies.iter().map(WellFormed::pair).collect();
                if *headers == 0 && has_array {
                    let array = expected.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    (vec![], array, Some(expected))
                } else {
                    let n = if multi_header {
                        usize::from(*headers).max(1)
                    } else {
                        1
                    };
                    let per = cookies.len().div_ceil(n).max(1);
                    let hs: Vec<String> = cookies
                        .chunks(per)
                        .map(|chunk| {
                            let mut h = String::new();
                            for (i, c) in chunk.iter().enumerate() {
                                if i > 0 {
                                    h.push_str(chunk[i - 1].separator());
                                }
                                let (k, v) = c.pair();
                                h.push_str(&k);
                                h.push('=');
                                h.push_str(&v);
                            }
                            h
                        })
                        .collect();
                    (hs, vec![], Some(expected))
                }
            }
        };
    let (ev, expected_query) = event(input.source, &raw_query, &headers, &array, &input.lookup);
    let (rt, app) = app();
    let res = rt
        .block_on(invoke(app, ev.into_bytes()))
        .expect("a GET event is handled");
    assert_eq!(res.status(), 200, "{}", res.text());
    let seen: Value = res.json().expect("the handler's JSON");
    check_query(&seen, &expected_query, &input.lookup);
    check_cookies(&seen, &headers, &array, expected_cookies.as_ref());
});
