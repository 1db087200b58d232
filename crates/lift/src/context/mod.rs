//! [`Context`]: everything one invocation knows, handed from middleware to handler by value.
//!
//! A context is a few views, each cheap to clone and safe to move into spawned work:
//!
//! | view | read with | what it is |
//! |---|---|---|
//! | the HTTP request | [`request`](RequestHandle::request), [`route`](RequestHandle::route), [`path`](RequestHandle::path) | method, headers, query, cookies, body; the matched template and parameters |
//! | the record | [`record`](RequestHandle::record) | a batch record's position and id |
//! | the Lambda invocation | [`lambda`](RequestHandle::lambda) | request id, deadline, ARN, trace header, tenant |
//! | the identity | [`identity`](RequestHandle::identity) | tenant, user, principal, correlation id |
//! | the telemetry | [`logger`](RequestHandle::logger), [`metrics`](RequestHandle::metrics), [`tracer`](RequestHandle::tracer) | handles that carry the identity |
//! | extensions and state | [`extensions`](Context::extensions), [`state`](Context::state) | typed values set by middleware; the app's shared state |
//!
//! The read-only views live on [`RequestHandle`], which a `Context` dereferences to (and which
//! [`Context::handle`] clones). What a step may change goes through the `Context` alone, by one
//! convention: a `set_*` method on `&Context` that says whether it took effect (so a value read
//! from the request can be passed straight in: `ctx.set_tenant(ctx.request().header("x-tenant")?)`).
//! Typed values of the step's own go in [`extensions_mut`](Context::extensions_mut).
//!
//! Per-invocation state lives here and nowhere else (no globals, thread-locals or environment
//! variables), so concurrent invocations in one process never see each other's data.

mod handle;
mod identity;
mod principal;
mod record;
mod route;
pub(crate) mod scope;

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use http::Extensions;

pub use handle::RequestHandle;
pub use identity::{Identity, TenantSource};
pub use principal::{Principal, PrincipalBuilder, PrincipalSource, RawClaims};
pub use record::Record;
pub use route::RouteMatch;

use crate::observability::{Frame, IdSource};
use scope::Scope;

struct ContextInner {
    handle: RequestHandle,
    state: Arc<Extensions>,
    extensions: Extensions,
}

/// One invocation's state: the request or record, the Lambda context, the identity, the
/// telemetry handles, shared application state and typed values set by middleware. See the
/// [module docs](self) for its views.
///
/// A `Context` is passed by value: middleware receives it, may change it through its `set_*`
/// methods and [`extensions_mut`](Self::extensions_mut), and hands it on with `next.run(ctx)`;
/// the handler gets it last. Clones of its views ([`handle`](Self::handle),
/// [`identity`](RequestHandle::identity), the telemetry handles) see what the `set_*` methods
/// change.
pub struct Context {
    inner: Box<ContextInner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.handle.fmt(f)
    }
}

impl Deref for Context {
    type Target = RequestHandle;

    fn deref(&self) -> &RequestHandle {
        &self.inner.handle
    }
}

impl Context {
    pub(crate) fn new(
        scope: Arc<Scope>,
        frame: Frame,
        state: Arc<Extensions>,
        route: RouteMatch,
        record: Option<Record>,
    ) -> Self {
        Context {
            inner: Box::new(ContextInner {
                handle: RequestHandle {
                    scope,
                    frame,
                    route,
                    record,
                },
                state,
                extensions: Extensions::new(),
            }),
        }
    }

    pub(crate) fn scope(&self) -> &Arc<Scope> {
        &self.inner.handle.scope
    }

    pub(crate) fn frame(&self) -> &Frame {
        &self.inner.handle.frame
    }

    /// A handle on this request's read-only views that outlives `next.run(ctx)`: what built-in
    /// middleware such as the access log reads once the handler has answered.
    pub fn handle(&self) -> RequestHandle {
        self.inner.handle.clone()
    }

    /// Shared application state given to [`App::state`](crate::App::state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.state.get::<T>()
    }

    /// Typed per-invocation values set by middleware.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// Typed per-invocation values, to set (`insert`), change or remove.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.inner.extensions
    }

    /// Replace the request id for this invocation, once: `false` (and no change) when it was
    /// already set.
    pub fn set_request_id(&self, id: impl Into<String>) -> bool {
        self.scope().telemetry().set_request_id(id.into())
    }

    /// Set the tenant of this request, or of this record of a batch (never of another), unless
    /// a principal's or Lambda's tenant takes precedence (see [`Identity`]): whether it did. The
    /// tenant goes on its log lines (`tenant_id`), its spans, and, validated and through the
    /// cardinality guard, becomes the `tenant` dimension of its metrics.
    pub fn set_tenant(&self, tenant: impl AsRef<str>) -> bool {
        self.frame().set_tenant(tenant.as_ref(), IdSource::App)
    }

    /// Set the user of this request or record, unless a principal's user takes precedence:
    /// whether it did. It goes on its log lines (`user_id`).
    pub fn set_user(&self, user: impl AsRef<str>) -> bool {
        self.frame().set_user(user.as_ref(), IdSource::App)
    }

    /// Set the authenticated caller: it becomes the identity (its user and tenant go on every
    /// log line, metric and span, ahead of any the app or Lambda set), and
    /// [`Identity::principal`] returns it. Always takes effect: `true`.
    pub fn set_principal(&self, principal: Principal) -> bool {
        let frame = self.frame();
        if let Some(user) = principal.user_id() {
            frame.set_user(user, IdSource::Principal);
        }
        if let Some(tenant) = principal.tenant_id() {
            frame.set_tenant(tenant, IdSource::Principal);
        }
        frame.set_principal(Arc::new(principal));
        true
    }

    /// Run `work` after the response has been sent (in Lambda: after the runtime has posted
    /// it), so it never delays the client. Telemetry flushes go here.
    pub fn after_response(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.scope().push_after_response(Box::pin(work));
    }
}
