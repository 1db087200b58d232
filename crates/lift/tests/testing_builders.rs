//! The event builders of `lift::testing` (SQS, SNS, S3, EventBridge, schedules, DynamoDB
//! Streams, Kinesis, WebSocket): each builds the committed fixtures in `tests/fixtures/events/`
//! (SAM-generated, `aws_lambda_events`' own, and edits of those) exactly, whole document, and
//! its events reach the matching handler through `invoke`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use lift::events::{
    DynamoDbRecord, EventBridgeEvent, KinesisRecord, S3Record, Schedule, SnsMessage, SqsMessage,
    WebSocket,
};
use lift::observability::{LogFormat, MemoryExporter, Observability};
use lift::prelude::*;
use lift::routing::BatchOptions;
use lift::testing::{
    invoke, TestDynamoDb, TestDynamoDbRecord, TestEventBridge, TestKinesis, TestKinesisRecord,
    TestS3, TestS3Record, TestSchedule, TestSns, TestSnsMessage, TestSqs, TestSqsMessage,
    TestWebSocket,
};
use lift::AppService;
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A fixture of `tests/fixtures/events/`, parsed.
fn fixture(name: &str) -> Value {
    common::fixture_json(&format!("events/{name}"))
}

/// A builder's event, parsed.
fn parsed(event: Vec<u8>) -> Value {
    serde_json::from_slice(&event).expect("the builder writes JSON")
}

