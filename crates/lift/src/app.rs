//! [`App`]: the builder users configure — routes, event handlers, middleware, state,
//! observability, hooks — and [`App::build`], which freezes it into an
//! [`AppService`](crate::AppService).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Extensions;

use crate::context::Context;
use crate::handler::{endpoint, Handler};
use crate::http::Error;
use crate::middleware::{Endpoint, Middleware, Pipeline};
use crate::observability::Observability;
use crate::routing::{event_pipeline, BatchOptions, EventRoutes, Group, Route, Router};
use crate::wire::{BuildError, EventKind};
use crate::BoxFuture;

/// The default limit on one after-response task.
pub const DEFAULT_AFTER_RESPONSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The request body limit of an app that sets none: 2 MiB.
pub(crate) const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub(crate) type ShutdownHook = Box<dyn FnOnce() -> BoxFuture<()> + Send>;

/// The frozen parts of a built app.
pub(crate) struct Parts {
    pub(crate) router: Router,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) fallback: Option<Endpoint>,
    pub(crate) state: Arc<Extensions>,
    pub(crate) strip_prefix: Option<String>,
    pub(crate) shutdown: std::sync::Mutex<Vec<ShutdownHook>>,
    pub(crate) observability: Observability,
    pub(crate) events: EventRoutes,
    pub(crate) after_response_limit: Duration,
    /// The request body limit of routes without their own.
    pub(crate) body_limit: usize,
    /// The largest body any route accepts: what the dev server reads at most.
    pub(crate) max_body_limit: usize,
}

/// The application: routes, middleware, shared state and hooks.
///
/// ```no_run
/// use lift::{App, Context};
///
/// async fn hello(ctx: Context) -> String {
///     format!("Hello, {}!", ctx.request().query("name").unwrap_or("World"))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lift::BoxError> {
///     App::new().get("/hello", hello).run().await
/// }
/// ```
#[derive(Default)]
pub struct App {
    routes: Vec<(String, Route)>,
    middleware: Vec<Arc<dyn Middleware>>,
    fallback: Option<Endpoint>,
    state: Extensions,
    strip_prefix: Option<String>,
    shutdown: Vec<ShutdownHook>,
    observability: Option<Observability>,
    events: EventRoutes,
    after_response_limit: Option<std::time::Duration>,
    body_limit: Option<usize>,
    /// The first handler registered twice for the same thing, reported by `build`.
    duplicate: Option<String>,
}

impl App {
    /// An empty app.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add shared application state (clients, configuration), read in handlers with
    /// [`Context::state`]. One value per type.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Add app-wide middleware. It runs for every invocation, outermost first in the order
    /// added, after routing (so [`RequestHandle::route`](crate::RequestHandle::route) is known) and before a 404/405 is produced.
    pub fn middleware(mut self, m: impl Middleware) -> Self {
        self.middleware.push(Arc::new(m));
        self
    }

    /// Add a middleware stack (see [`Stack`](crate::middleware::Stack)) to the app-wide
    /// middleware: `App::new().middleware_stack(Stack::new())` installs the defaults.
    pub fn middleware_stack(self, stack: crate::middleware::Stack) -> Self {
        stack.install(self)
    }

    /// Add a route: a path and its handlers by method.
    pub fn route(mut self, path: &str, route: Route) -> Self {
        self.routes.push((path.to_owned(), route));
        self
    }

    /// Add routes under a shared prefix with their own middleware.
    pub fn group(mut self, prefix: &str, build: impl FnOnce(Group) -> Group) -> Self {
        let group = build(Group::new(prefix));
        for (path, mut route) in group.routes {
            let mut mw = group.middleware.clone();
            mw.append(&mut route.middleware);
            route.middleware = mw;
            self.routes.push((path, route));
        }
        self
    }

    /// Handle requests that match no route (instead of the 404 error).
    pub fn fallback<H: Handler<A>, A>(mut self, handler: H) -> Self {
        self.once(self.fallback.is_some(), || "fallback".to_owned());
        self.fallback = Some(endpoint(handler));
        self
    }

    /// Remove a base path before routing, e.g. `/api` for an API Gateway custom domain whose
    /// base path mapping forwards `/api/users` to a function whose routes start at `/users`.
    pub fn strip_prefix(mut self, prefix: &str) -> Self {
        let p = prefix.trim_end_matches('/');
        self.strip_prefix = (!p.is_empty()).then(|| p.to_owned());
        self
    }

    /// Configure logs, metrics and traces (default: [`Observability::from_env`]).
    pub fn observability(mut self, obs: Observability) -> Self {
        self.observability = Some(obs);
        self
    }

    /// The longest one after-response task may run (default
    /// [`DEFAULT_AFTER_RESPONSE_LIMIT`](crate::DEFAULT_AFTER_RESPONSE_LIMIT), 10 s); a task still
    /// running then is cut off, logged and counted, and the function serves the next
    /// invocation.
    pub fn after_response_limit(mut self, limit: std::time::Duration) -> Self {
        self.after_response_limit = Some(limit);
        self
    }

