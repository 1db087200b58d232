//! S3 object notifications: one handler call per record.

use serde::Deserialize;

use super::Parsed;
use crate::extract::FromContext;
use crate::http::request::decode;
use crate::wire::json::Str;
use crate::{Context, Error};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct S3Wire<'a> {
    #[serde(borrow, default)]
    pub event_name: Str<'a>,
    #[serde(borrow, default)]
    pub event_time: Str<'a>,
    #[serde(borrow, default)]
    pub aws_region: Str<'a>,
    #[serde(borrow)]
    pub s3: Entity<'a>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct Entity<'a> {
    #[serde(borrow)]
    pub bucket: Bucket<'a>,
    #[serde(borrow)]
    pub object: Object<'a>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct Bucket<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object<'a> {
    #[serde(borrow)]
    pub key: Str<'a>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(rename = "eTag", borrow, default)]
    pub etag: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub version_id: Option<Str<'a>>,
}

impl S3Wire<'_> {
    /// The object key as stored: S3 sends it URL-encoded (`+` for a space).
    pub(crate) fn key(&self) -> String {
        decode(self.s3.object.key.clone(), true).to_string_owned()
    }
}

/// One S3 notification record: bucket, decoded key, size and ETag.
///
/// ```
/// use lift::events::S3Record;
/// use lift::prelude::*;
///
/// async fn stored(ctx: Context, rec: S3Record) -> Result<(), Error> {
///     if rec.is_created() {
///         ctx.logger().info("object stored", &[("bucket", rec.bucket.as_str().into()), ("key", rec.key.as_str().into())]);
///     }
///     Ok(())
/// }
/// let app = App::new().on_s3(stored);
/// assert!(app.build().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Record {
    /// `eventName`, e.g. `ObjectCreated:Put` or `ObjectRemoved:Delete`.
    pub event_name: String,
    /// `eventTime` (RFC 3339).
    pub event_time: String,
    /// The bucket's region.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The object key, URL-decoded.
    pub key: String,
    /// The object's size in bytes (absent on deletes).
    pub size: Option<u64>,
    /// The object's ETag (absent on deletes).
    pub etag: Option<String>,
    /// The version, on versioned buckets.
    pub version_id: Option<String>,
}

impl S3Record {
    /// An `ObjectCreated:*` event.
    pub fn is_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated")
    }

    /// An `ObjectRemoved:*` event.
    pub fn is_removed(&self) -> bool {
        self.event_name.starts_with("ObjectRemoved")
    }
}

impl FromContext for S3Record {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let Parsed::S3(records) = super::parsed(ctx) else {
            return Err(Error::bad_request("not an S3 event"));
        };
        let r = super::current(ctx, records, "S3 record")?;
        Ok(S3Record {
            event_name: r.event_name.to_string_owned(),
            event_time: r.event_time.to_string_owned(),
            region: r.aws_region.to_string_owned(),
            bucket: r.s3.bucket.name.to_string_owned(),
            key: r.key(),
            size: r.s3.object.size,
            etag: r.s3.object.etag.as_ref().map(Str::to_string_owned),
            version_id: r.s3.object.version_id.as_ref().map(Str::to_string_owned),
        })
    }
}