/// Whole-document equality, with both documents in the failure message.
#[track_caller]
fn assert_builds(event: Vec<u8>, name: &str) {
    let built = parsed(event);
    let expected = fixture(name);
    assert!(
        built == expected,
        "{name}\n built: {}\n fixture: {}",
        serde_json::to_string_pretty(&built).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
}

fn build(app: App) -> AppService {
    app.observability(
        Observability::new()
            .service("builders-test")
            .log_format(LogFormat::Json)
            .export_to(MemoryExporter::new()),
    )
    .build()
    .unwrap()
}

fn partial() -> BatchOptions {
    BatchOptions::new().partial_batch_response(true)
}

/// What the handlers saw, in call order (shared through app state).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

impl Seen {
    fn push(ctx: &Context, v: Value) {
        ctx.state::<Seen>()
            .expect("Seen is in the app state")
            .0
            .lock()
            .unwrap()
            .push(v);
    }

    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: f64,
}

/// SAM's S3 template values, as `sam local generate-event s3` writes them.
fn sam_s3(record: TestS3Record) -> TestS3Record {
    record
        .event_version("2.0")
        .event_time("1970-01-01T00:00:00.000Z")
        .principal_id("EXAMPLE")
        .owner_id("EXAMPLE")
        .source_ip("127.0.0.1")
        .request_id("EXAMPLE123456789")
        .host_id("EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH")
        .sequencer("0A1B2C3D4E5F678901")
}

/// The item of `dynamodb-sam.json`: `Id` 101 with a `Message`.
fn ddb_item(message: &str) -> Value {
    json!({"Message": {"S": message}, "Id": {"N": "101"}})
}

fn ddb_keys(id: u32) -> Value {
    json!({"Id": {"N": id.to_string()}})
}

// ---------------------------------------------------------------------------------------------
// Fixtures, built
// ---------------------------------------------------------------------------------------------

#[test]
fn sqs_builds_sams_receive_message_event() {
    let event = TestSqs::new()
        .queue("MyQueue")
        .message(
            TestSqsMessage::new("Hello from SQS!")
                .id("19dd0b57-b21e-4ac1-bd88-01bbb068cb78")
                .receipt_handle("MessageReceiptHandle")
                .sent_at(1_523_232_000_000),
        )
        .event();
    // `md5OfBody` (7b270e59…) is computed, and SAM's is the body's real MD5.
    assert_builds(event, "sqs-sam.json");
}

/// `sqs-fifo-groups.json` has the attributes a FIFO queue sends (`MessageGroupId`,
/// `MessageDeduplicationId`, `SequenceNumber`) on an `orders.fifo` ARN. It was edited from the
/// SAM event and gives all four messages the same `MessageDeduplicationId`, which SQS would
/// have deduplicated within its 5-minute window; it is matched as it is.
#[test]
fn sqs_builds_the_fifo_batch() {
    let mut sqs = TestSqs::new().queue("orders.fifo");
    for (n, group, amount) in [(1, "g1", 1), (2, "g1", -2), (3, "g2", 3), (4, "g1", 4)] {
        sqs = sqs.message(
            TestSqsMessage::new(format!(r#"{{"id":"f-{n}","amount":{amount}}}"#))
                .id(&format!("f1000000-0000-4000-8000-00000000000{n}"))
                .sent_at(1_523_232_000_000)
                .group(group)
                .deduplication_id("dedup-f1000000"),
        );
    }
    // Receipt handles (`receipt-<id>`) and sequence numbers (18849496460467696128 on) are the
    // defaults.
    assert_builds(sqs.event(), "sqs-fifo-groups.json");
}

#[test]
fn sqs_defaults_are_a_whole_standard_message() {
    let event = TestSqs::new()
        .message(TestSqsMessage::json(&json!({"id": "o-1"})).attribute("tenant", "acme"))
        .event();
    assert_eq!(
        parsed(event),
        json!({"Records": [{
            "messageId": "00000000-0000-4000-8000-000000000001",
            "receiptHandle": "receipt-00000000-0000-4000-8000-000000000001",
            "body": r#"{"id":"o-1"}"#,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1714564800000",
                "SenderId": "123456789012",
                "ApproximateFirstReceiveTimestamp": "1714564800001"
            },
            "messageAttributes": {
                "tenant": {
                    "stringValue": "acme",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String"
                }
            },
            // MD5 of the body, and the digest moto's SQS gives for `tenant` = `acme`.
            "md5OfBody": "8ee379cbdd0224058b41dced7896d834",
            "md5OfMessageAttributes": "c52f727da6769fcbc66f3f8555ce234a",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test-queue",
            "awsRegion": "us-east-1"
        }]})
    );
}

#[test]
fn sqs_fifo_defaults_put_every_message_in_one_group() {
    let v = parsed(
        TestSqs::new()
            .queue("jobs.fifo")
            .message("a")
            .message("b")
            .event(),
    );
    let attrs: Vec<Value> = (0..2)
        .map(|i| {
            let a = &v["Records"][i]["attributes"];
            json!([
                a["MessageGroupId"],
                a["MessageDeduplicationId"],
                a["SequenceNumber"]
            ])
        })
        .collect();
    assert_eq!(
        attrs,
        vec![
            json!([
                "default",
                "00000000-0000-4000-8000-000000000001",
                "18849496460467696128"
            ]),
            json!([
                "default",
                "00000000-0000-4000-8000-000000000002",
                "18849496460467696129"
            ]),
        ]
    );
    // A standard queue has none of them.
    let v = parsed(TestSqs::new().message("a").event());
    assert_eq!(v["Records"][0]["attributes"].get("MessageGroupId"), None);
    assert_eq!(v["Records"][0]["attributes"].get("SequenceNumber"), None);
}

#[test]
fn sns_builds_sams_notification() {
    // SAM's placeholders: a subscription ARN without an account, `EXAMPLE` signature and URLs,
    // and a `Binary` attribute whose value is not base64 (set as it is).
    let event = TestSns::new()
        .topic("order-events")
        .subscription_arn("arn:aws:sns:us-east-1::order-events")
        .message(
            TestSnsMessage::new("example message")
                .id("95df01b4-ee98-5cb9-9903-4c221d41eb5e")
                .subject("example subject")
                .timestamp("1970-01-01T00:00:00.000Z")
                .signing_cert_url("EXAMPLE")
                .unsubscribe_url("EXAMPLE")
                .attribute("Test", "TestString")
                .typed_attribute("TestBinary", "Binary", "TestBinary"),
        )
        .event();
    assert_builds(event, "sns-sam.json");
}

#[test]
fn sns_builds_the_json_notification() {
    let event = TestSns::new()
        .topic("order-events")
        .subscription_arn("arn:aws:sns:us-east-1::order-events")
        .message(
            TestSnsMessage::new(r#"{"order_id":"o-1","status":"shipped"}"#)
                .id("95df01b4-ee98-5cb9-9903-4c221d41eb5e")
                .subject("order shipped")
                .timestamp("1970-01-01T00:00:00.000Z")
                .signing_cert_url("EXAMPLE")
                .unsubscribe_url("EXAMPLE")
                .attribute("Test", "TestString")
                .typed_attribute("TestBinary", "Binary", "TestBinary"),
        )
        .event();
    assert_builds(event, "sns-json.json");
}

#[test]
fn sns_defaults_are_a_whole_notification() {
    let v = parsed(
        TestSns::new()
            .message(TestSnsMessage::new("hi").binary_attribute("raw", &[0, 1, 2]))
            .event(),
    );
    let topic = "arn:aws:sns:us-east-1:123456789012:test-topic";
    let subscription = format!("{topic}:00000000-0000-4000-8000-000000000000");
    assert_eq!(
        v,
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription,
            "Sns": {
                "Type": "Notification",
                "MessageId": "00000000-0000-4000-8000-000000000001",
                "TopicArn": topic,
                "Subject": null,
                "Message": "hi",
                "Timestamp": "2024-05-01T12:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-00000000000000000000000000000000.pem",
                "UnsubscribeUrl": format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"),
                "MessageAttributes": {"raw": {"Type": "Binary", "Value": "AAEC"}}
            }
        }]})
    );
}

#[test]
fn s3_builds_sams_put_and_delete() {
    let put = TestS3::new()
        .record(
            sam_s3(TestS3Record::put(
                "lift-uploads",
                "invoices/2024/inv-001.pdf",
            ))
            .size(1024)
            .etag("0123456789abcdef0123456789abcdef"),
        )
        .event();
    assert_builds(put, "s3-put-sam.json");
    let delete = TestS3::new()
        .record(sam_s3(TestS3Record::delete(
            "lift-uploads",
            "invoices/2024/inv-001.pdf",
        )))
        .event();
    assert_builds(delete, "s3-delete-sam.json");
}