    /// Run `hook` when the process is asked to stop (SIGTERM in Lambda, Ctrl-C locally),
    /// before the exporters' shutdown flush; hooks and flush share the shutdown bound
    /// ([`Observability::shutdown_timeout`](crate::observability::Observability::shutdown_timeout)).
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown.push(Box::new(move || Box::pin(hook())));
        self
    }

    crate::routing::verbs!(path "");

    /// Handle SQS messages: the handler runs once per message (see
    /// [`SqsMessage`](crate::events::SqsMessage)). A message whose handler fails — an error, a
    /// body that does not decode, a panic under `Recover`, a timeout — fails alone; see
    /// [`batch_options`](Self::batch_options) for how failures are reported.
    pub fn on_sqs<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on_records(EventKind::Sqs, handler)
    }

    /// Handle SNS notifications, once per record (see [`SnsMessage`](crate::events::SnsMessage)).
    /// Any failure fails the invocation, so Lambda retries the delivery.
    pub fn on_sns<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on_records(EventKind::Sns, handler)
    }

    /// Handle S3 notifications, once per record (see [`S3Record`](crate::events::S3Record)).
    /// Any failure fails the invocation, so Lambda retries the delivery.
    pub fn on_s3<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on_records(EventKind::S3, handler)
    }

    /// Handle DynamoDB stream records, in order (see
    /// [`DynamoDbRecord`](crate::events::DynamoDbRecord)).
    pub fn on_dynamodb<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on_records(EventKind::DynamoDb, handler)
    }

    /// Handle Kinesis records, in order (see [`KinesisRecord`](crate::events::KinesisRecord)).
    pub fn on_kinesis<H: Handler<A>, A>(self, handler: H) -> Self {
        self.on_records(EventKind::Kinesis, handler)
    }

    fn on_records<H: Handler<A>, A>(mut self, kind: EventKind, handler: H) -> Self {
        self.once(self.events.records(kind).is_some(), || kind.to_string());
        self.events
            .records
            .push((kind, event_pipeline(endpoint(handler))));
        self
    }

    /// Handle EventBridge events with this `source` and `detail-type` (see
    /// [`EventBridgeEvent`](crate::events::EventBridgeEvent)).
    pub fn on_eventbridge<H: Handler<A>, A>(
        mut self,
        source: &str,
        detail_type: &str,
        handler: H,
    ) -> Self {
        let taken = self
            .events
            .eventbridge
            .iter()
            .any(|(s, d, _)| s == source && d == detail_type);
        self.once(taken, || format!("eventbridge {source}/{detail_type}"));
        self.events.eventbridge.push((
            source.to_owned(),
            detail_type.to_owned(),
            event_pipeline(endpoint(handler)),
        ));
        self
    }

    /// Handle EventBridge events no [`on_eventbridge`](Self::on_eventbridge) handler matches,
    /// and scheduled events (`aws.events`, `aws.scheduler`) no
    /// [`on_schedule`](Self::on_schedule) handler matches (without one they are an invocation
    /// error). A schedule's constant input never reaches it.
    pub fn eventbridge_fallback<H: Handler<A>, A>(mut self, handler: H) -> Self {
        let taken = self.events.eventbridge_fallback.is_some();
        self.once(taken, || "eventbridge fallback".to_owned());
        self.events.eventbridge_fallback = Some(event_pipeline(endpoint(handler)));
        self
    }

    /// Handle the schedule called `name`: an EventBridge scheduled event (`source` `aws.events`
    /// or `aws.scheduler`) of the rule or schedule of that name, or, once the app accepts them
    /// with [`constant_input_schedules`](Self::constant_input_schedules), a constant input
    /// `{"schedule": "<name>"}` (see [`Schedule`](crate::events::Schedule)).
    pub fn on_schedule<H: Handler<A>, A>(mut self, name: &str, handler: H) -> Self {
        let taken = self.events.schedules.iter().any(|(n, _)| n == name);
        self.once(taken, || format!("schedule {name}"));
        self.events
            .schedules
            .push((name.to_owned(), event_pipeline(endpoint(handler))));
        self
    }

    /// Also run schedules named by a constant input `{"schedule": "<name>"}`, the way an
    /// EventBridge Scheduler schedule or a rule with a constant input names itself. Off by
    /// default: such an input carries nothing that only AWS could have sent, so anyone allowed
    /// to invoke the function (a direct `Invoke`, a Step Functions task) could run a schedule's
    /// handler with it. Turn it on when only schedules may invoke the function.
    pub fn constant_input_schedules(mut self) -> Self {
        self.events.constant_input_schedules = true;
        self
    }

    /// Handle a WebSocket route key: `$connect`, `$disconnect`, `$default` (also the handler
    /// for keys without their own) or a custom key (see [`WebSocket`](crate::events::WebSocket)).
    pub fn on_websocket<H: Handler<A>, A>(mut self, route_key: &str, handler: H) -> Self {
        let taken = self.events.websocket.iter().any(|(k, _)| k == route_key);
        self.once(taken, || format!("websocket {route_key}"));
        self.events
            .websocket
            .push((route_key.to_owned(), event_pipeline(endpoint(handler))));
        self
    }

    /// How record batches report failures and run (default: a failure fails the invocation;
    /// one record at a time).
    pub fn batch_options(mut self, options: BatchOptions) -> Self {
        self.events.options = options;
        self
    }

    /// Accept request bodies of up to `bytes` (default 2 MiB) on every route without a limit of
    /// its own ([`Route::body_limit`]). A larger body is a 413 `payload_too_large` with the
    /// JSON error body, answered before any middleware or handler can read it; the dev server
    /// stops reading a body at the largest limit any route accepts.
    ///
    /// ```
    /// use lift::{App, Context};
    ///
    /// async fn ingest(ctx: Context) -> String { format!("{} bytes", ctx.request().body().unwrap().len()) }
    ///
    /// let app = App::new().body_limit(64 * 1024).post("/ingest", ingest);
    /// assert!(app.build().is_ok());
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Remember the first registration of something already registered: one rule for routes
    /// and event handlers alike, reported by [`build`](Self::build).
    fn once(&mut self, taken: bool, what: impl FnOnce() -> String) {
        if taken && self.duplicate.is_none() {
            self.duplicate = Some(format!("{}: two handlers", what()));
        }
    }

    /// Check the routes and freeze the configuration (what [`build`](Self::build) does before
    /// the corridor takes it). A route, a method of a route, an event handler or a fallback
    /// registered twice is an error, never a silent replacement.
    pub(crate) fn freeze(self) -> Result<Parts, BuildError> {
        if let Some(duplicate) = self.duplicate {
            return Err(BuildError::new(duplicate));
        }
        let router = Router::build(self.routes)?;
        let body_limit = self.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
        let max_body_limit = router
            .max_body_limit()
            .map_or(body_limit, |m| m.max(body_limit));
        let observability = self.observability.unwrap_or_else(Observability::from_env);
        // The app chain always ends where routing decides (`Pipeline::run_to`); its own
        // endpoint answers only a chain run without a decision, which the corridor never does.
        let unrouted: Endpoint = Arc::new(|_ctx: Context| {
            Box::pin(std::future::ready(Err(Error::not_found(
                "no route matches this path",
            ))))
        });
        Ok(Parts {
            router,
            pipeline: Pipeline::new(self.middleware, unrouted),
            fallback: self.fallback,
            state: Arc::new(self.state),
            strip_prefix: self.strip_prefix,
            shutdown: std::sync::Mutex::new(self.shutdown),
            observability,
            events: self.events,
            body_limit,
            max_body_limit,
            after_response_limit: self
                .after_response_limit
                .unwrap_or(DEFAULT_AFTER_RESPONSE_LIMIT),
        })
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field(
                "routes",
                &self.routes.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_routes_are_build_errors() {
        async fn h(_: Context) -> &'static str {
            ""
        }
        let err = App::new().get("/a", h).get("/a", h).build().unwrap_err();
        assert_eq!(err.to_string(), "invalid app: /a: two GET handlers");
        let err = App::new()
            .get("/a/{x}", h)
            .get("/a/{y}", h)
            .build()
            .unwrap_err();
        assert!(err.to_string().starts_with("invalid app: /a/{y}:"), "{err}");
    }

    #[test]
    fn event_handlers_registered_twice_are_build_errors() {
        async fn h(_: Context) {}
        let cases: Vec<(App, &str)> = vec![
            (App::new().on_sqs(h).on_sqs(h), "sqs"),
            (
                App::new().on_dynamodb(h).on_kinesis(h).on_kinesis(h),
                "kinesis",
            ),
            (
                App::new()
                    .on_eventbridge("shop", "OrderPlaced", h)
                    .on_eventbridge("shop", "OrderShipped", h)
                    .on_eventbridge("shop", "OrderPlaced", h),
                "eventbridge shop/OrderPlaced",
            ),
            (
                App::new().eventbridge_fallback(h).eventbridge_fallback(h),
                "eventbridge fallback",
            ),
            (
                App::new()
                    .on_schedule("nightly", h)
                    .on_schedule("nightly", h),
                "schedule nightly",
            ),
            (
                App::new()
                    .on_websocket("$connect", h)
                    .on_websocket("$connect", h),
                "websocket $connect",
            ),
            (App::new().fallback(h).fallback(h), "fallback"),
        ];
        for (app, what) in cases {
            let err = app.build().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid app: {what}: two handlers")
            );
        }
        let distinct = App::new()
            .on_sqs(h)
            .on_sns(h)
            .on_schedule("a", h)
            .on_schedule("b", h)
            .on_websocket("$connect", h)
            .on_websocket("$default", h);
        assert!(distinct.build().is_ok());
    }
}
