//! EventBridge events as a rule delivers them: custom events and the scheduled events of
//! schedule rules.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::defaults;

/// An EventBridge event with a `source`, a `detail-type` and a JSON `detail`.
///
/// Defaults: `version` `0`, `id` `00000000-0000-4000-8000-000000000001`, `time`
/// `2024-05-01T12:00:00Z`, region `us-east-1`, account `123456789012`, no resources, `detail`
/// `{}`.
#[derive(Debug, Clone)]
pub struct TestEventBridge {
    source: String,
    detail_type: String,
    detail: Value,
    id: String,
    time: String,
    region: String,
    account: String,
    resources: Vec<String>,
    version: bool,
}

impl TestEventBridge {
    /// An event from `source` of `detail_type`, as matched by
    /// [`App::on_eventbridge`](crate::App::on_eventbridge).
    pub fn new(source: &str, detail_type: &str) -> Self {
        TestEventBridge {
            source: source.to_owned(),
            detail_type: detail_type.to_owned(),
            detail: Value::Object(Map::new()),
            id: defaults::uuid(1),
            time: defaults::TIME.to_owned(),
            region: defaults::REGION.to_owned(),
            account: defaults::ACCOUNT.to_owned(),
            resources: Vec::new(),
            version: true,
        }
    }

    /// `detail`: `value` as JSON.
    pub fn detail<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.detail = defaults::to_json(value);
        self
    }

    /// `id`.
    pub fn id(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self
    }

    /// `time` (RFC 3339, to the second as EventBridge writes it).
    pub fn time(mut self, time: &str) -> Self {
        self.time = time.to_owned();
        self
    }

    /// `region`.
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// `account`.
    pub fn account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    /// Add an ARN to `resources`.
    pub fn resource(mut self, arn: &str) -> Self {
        self.resources.push(arn.to_owned());
        self
    }

    /// Leave out `version`, which EventBridge always sends (`"0"`) but some generated samples
    /// do not have.
    pub fn without_version(mut self) -> Self {
        self.version = false;
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let mut event = Map::new();
        if self.version {
            event.insert("version".into(), json!("0"));
        }
        event.insert("id".into(), json!(self.id));
        event.insert("detail-type".into(), json!(self.detail_type));
        event.insert("source".into(), json!(self.source));
        event.insert("account".into(), json!(self.account));
        event.insert("time".into(), json!(self.time));
        event.insert("region".into(), json!(self.region));
        event.insert("resources".into(), json!(self.resources));
        event.insert("detail".into(), self.detail.clone());
        defaults::bytes(Value::Object(event))
    }
}

/// A scheduled invocation of the schedule [`App::on_schedule`](crate::App::on_schedule)
/// names.
///
/// [`event`](Self::event) is what an EventBridge schedule rule (`rate(...)` or `cron(...)`)
/// sends: `source` `aws.events`, `detail-type` `Scheduled Event`, the rule's ARN
/// (`arn:aws:events:<region>:<account>:rule/<name>`) in `resources`, `detail` `{}`.
/// [`constant_input`](Self::constant_input) is what a rule or an EventBridge Scheduler
/// schedule with a constant input `{"schedule": "<name>"}` sends. Defaults as for
/// [`TestEventBridge`].
#[derive(Debug, Clone)]
pub struct TestSchedule {
    name: String,
    event: TestEventBridge,
}

impl TestSchedule {
    /// The schedule (rule) called `name` firing.
    pub fn new(name: &str) -> Self {
        TestSchedule {
            name: name.to_owned(),
            event: TestEventBridge::new("aws.events", "Scheduled Event"),
        }
    }

    /// `id`.
    pub fn id(mut self, id: &str) -> Self {
        self.event = self.event.id(id);
        self
    }

    /// `time`: when it fired (RFC 3339, to the second).
    pub fn time(mut self, time: &str) -> Self {
        self.event = self.event.time(time);
        self
    }

    /// The rule's region.
    pub fn region(mut self, region: &str) -> Self {
        self.event = self.event.region(region);
        self
    }

    /// The rule's account.
    pub fn account(mut self, account: &str) -> Self {
        self.event = self.event.account(account);
        self
    }

    /// Leave out `version` (see [`TestEventBridge::without_version`]).
    pub fn without_version(mut self) -> Self {
        self.event = self.event.without_version();
        self
    }

    /// The scheduled event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let rule = format!(
            "arn:aws:events:{}:{}:rule/{}",
            self.event.region, self.event.account, self.name
        );
        self.event.clone().resource(&rule).event()
    }

    /// The constant input `{"schedule": "<name>"}`'s JSON bytes.
    pub fn constant_input(&self) -> Vec<u8> {
        defaults::bytes(json!({ "schedule": self.name }))
    }
}
