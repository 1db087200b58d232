//! [`EventKind`]: which source an invocation came from. Shared by every layer, from the
//! HTTP request (which knows its flavour) to the corridor (which dispatches on it).

use std::fmt;

/// The kind of event an invocation carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayV2,
    /// A Lambda Function URL (payload format 2.0 on a `lambda-url` domain).
    FunctionUrl,
    /// An Application Load Balancer target group request.
    Alb,
    /// An API Gateway WebSocket event.
    WebSocket,
    /// A batch of SQS messages.
    Sqs,
    /// SNS notifications.
    Sns,
    /// S3 object notifications.
    S3,
    /// DynamoDB stream records.
    DynamoDb,
    /// Kinesis stream records.
    Kinesis,
    /// An EventBridge event.
    EventBridge,
    /// A scheduled event (EventBridge schedule rule, or a constant input naming a schedule).
    Schedule,
    /// A batch of records from a source Lift does not handle.
    Records,
    /// A JSON object of no kind Lift recognises.
    Unknown,
}

impl EventKind {
    /// Whether this kind is an HTTP request.
    pub fn is_http(self) -> bool {
        matches!(
            self,
            EventKind::ApiGatewayV1
                | EventKind::ApiGatewayV2
                | EventKind::FunctionUrl
                | EventKind::Alb
        )
    }

    /// A short stable name, used in logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApiGatewayV1 => "apigw-v1",
            EventKind::ApiGatewayV2 => "apigw-v2",
            EventKind::FunctionUrl => "function-url",
            EventKind::Alb => "alb",
            EventKind::WebSocket => "websocket",
            EventKind::Sqs => "sqs",
            EventKind::Sns => "sns",
            EventKind::S3 => "s3",
            EventKind::DynamoDb => "dynamodb",
            EventKind::Kinesis => "kinesis",
            EventKind::EventBridge => "eventbridge",
            EventKind::Schedule => "schedule",
            EventKind::Records => "records",
            EventKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