#[test]
fn s3_writes_keys_url_encoded_as_s3_does() {
    // The key as stored; the fixture has it as S3 sends it:
    // `reports/2024+Q1/summary%2Bfinal+%28v2%29+%C3%A9.csv`. Its eTag is the default: the MD5
    // of an empty object.
    let event = TestS3::new()
        .record(
            sam_s3(TestS3Record::put(
                "lift-uploads",
                "reports/2024 Q1/summary+final (v2) é.csv",
            ))
            .size(2048)
            .version_id("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"),
        )
        .event();
    assert_builds(event, "s3-put-spaces.json");
}

#[test]
fn s3_content_sets_size_and_etag() {
    let v = parsed(
        TestS3::new()
            .region("eu-west-1")
            .record(TestS3Record::put("b", "k").content(b"abc"))
            .event(),
    );
    let r = &v["Records"][0];
    assert_eq!(r["awsRegion"], "eu-west-1");
    assert_eq!(
        r["s3"]["object"],
        json!({
            "key": "k",
            "size": 3,
            "eTag": "900150983cd24fb0d6963f7d28e17f72",
            "sequencer": "0055AED6DCD90281E5"
        })
    );
}

#[test]
fn eventbridge_builds_the_ec2_event_and_the_ping() {
    // `aws_lambda_events`' sample has no `version`, which EventBridge always sends.
    let ec2 = TestEventBridge::new("aws.ec2", "EC2 Instance State-change Notification")
        .id("7bf73129-1428-4cd3-a780-95db273d1602")
        .time("2021-11-11T21:29:54Z")
        .resource("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")
        .detail(&json!({"instance-id": "i-abcd1111", "state": "pending"}))
        .without_version()
        .event();
    assert_builds(ec2, "example-eventbridge-event-obj.json");
    // The edited custom event has it; its time, region and account are the defaults.
    let ping = TestEventBridge::new("lift.example", "Ping")
        .id("6a7e8feb-b491-4cf7-a9f1-bf3703467718")
        .detail(&json!({"message": "hello", "count": 3}))
        .event();
    assert_builds(ping, "eventbridge-ping.json");
}

#[test]
fn schedule_builds_the_scheduled_events() {
    // SAM's scheduled event has no `version`; `aws_lambda_events`' has it.
    let sam = TestSchedule::new("ExampleRule")
        .id("cdc73f9d-aea9-11e3-9d5a-835b769c0d9c")
        .time("1970-01-01T00:00:00Z")
        .without_version()
        .event();
    assert_builds(sam, "schedule-sam.json");
    let shipped = TestSchedule::new("my-scheduled-rule")
        .id("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa")
        .time("2015-10-08T16:53:06Z")
        .event();
    assert_builds(shipped, "example-eventbridge-schedule.json");
    let nightly = TestSchedule::new("nightly-report")
        .id("9a8b7c6d-1111-4e2f-8a9b-0c1d2e3f4a5b")
        .time("2024-05-01T02:00:00Z")
        .without_version()
        .event();
    assert_builds(nightly, "schedule-nightly.json");
    assert_builds(
        TestSchedule::new("hourly-sync").constant_input(),
        "schedule-constant-input.json",
    );
}

#[test]
fn eventbridge_defaults_are_a_whole_event() {
    assert_eq!(
        parsed(TestSchedule::new("nightly").region("eu-west-1").event()),
        json!({
            "version": "0",
            "id": "00000000-0000-4000-8000-000000000001",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2024-05-01T12:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/nightly"],
            "detail": {}
        })
    );
}

#[test]
fn dynamodb_builds_sams_stream_records_with_derived_ids_and_sizes() {
    // SAM's event ids are the MD5s of 1, 2 and 3, its sequence numbers count up from
    // 4421584500000000017450439091 and its `SizeBytes` (26, 59, 38) are the item sizes of the
    // keys and images: all three are the builder's defaults.
    let event = TestDynamoDb::new()
        .table("orders")
        .stream_label("2015-06-27T00:48:05.899")
        .record(
            TestDynamoDbRecord::insert(ddb_keys(101), ddb_item("New item!"))
                .created_at(1_428_537_600),
        )
        .record(
            TestDynamoDbRecord::modify(
                ddb_keys(101),
                ddb_item("New item!"),
                ddb_item("This item has changed"),
            )
            .created_at(1_428_537_600),
        )
        .record(
            TestDynamoDbRecord::remove(ddb_keys(101), ddb_item("This item has changed"))
                .created_at(1_428_537_600),
        )
        .event();
    assert_builds(event, "dynamodb-sam.json");
}

