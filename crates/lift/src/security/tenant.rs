//! Tenant isolation: storage keys that cannot leave their tenant, and Lambda's tenant isolation
//! mode checked against the token.

use std::fmt;

use crate::context::Context;
use crate::http::Error;

use crate::context::Principal;

/// The separator of [`TenantScope::key`] parts (DynamoDB single-table style).
pub const KEY_SEPARATOR: char = '#';

/// One tenant's corner of shared storage: every key and prefix it makes starts with the tenant,
/// so code that builds its keys through it cannot read or write another tenant's items.
///
/// ```
/// use lift::security::TenantScope;
///
/// let scope = TenantScope::new("acme")?;
/// assert_eq!(scope.key(["order", "o-1"]), "tenant#acme#order#o-1");
/// assert_eq!(scope.prefix(), "tenant#acme#");
/// assert_eq!(scope.path("invoices/2026.pdf"), "tenants/acme/invoices/2026.pdf");
/// assert!(scope.owns("tenant#acme#order#o-1"));
/// assert!(!scope.owns("tenant#acme-evil#order#o-1"));
/// # Ok::<(), lift::security::TenantScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant: String,
    prefix: String,
}

/// A tenant id that cannot scope storage keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScopeError(&'static str);

impl fmt::Display for TenantScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for TenantScopeError {}

/// The longest tenant id a scope accepts.
pub const MAX_TENANT_LEN: usize = 128;

impl TenantScope {
    /// The scope of `tenant`: 1 to 128 visible ASCII characters, none of them `#`, `/`, `\`,
    /// and not `.` or `..`, so the tenant can end neither a key part nor a path segment early.
    pub fn new(tenant: impl Into<String>) -> Result<Self, TenantScopeError> {
        let tenant = tenant.into();
        if tenant.is_empty() || tenant.len() > MAX_TENANT_LEN {
            return Err(TenantScopeError("a tenant id has 1 to 128 characters"));
        }
        if tenant == "." || tenant == ".." {
            return Err(TenantScopeError("a tenant id is not a path step"));
        }
        if !tenant
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'/' | b'\\'))
        {
            return Err(TenantScopeError(
                "a tenant id is visible ASCII without '#', '/' or '\\'",
            ));
        }
        let prefix = format!("tenant{KEY_SEPARATOR}{tenant}{KEY_SEPARATOR}");
        Ok(TenantScope { tenant, prefix })
    }

    /// The scope of this request's or record's tenant
    /// ([`Identity::tenant`](crate::context::Identity::tenant)): 403 when the tenant is unknown
    /// or unusable, so a handler that needs a tenant cannot run without one.
    pub fn of(ctx: &Context) -> Result<Self, Error> {
        let tenant = ctx
            .identity()
            .tenant()
            .ok_or_else(|| Error::forbidden("no tenant for this request"))?;
        Self::new(&*tenant).map_err(|e| Error::forbidden("invalid tenant").with_source(e))
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// `tenant#<tenant>#`: the prefix of every key of this tenant (a DynamoDB sort or
    /// partition key prefix, a cache key namespace).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `tenant#<tenant>#part1#part2...`.
    pub fn key<'p>(&self, parts: impl IntoIterator<Item = &'p str>) -> String {
        let mut key = self.prefix.clone();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                key.push(KEY_SEPARATOR);
            }
            key.push_str(part);
        }
        key
    }

    /// `tenants/<tenant>/<path>`: an object key (S3) under the tenant's folder. Leading `/` and
    /// `.`/`..` segments of `path` are dropped, so it cannot climb out.
    pub fn path(&self, path: &str) -> String {
        let mut out = format!("tenants/{}/", self.tenant);
        let mut first = true;
        for seg in path.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                continue;
            }
            if !first {
                out.push('/');
            }
            out.push_str(seg);
            first = false;
        }
        out
    }

    /// Whether `key` (made by [`key`](Self::key) or [`prefix`](Self::prefix)) or an object key
    /// (made by [`path`](Self::path)) belongs to this tenant.
    pub fn owns(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
            || key
                .strip_prefix("tenants/")
                .and_then(|k| k.strip_prefix(self.tenant.as_str()))
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// What to do when the invocation carries a Lambda tenant ([`LambdaContext::tenant_id`], set
/// by the caller of Invoke in Lambda's tenant isolation mode) that differs from the token's.
///
/// The Lambda tenant is not authenticated (whoever may invoke the function chooses it), so it
/// never replaces the token's tenant: it can only refuse a request.
///
/// [`LambdaContext::tenant_id`]: crate::LambdaContext::tenant_id
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LambdaTenant {
    /// Refuse with 403 when the tenants differ, or the token has none (the default).
    #[default]
    MustMatch,
    /// Ignore the Lambda tenant.
    Ignore,
}

impl LambdaTenant {
    /// Check `principal` against the invocation's Lambda tenant: the 403 of
    /// [`forbidden`](super::forbidden) (and a WARN line) when they differ. Call it in an
    /// authentication middleware of your own before [`Context::set_principal`].
    pub fn check(self, ctx: &Context, principal: &Principal) -> Result<(), Error> {
        if self == LambdaTenant::Ignore {
            return Ok(());
        }
        match ctx.lambda().tenant_id.as_deref() {
            Some(lambda) if principal.tenant_id() != Some(lambda) => {
                ctx.logger().warn(
                    "request refused: the token's tenant is not the invocation's Lambda tenant",
                    &[],
                );
                Err(super::forbidden())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_tenants_that_could_escape() {
        for bad in [
            "",
            ".",
            "..",
            "a#b",
            "a/b",
            "a\\b",
            "a b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(TenantScope::new(bad).is_err(), "{bad:?}");
        }
        assert!(TenantScope::new("acme-01_x.y:z@q").is_ok());
    }

    #[test]
    fn paths_cannot_climb_out() {
        let s = TenantScope::new("acme").expect("valid");
        assert_eq!(s.path("/../beta/./x//y"), "tenants/acme/beta/x/y");
        assert!(s.owns("tenants/acme/x"));
        assert!(!s.owns("tenants/acmex/x"));
        assert!(!s.owns("tenants/acme"));
        assert_eq!(s.key([]), "tenant#acme#");
    }
}
