//! EventBridge events, matched by `source` and `detail-type`, and scheduled events, told apart
//! by name.
//!
//! A schedule's name is the rule's name (the last part of the rule ARN in `resources`, for an
//! EventBridge rule `rate(...)`/`cron(...)` target) or the `schedule` key of a constant input
//! (`{"schedule": "nightly-report"}`), which is how an EventBridge Scheduler schedule or a rule
//! with a constant input names itself.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{Envelope, EventKind, Parsed};
use crate::extract::FromContext;
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Debug)]
pub(crate) struct Event<'a> {
    pub kind: EventKind,
    pub id: Option<Str<'a>>,
    pub source: Option<Str<'a>>,
    pub detail_type: Option<Str<'a>>,
    pub time: Option<Str<'a>>,
    pub region: Option<Str<'a>>,
    pub account: Option<Str<'a>>,
    pub resources: Vec<Str<'a>>,
    pub detail: Option<&'a RawValue>,
    pub schedule: Option<Str<'a>>,
}

pub(crate) fn event(env: Envelope<'_>, kind: EventKind) -> Event<'_> {
    Event {
        kind,
        id: env.id,
        source: env.source,
        detail_type: env.detail_type,
        time: env.time,
        region: env.region,
        account: env.account,
        resources: env.resources.unwrap_or_default(),
        detail: env.detail,
        schedule: env.schedule,
    }
}

impl Event<'_> {
    /// Whether the event says it comes from EventBridge or EventBridge Scheduler.
    pub(crate) fn sent_by_aws(&self) -> bool {
        matches!(self.source.as_deref(), Some("aws.events" | "aws.scheduler"))
    }

    /// The schedule's name: the constant input's `schedule`, else the rule (or Scheduler
    /// schedule) named by the first resource ARN.
    pub(crate) fn schedule_name(&self) -> Option<&str> {
        if let Some(s) = &self.schedule {
            return Some(s);
        }
        let arn = self.resources.first()?;
        let (_, name) = arn.rsplit_once('/')?;
        Some(name)
    }
}

fn opt(s: &Option<Str<'_>>) -> String {
    s.as_ref().map(Str::to_string_owned).unwrap_or_default()
}

/// An EventBridge event, its `detail` decoded as `T` (JSON).
///
/// ```
/// use lift::events::EventBridgeEvent;
/// use lift::prelude::*;
///
/// async fn ping(ctx: Context, ev: EventBridgeEvent<serde_json::Value>) -> Result<(), Error> {
///     ctx.logger().info("ping", &[("detail", (&ev.detail).into())]);
///     Ok(())
/// }
/// let app = App::new().on_eventbridge("lift.example", "Ping", ping);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct EventBridgeEvent<T = serde_json::Value> {
    /// `id`.
    pub id: String,
    /// `source`.
    pub source: String,
    /// `detail-type`.
    pub detail_type: String,
    /// `time` (RFC 3339).
    pub time: String,
    /// `region`.
    pub region: String,
    /// `account`.
    pub account: String,
    /// `resources`.
    pub resources: Vec<String>,
    /// The decoded `detail`.
    pub detail: T,
}

fn bridge_event<'c>(ctx: &'c Context) -> Result<&'c Event<'c>, Error> {
    match super::parsed(ctx) {
        Parsed::EventBridge(e) => Ok(e),
        _ => Err(Error::bad_request("not an EventBridge event")),
    }
}

impl<T: DeserializeOwned + Send + 'static> FromContext for EventBridgeEvent<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let e = bridge_event(ctx)?;
        let detail = super::decode_json(e.detail.map_or("null", RawValue::get), "detail")?;
        Ok(EventBridgeEvent {
            id: opt(&e.id),
            source: opt(&e.source),
            detail_type: opt(&e.detail_type),
            time: opt(&e.time),
            region: opt(&e.region),
            account: opt(&e.account),
            resources: e.resources.iter().map(Str::to_string_owned).collect(),
            detail,
        })
    }
}

/// A scheduled invocation: which schedule fired, and when.
///
/// ```
/// use lift::events::Schedule;
/// use lift::prelude::*;
///
/// async fn nightly(ctx: Context, s: Schedule) -> Result<(), Error> {
///     ctx.logger().info("report", &[("schedule", s.name.as_str().into())]);
///     Ok(())
/// }
/// let app = App::new().on_schedule("nightly-report", nightly);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The schedule's name (rule name, or the constant input's `schedule`).
    pub name: String,
    /// When it fired, for EventBridge scheduled events.
    pub time: Option<String>,
    /// The event id, for EventBridge scheduled events.
    pub id: Option<String>,
}

impl FromContext for Schedule {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let e = bridge_event(ctx)?;
        Ok(Schedule {
            name: e
                .schedule_name()
                .ok_or_else(|| Error::bad_request("the scheduled event names no schedule"))?
                .to_owned(),
            time: e.time.as_ref().map(Str::to_string_owned),
            id: e.id.as_ref().map(Str::to_string_owned),
        })
    }
}