#[test]
fn dynamodb_view_type_decides_which_images_are_sent() {
    let record =
        || TestDynamoDbRecord::modify(ddb_keys(7), ddb_item("old"), ddb_item("new")).event_id("e");
    let change = |view: &str| {
        let v = parsed(
            TestDynamoDb::new()
                .stream_view_type(view)
                .record(record())
                .event(),
        );
        v["Records"][0]["dynamodb"].clone()
    };
    assert_eq!(
        change("KEYS_ONLY"),
        json!({
            "Keys": {"Id": {"N": "7"}},
            "ApproximateCreationDateTime": 1_714_564_800u64,
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 4,
            "StreamViewType": "KEYS_ONLY"
        })
    );
    let new_only = change("NEW_IMAGE");
    assert_eq!(new_only["NewImage"], ddb_item("new"));
    assert_eq!(new_only.get("OldImage"), None);
    assert_eq!(new_only["SizeBytes"], 4 + (7 + 3) + (2 + 3));
    let old_only = change("OLD_IMAGE");
    assert_eq!(old_only.get("NewImage"), None);
    assert_eq!(old_only["OldImage"], ddb_item("old"));
}

#[test]
fn dynamodb_ttl_deletions_name_the_service() {
    let v = parsed(
        TestDynamoDb::new()
            .record(TestDynamoDbRecord::remove(ddb_keys(1), ddb_item("x")).expired_by_ttl())
            .event(),
    );
    let r = &v["Records"][0];
    assert_eq!(
        r["userIdentity"],
        json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    );
    assert_eq!(
        r["eventSourceARN"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/test-table/stream/2024-05-01T00:00:00.000"
    );
    assert_eq!(r["eventID"], "c4ca4238a0b923820dcc509a6f75849b");
}

#[test]
fn kinesis_builds_sams_record_and_the_mixed_batch() {
    // SAM's placeholders for the stream ARN and the invoking role.
    let sam = TestKinesis::new()
        .stream_arn("arn:aws:kinesis:EXAMPLE")
        .invoke_identity_arn("arn:aws:iam::EXAMPLE")
        .record(
            TestKinesisRecord::new(r#"{"event":"click","user":"u-1"}"#)
                .partition_key("user-1")
                .sequence_number("49545115243490985018280067714973144582180062593244200961")
                .arrival_timestamp(1_428_537_600.0),
        )
        .event();
    assert_builds(sam, "kinesis-sam.json");
    // The edited batch's sequence numbers (…588801, …588802, …588803) are the defaults.
    let mut mixed = TestKinesis::new()
        .stream("clicks")
        .invoke_identity_arn("arn:aws:iam::EXAMPLE");
    for (n, data) in [
        (1, r#"{"event":"click","user":"u-1"}"#),
        (2, "not json at all"),
        (3, r#"{"event":"view","user":"u-3"}"#),
    ] {
        mixed = mixed.record(
            TestKinesisRecord::new(data)
                .partition_key(&format!("user-{n}"))
                .arrival_timestamp(1_428_537_600.0),
        );
    }
    assert_builds(mixed.event(), "kinesis-mixed.json");
}

#[test]
fn kinesis_defaults_are_a_whole_record() {
    assert_eq!(
        parsed(TestKinesis::new().record(vec![0u8, 1, 2]).event()),
        json!({"Records": [{
            "kinesis": {
                "partitionKey": "partition-key",
                "kinesisSchemaVersion": "1.0",
                "data": "AAEC",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588801",
                "approximateArrivalTimestamp": 1_714_564_800.0
            },
            "eventSource": "aws:kinesis",
            "eventID": "shardId-000000000000:49590338271490256608559692538361571095921575989136588801",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "eventVersion": "1.0",
            "eventName": "aws:kinesis:record",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/test-stream",
            "awsRegion": "us-east-1"
        }]})
    );
}

/// The WebSocket fixtures in the shape API Gateway sends are built exactly:
/// `example-apigw-websocket-request-without-method.json` (`$connect`),
/// `example-apigw-websocket-request-disconnect-route.json` (`$disconnect`) and
/// `websocket-message.json` (a message). `example-apigw-websocket-request.json` is not: it
/// mixes REST proxy keys (`httpMethod`, `resource`, `path`, `pathParameters`,
/// `requestContext.resourcePath`, ...) into a `$connect` event, its `headers` and
/// `multiValueHeaders` name different headers (two `Host`s), its `requestTimeEpoch` is 0
/// beside a 2019 `requestTime`, and `error` and `status` are `*` placeholders; no API sends
/// it, so a builder that made it would make a wrong shape.
#[test]
fn websocket_builds_connect_disconnect_and_message() {
    let mut connect = TestWebSocket::connect()
        .api_id("asdfasdf")
        .region("us-west-2")
        .stage("dev")
        .connection_id("asdfasdf=")
        .request_id("asdf=")
        .extended_request_id("asdfasdf=")
        .request_time(1_645_556_857_902)
        .source_ip("10.0.0.13")
        .api_key("asdfasdf", "asdf");
    for (name, value) in [
        ("Host", "asdfasdf.execute-api.us-west-2.amazonaws.com"),
        ("Sec-WebSocket-Key", "asdfasdf=="),
        ("Sec-WebSocket-Version", "13"),
        ("X-Amzn-Trace-Id", "Root=1-asdf-asdfasdf"),
        ("x-api-key", "asdfasdf"),
        ("X-Forwarded-For", "10.0.0.13"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ] {
        connect = connect.header(name, value);
    }
    assert_builds(
        connect.event(),
        "example-apigw-websocket-request-without-method.json",
    );

    let mut disconnect = TestWebSocket::disconnect()
        .api_id("abcd1234")
        .connection_id("AAAA1234=")
        .request_id("ABCD1234=")
        .request_time(1_707_503_008_941)
        .connected_at(1_707_503_007_396)
        .source_ip("192.0.2.1");
    for name in ["Host", "x-api-key", "X-Forwarded-For", "x-restapi"] {
        let value = if name == "Host" {
            "abcd1234.execute-api.us-east-1.amazonaws.com"
        } else {
            ""
        };
        disconnect = disconnect.header(name, value);
    }
    // Close code 1005 and its reason are the defaults.
    assert_builds(
        disconnect.event(),
        "example-apigw-websocket-request-disconnect-route.json",
    );

    let message = TestWebSocket::message(
        "sendmessage",
        r#"{"action":"sendmessage","text":"hi there"}"#,
    )
    .api_id("abcd1234")
    .connection_id("AAAA1234=")
    .request_id("ABCD5678=")
    .message_id("Kf2dGd9lywMCEng=")
    .request_time(1_707_503_042_117)
    .connected_at(1_707_503_007_396)
    .source_ip("192.0.2.1");
    assert_builds(message.event(), "websocket-message.json");
}

#[test]
fn websocket_defaults_are_a_whole_connect() {
    let v = parsed(
        TestWebSocket::connect()
            .header("Sec-WebSocket-Protocol", "chat")
            .query("token", "t 1")
            .authorizer(&json!({"principalId": "user-1"}))
            .event(),
    );
    assert_eq!(
        v,
        json!({
            "headers": {"Sec-WebSocket-Protocol": "chat"},
            "multiValueHeaders": {"Sec-WebSocket-Protocol": ["chat"]},
            "queryStringParameters": {"token": "t 1"},
            "multiValueQueryStringParameters": {"token": ["t 1"]},
            "requestContext": {
                "routeKey": "$connect",
                "eventType": "CONNECT",
                "extendedRequestId": "AAAAAAAAAAAAAAE=",
                "requestTime": "01/May/2024:12:00:00 +0000",
                "messageDirection": "IN",
                "stage": "prod",
                "connectedAt": 1_714_564_800_000u64,
                "requestTimeEpoch": 1_714_564_800_000u64,
                "identity": {"sourceIp": "203.0.113.7"},
                "requestId": "AAAAAAAAAAAAAAE=",
                "domainName": "1234567890.execute-api.us-east-1.amazonaws.com",
                "connectionId": "AAAAAAAAAAAAAAA=",
                "apiId": "1234567890",
                "authorizer": {"principalId": "user-1"}
            },
            "isBase64Encoded": false
        })
    );
}

#[test]
fn websocket_binary_messages_are_base64() {
    let v = parsed(TestWebSocket::message("$default", vec![0xff, 0x00]).event());
    assert_eq!(v["body"], "/wA=");
    assert_eq!(v["isBase64Encoded"], true);
    assert_eq!(v.get("headers"), None);
}

// ---------------------------------------------------------------------------------------------
// Through `invoke`, to the handlers
// ---------------------------------------------------------------------------------------------

async fn order(ctx: Context, msg: SqsMessage<Order>) -> Result<(), Error> {
    Seen::push(
        &ctx,
        json!({
            "id": msg.id,
            "order": msg.body.id,
            "group": msg.group_id,
            "receive_count": msg.receive_count,
            "sent": msg.sent_timestamp_ms,
            "tenant": msg.message_attributes.get("tenant"),
            "queue": msg.queue_arn,
        }),
    );
    if msg.body.amount < 0.0 {
        return Err(Error::bad_request("order amount must not be negative"));
    }
    Ok(())
}

fn orders(options: BatchOptions, seen: &Seen) -> AppService {
    build(
        App::new()
            .state(seen.clone())
            .batch_options(options)
            .on_sqs(order),
    )
}

#[tokio::test]
async fn sqs_failed_message_is_the_one_batch_item_failure() {
    let seen = Seen::default();
    let app = orders(partial(), &seen);
    let event = TestSqs::new()
        .queue("orders")
        .message(
            TestSqsMessage::json(&json!({"id": "o-1", "amount": 5})).attribute("tenant", "acme"),
        )
        .message(
            TestSqsMessage::json(&json!({"id": "o-2", "amount": -1}))
                .id("bad-order")
                .receive_count(3),
        )
        .message(
            TestSqsMessage::json(&json!({"id": "o-3", "amount": 0})).sent_at(1_700_000_000_000),
        )
        .event();
    let res = invoke(&app, event).await.unwrap();
    assert_eq!(res.failed_ids(), ["bad-order"]);
    assert_eq!(
        res.raw(),
        &json!({"batchItemFailures": [{"itemIdentifier": "bad-order"}]})
    );
    let queue = "arn:aws:sqs:us-east-1:123456789012:orders";
    assert_eq!(
        seen.all(),
        vec![
            json!({"id": "00000000-0000-4000-8000-000000000001", "order": "o-1", "group": null,
                   "receive_count": 1, "sent": 1_714_564_800_000u64, "tenant": "acme", "queue": queue}),
            json!({"id": "bad-order", "order": "o-2", "group": null,
                   "receive_count": 3, "sent": 1_714_564_800_000u64, "tenant": null, "queue": queue}),
            json!({"id": "00000000-0000-4000-8000-000000000003", "order": "o-3", "group": null,
                   "receive_count": 1, "sent": 1_700_000_000_000u64, "tenant": null, "queue": queue}),
        ]
    );
}

#[tokio::test]
async fn sqs_all_succeeded_is_an_empty_failure_list_or_null() {
    let event = TestSqs::new().message(r#"{"id":"o-1","amount":1}"#).event();
    let res = invoke(&orders(partial(), &Seen::default()), event.clone())
        .await
        .unwrap();
    assert_eq!(res.raw(), &json!({"batchItemFailures": []}));
    assert_eq!(res.failed_ids(), Vec::<&str>::new());
    let res = invoke(&orders(BatchOptions::new(), &Seen::default()), event)
        .await
        .unwrap();
    assert_eq!(res.raw(), &Value::Null);
    assert_eq!(res.failed_ids(), Vec::<&str>::new());
}

#[tokio::test]
async fn sqs_failure_without_partial_responses_fails_the_invocation() {
    let event = TestSqs::new()
        .message(r#"{"id":"o-1","amount":1}"#)
        .message(r#"{"id":"o-2","amount":-1}"#)
        .event();
    let err = invoke(&orders(BatchOptions::new(), &Seen::default()), event)
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lift.BatchFailed");
    assert_eq!(
        err.message,
        "1 of 2 sqs records failed (0 not run): 00000000-0000-4000-8000-000000000002"
    );
}

#[tokio::test]
async fn sqs_fifo_failure_reports_the_rest_of_its_group() {
    let seen = Seen::default();
    let app = orders(partial(), &seen);
    let mut sqs = TestSqs::new().queue("orders.fifo");
    for (n, group, amount) in [(1, "g1", 1), (2, "g1", -2), (3, "g2", 3), (4, "g1", 4)] {
        sqs = sqs.message(
            TestSqsMessage::json(&json!({"id": format!("f-{n}"), "amount": amount}))
                .id(&format!("f{n}"))
                .group(group),
        );
    }
    let res = invoke(&app, sqs.event()).await.unwrap();
    assert_eq!(res.failed_ids(), ["f2", "f4"]);
    let run: Vec<Value> = seen
        .all()
        .iter()
        .map(|s| json!([s["id"], s["group"]]))
        .collect();
    assert_eq!(
        run,
        vec![
            json!(["f1", "g1"]),
            json!(["f2", "g1"]),
            json!(["f3", "g2"])
        ]
    );
}

#[tokio::test]
async fn sns_notification_reaches_its_handler() {
    async fn notified(ctx: Context, n: SnsMessage<Value>) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({
                "id": n.id, "topic": n.topic_arn, "subject": n.subject, "message": n.message,
                "timestamp": n.timestamp, "attributes": n.attributes,
            }),
        );
        if n.message["status"] == "lost" {
            return Err(Error::bad_request("lost"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let app = build(App::new().state(seen.clone()).on_sns(notified));
    let event = TestSns::new()
        .topic("order-events")
        .message(
            TestSnsMessage::json(&json!({"order_id": "o-1", "status": "shipped"}))
                .subject("order shipped")
                .attribute("tenant", "acme")
                .binary_attribute("raw", b"hi"),
        )
        .event();
    let res = invoke(&app, event).await.unwrap();
    assert_eq!(res.raw(), &Value::Null);
    assert_eq!(
        seen.all(),
        vec![json!({
            "id": "00000000-0000-4000-8000-000000000001",
            "topic": "arn:aws:sns:us-east-1:123456789012:order-events",
            "subject": "order shipped",
            "message": {"order_id": "o-1", "status": "shipped"},
            "timestamp": "2024-05-01T12:00:00.000Z",
            "attributes": {"tenant": "acme", "raw": "aGk="},
        })]
    );
    // SNS has no partial batch responses: a failure fails the invocation.
    let lost = TestSns::new()
        .message(TestSnsMessage::new(r#"{"status":"lost"}"#).id("n-1"))
        .event();
    let err = invoke(&app, lost).await.unwrap_err();
    assert_eq!(err.message, "1 of 1 sns records failed (0 not run): n-1");
}

#[tokio::test]
async fn s3_records_reach_their_handler_with_the_key_decoded() {
    async fn stored(ctx: Context, r: S3Record) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({
                "event": r.event_name, "bucket": r.bucket, "key": r.key, "size": r.size,
                "etag": r.etag, "version": r.version_id, "region": r.region, "time": r.event_time,
            }),
        );
        if r.is_removed() {
            return Err(Error::conflict("never deleted"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let app = build(App::new().state(seen.clone()).on_s3(stored));
    let key = "reports/2024 Q1/summary+final (v2) é.csv";
    let event = TestS3::new()
        .record(
            TestS3Record::put("lift-uploads", key)
                .content(b"a,b\n")
                .version_id("v1"),
        )
        .event();
    assert_eq!(invoke(&app, event).await.unwrap().raw(), &Value::Null);
    assert_eq!(
        seen.all(),
        vec![json!({
            "event": "ObjectCreated:Put", "bucket": "lift-uploads", "key": key, "size": 4,
            "etag": "f69f5b72bc79a92dc70c63c9aa142e36", "version": "v1", "region": "us-east-1",
            "time": "2024-05-01T12:00:00.000Z",
        })]
    );
    let delete = TestS3::new()
        .record(TestS3Record::delete("lift-uploads", key))
        .event();
    let err = invoke(&app, delete).await.unwrap_err();
    // The invocation error never names an S3 key.
    assert_eq!(err.message, "1 of 1 s3 records failed (0 not run)");
}

#[derive(Deserialize)]
struct Ping {
    message: String,
    count: u32,
}

#[tokio::test]
async fn eventbridge_event_reaches_the_handler_of_its_source_and_detail_type() {
    async fn ping(ctx: Context, ev: EventBridgeEvent<Ping>) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({
                "id": ev.id, "source": ev.source, "detail_type": ev.detail_type, "time": ev.time,
                "region": ev.region, "account": ev.account, "resources": ev.resources,
                "message": ev.detail.message, "count": ev.detail.count,
            }),
        );
        Ok(())
    }
    let seen = Seen::default();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_eventbridge("lift.example", "Ping", ping),
    );
    let event = TestEventBridge::new("lift.example", "Ping")
        .resource("arn:aws:events:us-east-1:123456789012:rule/pings")
        .detail(&json!({"message": "hello", "count": 3}))
        .event();
    assert_eq!(invoke(&app, event).await.unwrap().raw(), &Value::Null);
    assert_eq!(
        seen.all(),
        vec![json!({
            "id": "00000000-0000-4000-8000-000000000001", "source": "lift.example",
            "detail_type": "Ping", "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
            "account": "123456789012",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/pings"],
            "message": "hello", "count": 3,
        })]
    );
    // Another detail-type has no handler here.
    let pong = TestEventBridge::new("lift.example", "Pong").event();
    let err = invoke(&app, pong).await.unwrap_err();
    assert_eq!(
        (err.error_type, err.message.as_str()),
        (
            "Lift.UnsupportedEvent",
            "no handler for this eventbridge event"
        )
    );
}

#[tokio::test]
async fn schedule_reaches_the_handler_of_its_name() {
    async fn nightly(ctx: Context, s: Schedule) -> Result<(), Error> {
        Seen::push(&ctx, json!({"name": s.name, "time": s.time, "id": s.id}));
        Ok(())
    }
    let seen = Seen::default();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_schedule("nightly-report", nightly)
            .constant_input_schedules(),
    );
    let schedule = TestSchedule::new("nightly-report").time("2024-05-01T02:00:00Z");
    for event in [schedule.event(), schedule.constant_input()] {
        assert_eq!(invoke(&app, event).await.unwrap().raw(), &Value::Null);
    }
    assert_eq!(
        seen.all(),
        vec![
            json!({"name": "nightly-report", "time": "2024-05-01T02:00:00Z",
                   "id": "00000000-0000-4000-8000-000000000001"}),
            json!({"name": "nightly-report", "time": null, "id": null}),
        ]
    );
    // Another rule's name has no handler here.
    let err = invoke(&app, TestSchedule::new("hourly").event())
        .await
        .unwrap_err();
    assert_eq!(
        (err.error_type, err.message.as_str()),
        (
            "Lift.UnsupportedEvent",
            "no handler for this schedule event"
        )
    );
}

#[tokio::test]
async fn dynamodb_failure_reports_its_sequence_number_and_stops_the_batch() {
    async fn changed(ctx: Context, r: DynamoDbRecord) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({
                "event": r.event_name, "id": r.event_id, "sequence": r.sequence_number,
                "keys": r.keys, "new": r.new_image, "old": r.old_image, "created": r.created_at,
                "stream": r.stream_arn,
            }),
        );
        if r.new_image
            .as_ref()
            .is_some_and(|i| i["Message"]["S"] == "poison")
        {
            return Err(Error::bad_request("poison"));
        }
        Ok(())
    }
    let seen = Seen::default();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_dynamodb(changed),
    );
    let event = TestDynamoDb::new()
        .table("orders")
        .record(TestDynamoDbRecord::insert(
            ddb_keys(101),
            ddb_item("New item!"),
        ))
        .record(TestDynamoDbRecord::modify(
            ddb_keys(101),
            ddb_item("New item!"),
            ddb_item("poison"),
        ))
        .record(TestDynamoDbRecord::remove(
            ddb_keys(101),
            ddb_item("poison"),
        ))
        .event();
    let res = invoke(&app, event).await.unwrap();
    // Lambda retries the stream from the failed record; the one after it was not run.
    assert_eq!(res.failed_ids(), ["4421584500000000017450439092"]);
    let stream =
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000";
    assert_eq!(
        seen.all(),
        vec![
            json!({"event": "INSERT", "id": "c4ca4238a0b923820dcc509a6f75849b",
                   "sequence": "4421584500000000017450439091", "keys": ddb_keys(101),
                   "new": ddb_item("New item!"), "old": null, "created": 1_714_564_800.0,
                   "stream": stream}),
            json!({"event": "MODIFY", "id": "c81e728d9d4c2f636f067f89cc14862c",
                   "sequence": "4421584500000000017450439092", "keys": ddb_keys(101),
                   "new": ddb_item("poison"), "old": ddb_item("New item!"),
                   "created": 1_714_564_800.0, "stream": stream}),
        ]
    );
}

#[tokio::test]
async fn kinesis_failure_reports_its_sequence_number() {
    async fn read(ctx: Context, r: KinesisRecord) -> Result<(), Error> {
        Seen::push(
            &ctx,
            json!({
                "id": r.event_id, "sequence": r.sequence_number, "key": r.partition_key,
                "data": String::from_utf8_lossy(&r.data), "arrival": r.arrival_timestamp,
                "stream": r.stream_arn,
            }),
        );
        r.json::<Value>().map(drop)
    }
    let seen = Seen::default();
    let app = build(
        App::new()
            .state(seen.clone())
            .batch_options(partial())
            .on_kinesis(read),
    );
    let event = TestKinesis::new()
        .stream("clicks")
        .record(TestKinesisRecord::json(&json!({"event": "click"})).partition_key("u-1"))
        .record(
            TestKinesisRecord::new("not json")
                .sequence_number("2")
                .arrival_timestamp(1_714_564_800.25),
        )
        .record("{}")
        .event();
    let res = invoke(&app, event).await.unwrap();
    assert_eq!(res.failed_ids(), ["2"]);
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks";
    assert_eq!(
        seen.all(),
        vec![
            json!({"id": "shardId-000000000000:49590338271490256608559692538361571095921575989136588801",
                   "sequence": "49590338271490256608559692538361571095921575989136588801",
                   "key": "u-1", "data": r#"{"event":"click"}"#, "arrival": 1_714_564_800.0,
                   "stream": stream}),
            json!({"id": "shardId-000000000000:2", "sequence": "2", "key": "partition-key",
                   "data": "not json", "arrival": 1_714_564_800.25, "stream": stream}),
        ]
    );
}

#[tokio::test]
async fn websocket_events_reach_the_handler_of_their_route_key() {
    async fn connect(ctx: Context, ws: WebSocket) -> StatusCode {
        Seen::push(
            &ctx,
            json!({
                "route": ws.route_key, "type": ws.event_type, "connection": ws.connection_id,
                "domain": ws.domain_name, "stage": ws.stage, "token": ctx.request().query("token"),
                "protocol": ctx.request().header("sec-websocket-protocol"),
            }),
        );
        StatusCode::OK
    }
    async fn disconnect(ctx: Context, ws: WebSocket) -> StatusCode {
        Seen::push(&ctx, json!({"route": ws.route_key, "type": ws.event_type}));
        StatusCode::OK
    }
    async fn send(ctx: Context, ws: WebSocket) -> Result<String, Error> {
        Seen::push(&ctx, json!({"route": ws.route_key, "type": ws.event_type}));
        let msg: Value = ctx.request().json()?;
        Ok(msg["text"].as_str().unwrap_or("").to_uppercase())
    }
    let seen = Seen::default();
    let app = build(
        App::new()
            .state(seen.clone())
            .on_websocket("$connect", connect)
            .on_websocket("$disconnect", disconnect)
            .on_websocket("sendmessage", send),
    );
    let connected = invoke(
        &app,
        TestWebSocket::connect()
            .connection_id("conn-1")
            .query("token", "t-1")
            .header("Sec-WebSocket-Protocol", "chat")
            .event(),
    )
    .await
    .unwrap();
    assert_eq!(
        connected.raw(),
        &json!({"statusCode": 200, "headers": {}, "body": "", "isBase64Encoded": false})
    );
    let reply = invoke(
        &app,
        TestWebSocket::json_message(
            "sendmessage",
            &json!({"action": "sendmessage", "text": "hi"}),
        )
        .event(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.text(), "HI");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    invoke(&app, TestWebSocket::disconnect().event())
        .await
        .unwrap();
    assert_eq!(
        seen.all(),
        vec![
            json!({"route": "$connect", "type": "CONNECT", "connection": "conn-1",
                   "domain": "1234567890.execute-api.us-east-1.amazonaws.com", "stage": "prod",
                   "token": "t-1", "protocol": "chat"}),
            json!({"route": "sendmessage", "type": "MESSAGE"}),
            json!({"route": "$disconnect", "type": "DISCONNECT"}),
        ]
    );
}
