//! Log group and stream names: the stream pattern's placeholders, the process's instance id,
//! and tenant values as names, one tenant to one name (a per-tenant stream or group is an
//! isolation boundary), with a cap on how many tenants get one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The default stream pattern: `2026/05/14/orders-api/3f2a9c0d1b4e6f70`, the layout Lambda
/// itself uses (date, then something naming the function instance).
pub const DEFAULT_STREAM_PATTERN: &str = "{date}/{function}/{instance}";

/// The longest log group or stream name the service takes, in characters.
const MAX_NAME: usize = 512;
/// The most bytes a tenant takes in a name, escapes and the hash of a cut one included.
pub const MAX_TENANT_LEN: usize = 128;
/// The most tenants given a destination of their own per exporter (per sandbox), by default.
pub const DEFAULT_MAX_TENANT_DESTINATIONS: usize = 100;

/// A random 16-hex-digit id, made once per process: concurrent sandboxes of one function never
/// write to the same stream.
pub fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("{:016x}", fastrand::u64(..)))
}

/// The function name Lambda sets, or `local` outside Lambda.
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}

/// `at` as a UTC date, `YYYY/MM/DD`.
pub fn date(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}/{m:02}/{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The stream pattern with `{date}`, `{function}` and `{instance}` filled in, made a valid
/// stream name.
pub fn render_stream(pattern: &str, at: SystemTime, function: &str) -> String {
    let name = pattern
        .replace("{date}", &date(at))
        .replace("{function}", function)
        .replace("{instance}", instance_id());
    cap(&stream_safe(&name), MAX_NAME)
}

/// Where a tenant's name goes: what it may hold, and how the rest is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// A log stream name: anything but `:`, `*` and control characters. `%` escapes.
    Stream,
    /// A log group name: `[.\-_/#A-Za-z0-9]`. `#` escapes.
    Group,
}

impl Charset {
    fn escape(self) -> char {
        match self {
            Charset::Stream => '%',
            Charset::Group => '#',
        }
    }

    /// Whether `c` is kept as it is (the escape character itself never is).
    fn keeps(self, c: char) -> bool {
        match self {
            Charset::Stream => !(c == ':' || c == '*' || c == '%' || c.is_control()),
            Charset::Group => c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'),
        }
    }
}

/// The destination of lines whose tenant came after [`max_tenant_destinations`] others
/// (`<stream>/other` or `<group>/other`).
///
/// [`max_tenant_destinations`]: super::CloudWatchLogsBuilder::max_tenant_destinations
pub const OTHER_TENANT_DESTINATION: &str = "other";
/// The destination of lines whose tenant is the empty string, which no name can hold
/// (`<stream>/invalid` or `<group>/invalid`).
pub const INVALID_TENANT_DESTINATION: &str = "invalid";

/// Hex digits of the SHA-256 of the tenant kept in a cut name: 96 bits, so two tenants meeting
/// on one name takes about 2^48 tries even when their names are chosen to.
const HASH_HEX: usize = 24;
/// What a cut name ends with: the escape character, `-`, and [`HASH_HEX`] digits.
const HASH_SUFFIX: usize = 2 + HASH_HEX;

