//! SNS notifications as a topic's Lambda subscription delivers them.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::defaults;

/// SNS notifications: `{"Records": [...]}` as a Lambda subscription sends them (SNS sends one
/// record an invocation; more are allowed for tests of the loop).
///
/// Defaults: topic `test-topic` in `us-east-1`, account `123456789012`, the subscription
/// `<topic ARN>:00000000-0000-4000-8000-000000000000`.
#[derive(Debug, Clone)]
pub struct TestSns {
    topic: String,
    region: String,
    account: String,
    subscription_arn: Option<String>,
    messages: Vec<TestSnsMessage>,
}

impl Default for TestSns {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSns {
    /// No notifications yet, on `test-topic`.
    pub fn new() -> Self {
        TestSns {
            topic: "test-topic".to_owned(),
            region: defaults::REGION.to_owned(),
            account: defaults::ACCOUNT.to_owned(),
            subscription_arn: None,
            messages: Vec::new(),
        }
    }

    /// The topic's name.
    pub fn topic(mut self, name: &str) -> Self {
        self.topic = name.to_owned();
        self
    }

    /// The topic's region.
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// The topic's account.
    pub fn account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    /// `EventSubscriptionArn`: the function's subscription to the topic.
    pub fn subscription_arn(mut self, arn: &str) -> Self {
        self.subscription_arn = Some(arn.to_owned());
        self
    }

    /// Add a notification: a message (`.message("hello")`) or a [`TestSnsMessage`].
    pub fn message(mut self, message: impl Into<TestSnsMessage>) -> Self {
        self.messages.push(message.into());
        self
    }

    /// The event's JSON bytes, for [`invoke`](super::invoke).
    pub fn event(&self) -> Vec<u8> {
        let topic_arn = format!(
            "arn:aws:sns:{}:{}:{}",
            self.region, self.account, self.topic
        );
        let subscription = self
            .subscription_arn
            .clone()
            .unwrap_or_else(|| format!("{topic_arn}:{}", defaults::uuid(0)));
        let records: Vec<Value> = self
            .messages
            .iter()
            .zip(1u64..)
            .map(|(m, n)| {
                json!({
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription,
                    "Sns": m.notification(n, &topic_arn, &subscription, &self.region),
                })
            })
            .collect();
        defaults::bytes(json!({ "Records": records }))
    }
}

/// One notification of a [`TestSns`] event.
///
/// Defaults, for the `n`th notification: `MessageId` `00000000-0000-4000-8000-00000000000n`, no
/// subject (`null`), `Timestamp` `2024-05-01T12:00:00.000Z`, no message attributes, the
/// unsubscribe URL of the subscription; `Signature` `EXAMPLE` and a placeholder signing
/// certificate URL, since no test can sign as SNS.
#[derive(Debug, Clone)]
pub struct TestSnsMessage {
    message: String,
    id: Option<String>,
    subject: Option<String>,
    timestamp: String,
    signature: String,
    signing_cert_url: Option<String>,
    unsubscribe_url: Option<String>,
    attributes: Vec<(String, String, String)>,
}

impl From<&str> for TestSnsMessage {
    fn from(message: &str) -> Self {
        TestSnsMessage::new(message)
    }
}

impl From<String> for TestSnsMessage {
    fn from(message: String) -> Self {
        TestSnsMessage::new(message)
    }
}

impl TestSnsMessage {
    /// A notification with this `Message`.
    pub fn new(message: impl Into<String>) -> Self {
        TestSnsMessage {
            message: message.into(),
            id: None,
            subject: None,
            timestamp: defaults::TIME_MS.to_owned(),
            signature: "EXAMPLE".to_owned(),
            signing_cert_url: None,
            unsubscribe_url: None,
            attributes: Vec::new(),
        }
    }

    /// A notification whose `Message` is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::new(defaults::json_text(value))
    }

    /// `MessageId`.
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }

    /// `Subject`.
    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_owned());
        self
    }

    /// `Timestamp` (RFC 3339, with milliseconds as SNS writes it).
    pub fn timestamp(mut self, timestamp: &str) -> Self {
        self.timestamp = timestamp.to_owned();
        self
    }

    /// `Signature`.
    pub fn signature(mut self, signature: &str) -> Self {
        self.signature = signature.to_owned();
        self
    }

    /// `SigningCertUrl`.
    pub fn signing_cert_url(mut self, url: &str) -> Self {
        self.signing_cert_url = Some(url.to_owned());
        self
    }

    /// `UnsubscribeUrl`.
    pub fn unsubscribe_url(mut self, url: &str) -> Self {
        self.unsubscribe_url = Some(url.to_owned());
        self
    }

    /// A `String` message attribute.
    pub fn attribute(self, name: &str, value: &str) -> Self {
        self.typed_attribute(name, "String", value)
    }

    /// A `Binary` message attribute (base64-encoded in the event).
    pub fn binary_attribute(self, name: &str, value: &[u8]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        self.typed_attribute(name, "Binary", &b64)
    }

    /// A message attribute of any type (`Number`, `String.Array`, `Binary`...), its value as
    /// the event carries it.
    pub fn typed_attribute(mut self, name: &str, data_type: &str, value: &str) -> Self {
        self.attributes
            .push((name.to_owned(), data_type.to_owned(), value.to_owned()));
        self
    }

    fn notification(&self, n: u64, topic_arn: &str, subscription: &str, region: &str) -> Value {
        let attributes: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(name, t, v)| (name.clone(), json!({ "Type": t, "Value": v })))
            .collect();
        json!({
            "Type": "Notification",
            "MessageId": self.id.clone().unwrap_or_else(|| defaults::uuid(n)),
            "TopicArn": topic_arn,
            "Subject": self.subject,
            "Message": self.message,
            "Timestamp": self.timestamp,
            "SignatureVersion": "1",
            "Signature": self.signature,
            "SigningCertUrl": self.signing_cert_url.clone().unwrap_or_else(|| format!(
                "https://sns.{region}.amazonaws.com/SimpleNotificationService-{}.pem",
                "0".repeat(32)
            )),
            "UnsubscribeUrl": self.unsubscribe_url.clone().unwrap_or_else(|| format!(
                "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"
            )),
            "MessageAttributes": attributes,
        })
    }
}
