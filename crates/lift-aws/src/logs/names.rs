//! Log group and stream names: the stream pattern's placeholders, the process's instance id,
//! and tenant values made safe for CloudWatch names.

use std::time::{SystemTime, UNIX_EPOCH};

/// The default stream pattern: `2026/05/14/orders-api/3f2a9c0d1b4e6f70`, the layout Lambda
/// itself uses (date, then something naming the function instance).
pub const DEFAULT_STREAM_PATTERN: &str = "{date}/{function}/{instance}";

/// The longest log group or stream name the service takes, in characters.
const MAX_NAME: usize = 512;
/// The most bytes of a tenant value kept in a name.
pub const MAX_TENANT_LEN: usize = 128;

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

/// A tenant value for a log group name: characters outside `[.\-_/#A-Za-z0-9]` become `_`,
/// and it is cut to [`MAX_TENANT_LEN`].
pub fn tenant_for_group(tenant: &str) -> String {
    let s: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#') {
                c
            } else {
                '_'
            }
        })
        .collect();
    cap(&s, MAX_TENANT_LEN)
}

/// A tenant value for a log stream name: `:`, `*` and control characters become `_`, and it
/// is cut to [`MAX_TENANT_LEN`] bytes.
pub fn tenant_for_stream(tenant: &str) -> String {
    cap(&stream_safe(tenant), MAX_TENANT_LEN)
}

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

    #[test]
    fn tenants_are_made_safe_and_short() {
        assert_eq!(tenant_for_group("acme corp:eu/1#ä"), "acme_corp_eu/1#_");
        assert_eq!(tenant_for_stream("acme corp:eu*ä"), "acme corp_eu_ä");
        assert_eq!(tenant_for_group(&"t".repeat(300)).len(), MAX_TENANT_LEN);
        assert_eq!(tenant_for_stream(""), "_");
        // A cut never splits a character.
        let long = "ä".repeat(100);
        assert_eq!(tenant_for_stream(&long).len(), 128);
        assert_eq!(join(&"g".repeat(600), "t").len(), 512);
    }
}