/// A tenant value as a name, one tenant to one name: each UTF-8 byte of a character the name
/// may not hold, and of the escape character, is written as the escape character and two
/// upper-case hex digits (`a:b` → `a%3Ab` in a stream, `a#3Ab` in a group), and so is the first
/// character of a tenant named `other` or `invalid`, so none lands on those destinations. A
/// name longer than [`MAX_TENANT_LEN`] bytes is cut on a character and escape boundary and ends
/// with the escape character, `-` and 24 hex digits of the tenant's SHA-256: an escape is never
/// followed by `-`, so a cut name is never an uncut one. `None` for the empty tenant.
pub fn tenant_name(tenant: &str, charset: Charset) -> Option<String> {
    if tenant.is_empty() {
        return None;
    }
    let reserved = tenant == OTHER_TENANT_DESTINATION || tenant == INVALID_TENANT_DESTINATION;
    let escape = charset.escape();
    let mut name = String::with_capacity(tenant.len());
    // The longest prefix that leaves room for the hash, should the name need cutting.
    let mut cut = None;
    for (i, c) in tenant.char_indices() {
        let before = name.len();
        if charset.keeps(c) && !(reserved && i == 0) {
            name.push(c);
        } else {
            let mut utf8 = [0; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                name.push(escape);
                name.push(char::from(HEX[usize::from(b >> 4)]));
                name.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        if cut.is_none() && name.len() > MAX_TENANT_LEN - HASH_SUFFIX {
            cut = Some(before);
        }
    }
    if name.len() > MAX_TENANT_LEN {
        name.truncate(cut.unwrap_or(0));
        name.push(escape);
        name.push('-');
        let digest = Sha256::digest(tenant.as_bytes());
        for b in digest.iter().take(HASH_HEX / 2) {
            name.push(char::from(HEX[usize::from(b >> 4)]));
            name.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    Some(name)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn stream_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == ':' || c == '*' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `s` cut to at most `max` bytes, on a character boundary; an empty value becomes `_` (names
/// may not be empty).
fn cap(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        "_".to_owned()
    } else {
        s[..end].to_owned()
    }
}

/// How a tenant was routed by [`TenantDestinations::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// To its own destination.
    Own,
    /// Past the cap: to [`OTHER_TENANT_DESTINATION`].
    Folded,
    /// The empty tenant: to [`INVALID_TENANT_DESTINATION`].
    Invalid,
}

/// The tenants given a destination of their own so far, at most `max`: each new group or
/// stream is a CloudWatch resource made on the caller's account, so a function seeing
/// unbounded tenants must not make unbounded ones. Only flushes use it, one at a time.
#[derive(Debug)]
pub struct TenantDestinations {
    max: usize,
    charset: Charset,
    names: HashMap<String, Arc<str>>,
    other: Arc<str>,
    invalid: Arc<str>,
}

impl TenantDestinations {
    pub fn new(max: usize, charset: Charset) -> Self {
        TenantDestinations {
            max,
            charset,
            names: HashMap::new(),
            other: Arc::from(OTHER_TENANT_DESTINATION),
            invalid: Arc::from(INVALID_TENANT_DESTINATION),
        }
    }

    /// How many tenants have a destination of their own.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The name `tenant`'s lines go under, and how it was chosen.
    pub fn resolve(&mut self, tenant: &str) -> (Arc<str>, Routed) {
        if let Some(name) = self.names.get(tenant) {
            return (name.clone(), Routed::Own);
        }
        let Some(name) = tenant_name(tenant, self.charset) else {
            return (self.invalid.clone(), Routed::Invalid);
        };
        if self.names.len() >= self.max {
            return (self.other.clone(), Routed::Folded);
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(tenant.to_owned(), name.clone());
        (name, Routed::Own)
    }
}

/// A name joined to a suffix (`<base>/<tenant>`), kept within the service's length limit by
/// cutting the base.
pub fn join(base: &str, suffix: &str) -> String {
    let room = MAX_NAME.saturating_sub(suffix.len() + 1);
    format!("{}/{suffix}", cap(base, room))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_year_month_day() {
        assert_eq!(date(UNIX_EPOCH), "1970/01/01");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(
            date(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "2024/02/29"
        );
        assert_eq!(
            date(UNIX_EPOCH + Duration::from_secs(1_709_251_200)),
            "2024/03/01"
        );
    }

    #[test]
    fn the_stream_pattern_is_filled_in() {
        let at = UNIX_EPOCH + Duration::from_secs(1_709_251_200);
        let s = render_stream(DEFAULT_STREAM_PATTERN, at, "orders");
        assert_eq!(s, format!("2024/03/01/orders/{}", instance_id()));
        assert_eq!(instance_id().len(), 16);
        assert!(instance_id().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(render_stream("a:{function}*", at, "f"), "a_f_");
    }

    fn stream(t: &str) -> String {
        tenant_name(t, Charset::Stream).unwrap_or_default()
    }

    fn group(t: &str) -> String {
        tenant_name(t, Charset::Group).unwrap_or_default()
    }

    #[test]
    fn tenants_are_escaped_not_replaced() {
        assert_eq!(stream("acme"), "acme");
        assert_eq!(stream("a:b"), "a%3Ab");
        assert_eq!(stream("a*b"), "a%2Ab");
        assert_eq!(stream("a_b"), "a_b");
        assert_eq!(stream("a%3Ab"), "a%253Ab");
        assert_eq!(stream("tab\there ä"), "tab%09here ä");
        assert_eq!(group("acme corp:eu/1#ä"), "acme#20corp#3Aeu/1#23#C3#A4");
        assert_eq!(group("a_b"), "a_b");
        assert_eq!(tenant_name("", Charset::Stream), None);
    }

    #[test]
    fn tenants_named_like_the_guard_destinations_are_not_them() {
        assert_eq!(stream("other"), "%6Fther");
        assert_eq!(stream("invalid"), "%69nvalid");
        assert_eq!(group("other"), "#6Fther");
        assert_eq!(stream("%6Fther"), "%256Fther");
        assert_eq!(stream("others"), "others");
    }

    #[test]
    fn long_tenants_are_cut_with_a_hash_of_the_whole() {
        let a = format!("{}a", "t".repeat(200));
        let b = format!("{}b", "t".repeat(200));
        let (na, nb) = (stream(&a), stream(&b));
        assert_ne!(na, nb);
        assert_eq!((na.len(), nb.len()), (128, 128));
        assert_eq!(&na[..102], "t".repeat(102));
        assert_eq!(&na[102..104], "%-");
        assert!(na[104..].bytes().all(|b| b.is_ascii_hexdigit()));
        // Exactly the cap is kept whole; one byte more is cut.
        assert_eq!(stream(&"t".repeat(128)), "t".repeat(128));
        assert_eq!(stream(&"t".repeat(129)).len(), 128);
        // A cut never splits an escape or a character.
        let escape = stream(&format!("{}:{}", "t".repeat(101), "t".repeat(50)));
        assert_eq!(escape.len(), 127);
        assert_eq!(&escape[..103], format!("{}%-", "t".repeat(101)));
        let chars = stream(&"ä".repeat(100));
        assert_eq!(chars.len(), 128);
        assert_eq!(&chars[..104], format!("{}%-", "ä".repeat(51)));
        let escapes = group(&"ä".repeat(100));
        assert_eq!(escapes.len(), 128);
        assert_eq!(&escapes[..104], format!("{}#-", "#C3#A4".repeat(17)));
        assert_eq!(join(&"g".repeat(600), "t").len(), 512);
    }

    #[test]
    fn destinations_are_capped_with_other_and_invalid_apart() {
        let mut d = TenantDestinations::new(2, Charset::Stream);
        assert_eq!(d.resolve("a:b"), (Arc::from("a%3Ab"), Routed::Own));
        assert_eq!(d.resolve("other"), (Arc::from("%6Fther"), Routed::Own));
        assert_eq!(d.resolve("a:b"), (Arc::from("a%3Ab"), Routed::Own));
        assert_eq!(d.resolve("a_b"), (Arc::from("other"), Routed::Folded));
        // The empty tenant takes no place under the cap.
        assert_eq!(d.resolve(""), (Arc::from("invalid"), Routed::Invalid));
        assert_eq!(d.len(), 2);
    }
}
