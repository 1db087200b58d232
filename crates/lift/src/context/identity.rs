//! [`Identity`]: who a request or a record is for — its tenant, its user, its authenticated
//! principal and its correlation id — read live from its telemetry frame, so that what the
//! handler sees is what its log lines, metrics and spans carry.
//!
//! There is one tenant, with one precedence: the principal's (a verified token, API Gateway's
//! authorizer, the app's own authentication), else the invocation's in Lambda's tenant isolation
//! mode, else the one the app set with [`Context::set_tenant`](super::Context::set_tenant). The
//! user is the principal's, else the app's.

use std::sync::Arc;

use super::principal::Principal;
use crate::observability::{Frame, IdSource};

/// Where an identity's tenant came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// The authenticated [`Principal`]'s tenant claim.
    Principal,
    /// Lambda's tenant isolation mode: the invocation's tenant id.
    Lambda,
    /// The app, through [`Context::set_tenant`](super::Context::set_tenant).
    App,
}

/// The identity of one request or one record of a batch. Cheap to clone, and safe to move into
/// spawned work: it reads the frame's ids as they are when asked.
#[derive(Clone)]
pub struct Identity {
    frame: Frame,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("tenant", &self.tenant())
            .field("tenant_source", &self.tenant_source())
            .field("user", &self.user())
            .finish_non_exhaustive()
    }
}

impl Identity {
    pub(crate) fn new(frame: Frame) -> Self {
        Identity { frame }
    }

    /// The tenant: the principal's, else Lambda's tenant isolation mode's, else the app's.
    pub fn tenant(&self) -> Option<Arc<str>> {
        self.frame.with_ids(|ids| ids.tenant.clone())
    }

    /// Where [`tenant`](Self::tenant) came from.
    pub fn tenant_source(&self) -> Option<TenantSource> {
        self.frame.with_ids(|ids| ids.tenant_from).map(|s| match s {
            IdSource::Principal => TenantSource::Principal,
            IdSource::Lambda => TenantSource::Lambda,
            IdSource::App => TenantSource::App,
        })
    }

    /// The user: the principal's, else the one the app set.
    pub fn user(&self) -> Option<Arc<str>> {
        self.frame.with_ids(|ids| ids.user.clone())
    }

    /// The authenticated caller, once an authentication middleware or extractor has set one
    /// ([`JwtAuth`](crate::security::JwtAuth), [`AuthorizerClaims`](crate::security::AuthorizerClaims),
    /// or the app's own through [`Context::set_principal`](super::Context::set_principal)).
    pub fn principal(&self) -> Option<Arc<Principal>> {
        self.frame.principal()?.downcast::<Principal>().ok()
    }

    /// The correlation id, from the header configured with
    /// [`Observability::correlation_header`](crate::observability::Observability::correlation_header).
    pub fn correlation_id(&self) -> Option<Arc<str>> {
        self.frame.with_ids(|ids| ids.correlation.clone())
    }
}
