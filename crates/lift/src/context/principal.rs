//! [`Principal`]: who made the request, as a verified token, API Gateway's authorizer or the
//! app's own authentication says. It lives with the context, below the security building
//! blocks that make one, so that every source of identity feeds the one identity model.

use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;

use crate::wire::json::Str;

/// The authenticated caller of one request.
///
/// Set by [`JwtAuth`](crate::security::JwtAuth) or [`AuthorizerClaims`](crate::security::AuthorizerClaims) and read
/// with [`Identity::principal`](crate::context::Identity::principal) or taken as an extractor.
/// Its user and tenant are also the Context's [identity](crate::context::Identity), so every log
/// line, metric and span of the request carries them.
#[derive(Clone)]
pub struct Principal {
    pub(crate) user_id: Option<String>,
    pub(crate) tenant_id: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) email: Option<String>,
    pub(crate) issuer: Option<Arc<str>>,
    pub(crate) claims: RawClaims,
    pub(crate) source: PrincipalSource,
}

/// Who vouched for a [`Principal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalSource {
    /// A JWT that Lift verified ([`JwtAuth`](crate::security::JwtAuth)).
    Jwt,
    /// API Gateway's authorizer, which verified the caller before the invocation
    /// ([`AuthorizerClaims`](crate::security::AuthorizerClaims)).
    Authorizer,
    /// The app's own authentication (an API key, a session, mTLS), through
    /// [`Principal::builder`].
    App,
}

impl fmt::Debug for Principal {
    /// The identity only: the raw claims may hold personal data and stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("user_id", &self.user_id)
            .field("tenant_id", &self.tenant_id)
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// The user id: the `sub` claim (or a Lambda authorizer's `principalId`).
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The tenant id, from the configured tenant claim ([`ClaimNames::tenant`](crate::security::ClaimNames::tenant)).
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The roles, from the configured roles claim ([`ClaimNames::roles`](crate::security::ClaimNames::roles)).
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the principal has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The OAuth scopes: the `scope` claim split on spaces, or the `scp` array.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the principal was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The `email` claim.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Every claim, as the token (or the authorizer) carried them.
    pub fn claims(&self) -> &RawClaims {
        &self.claims
    }

    /// Who vouched for this principal.
    pub fn source(&self) -> PrincipalSource {
        self.source
    }
}

/// Builds a [`Principal`]: how an authentication middleware of the app's own (an API key, a
/// session cookie) puts its caller on the Context, where `require_role`, `require_scope`,
/// `require_tenant_param`, [`LambdaTenant`](crate::security::LambdaTenant) and [`TenantScope`](crate::security::TenantScope)
/// read it as they read a verified token's. Lift's [`JwtAuth`](crate::security::JwtAuth) and
/// [`AuthorizerClaims`](crate::security::AuthorizerClaims) build theirs with it too.
///
/// ```
/// use lift::middleware::{from_fn, Next};
/// use lift::prelude::*;
/// use lift::security::{missing_credentials, require_role, Principal, PrincipalSource};
///
/// let api_key = from_fn(|mut ctx: Context, next: Next| async move {
///     let Some("k-123") = ctx.request().header("x-api-key") else {
///         return Err(missing_credentials());
///     };
///     let principal = Principal::builder(PrincipalSource::App)
///         .user_id("batch-importer")
///         .tenant_id("acme")
///         .roles(["importer"])
///         .build();
///     ctx.set_principal(principal);
///     next.run(ctx).await
/// });
/// let app = App::new()
///     .middleware(api_key)
///     .middleware(require_role("importer"))
///     .post("/imports", |ctx: Context| async move { ctx.identity().tenant().unwrap_or_default() });
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug)]
pub struct PrincipalBuilder {
    principal: Principal,
}

impl Principal {
    /// Start a principal vouched for by `source`: no user, tenant, roles or scopes, and an
    /// empty claims object until set.
    #[inline]
    pub fn builder(source: PrincipalSource) -> PrincipalBuilder {
        PrincipalBuilder {
            principal: Principal {
                user_id: None,
                tenant_id: None,
                roles: Vec::new(),
                scopes: Vec::new(),
                email: None,
                issuer: None,
                claims: RawClaims::empty(),
                source,
            },
        }
    }
}

impl PrincipalBuilder {
    /// The user id.
    #[inline]
    pub fn user_id(mut self, user: impl Into<String>) -> Self {
        self.principal.user_id = Some(user.into());
        self
    }

    /// The tenant id.
    #[inline]
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.principal.tenant_id = Some(tenant.into());
        self
    }

    /// The roles (replacing any set before).
    #[inline]
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.principal.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The OAuth scopes (replacing any set before).
    #[inline]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.principal.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The email address.
    #[inline]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.principal.email = Some(email.into());
        self
    }

    /// Who issued the credentials.
    #[inline]
    pub fn issuer(mut self, issuer: impl Into<Arc<str>>) -> Self {
        self.principal.issuer = Some(issuer.into());
        self
    }

    /// The raw claims, as the text of one JSON object, read on demand with
    /// [`RawClaims::get`].
    #[inline]
    pub fn claims_json(mut self, json: impl Into<String>) -> Self {
        self.principal.claims = RawClaims(Arc::new(json.into()));
        self
    }

    /// The principal.
    #[inline]
    pub fn build(self) -> Principal {
        self.principal
    }
}

/// A principal's raw claims: one JSON object, read on demand.
#[derive(Clone)]
pub struct RawClaims(pub(crate) Arc<String>);

impl fmt::Debug for RawClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawClaims(..)")
    }
}

impl RawClaims {
    /// `{}`, shared: a principal whose claims are set later costs no allocation for it.
    fn empty() -> Self {
        static EMPTY: std::sync::OnceLock<Arc<String>> = std::sync::OnceLock::new();
        RawClaims(EMPTY.get_or_init(|| Arc::new(String::from("{}"))).clone())
    }

    /// The claims object as JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The claim `name` as a `T`; `None` when absent, `null` or not a `T`.
    ///
    /// ```
    /// # use lift::security::Principal;
    /// # fn f(p: &Principal) {
    /// let plan: Option<String> = p.claims().get("custom:plan");
    /// # }
    /// ```
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let mut de = serde_json::Deserializer::from_str(&self.0);
        let raw = FindClaim(name).deserialize(&mut de).ok()??;
        serde_json::from_str(raw.get()).ok()
    }
}

/// Finds one key of a JSON object, borrowing its value.
struct FindClaim<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for FindClaim<'_> {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FindClaim<'_> {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claims object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if found.is_none() && &*key == self.0 {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_get_reads_one_claim() {
        let c = RawClaims(Arc::new(
            r#"{"a":1,"custom:plan":"gold","n":null,"e":"x\"y"}"#.to_owned(),
        ));
        assert_eq!(c.get::<String>("custom:plan").as_deref(), Some("gold"));
        assert_eq!(c.get::<u32>("a"), Some(1));
        assert_eq!(c.get::<String>("e").as_deref(), Some("x\"y"));
        assert_eq!(c.get::<String>("n"), None);
        assert_eq!(c.get::<String>("missing"), None);
        assert_eq!(c.get::<String>("a"), None);
    }
}
