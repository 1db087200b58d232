//! [`ClaimNames`]: which claims of a token carry the tenant and the roles, and how a flattened
//! list claim is read.

/// Which claims carry the tenant and the roles (the user id is always `sub`).
///
/// Defaults: tenant `tenant_id`, roles `roles`. Cognito user pools use `custom:tenant_id` (a
/// custom attribute) and `cognito:groups`.
#[derive(Debug, Clone)]
pub struct ClaimNames {
    pub(crate) tenant: Box<str>,
    pub(crate) roles: Box<str>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            tenant: "tenant_id".into(),
            roles: "roles".into(),
        }
    }
}

impl ClaimNames {
    /// The claim holding the tenant id (a string or a number).
    pub fn tenant(mut self, claim: impl Into<String>) -> Self {
        self.tenant = claim.into().into_boxed_str();
        self
    }

    /// The claim holding the roles: an array of strings, or one string of names separated by
    /// commas or spaces (as API Gateway flattens arrays, e.g. `[admin user]`).
    pub fn roles(mut self, claim: impl Into<String>) -> Self {
        self.roles = claim.into().into_boxed_str();
        self
    }
}

/// Split a flattened list: `a,b`, `a b`, or API Gateway's rendering of an array, `[a b]`.
pub(crate) fn split_list(s: &str, out: &mut Vec<String>) {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    out.extend(
        s.split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_reads_every_flattened_form() {
        for input in [
            "admin,user",
            "admin user",
            "[admin user]",
            " [admin, user] ",
        ] {
            let mut out = Vec::new();
            split_list(input, &mut out);
            assert_eq!(out, ["admin", "user"], "{input}");
        }
    }
}
