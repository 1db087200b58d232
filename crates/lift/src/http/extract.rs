//! Typed extractors: values a handler takes as arguments after the [`Context`].

use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::{Error, FieldError};
use crate::http::Json;

/// A value built from the invocation before the handler runs. An error short-circuits the
/// handler and becomes the response.
pub trait FromContext: Sized + Send + 'static {
    /// Build the value, or fail with the error the client should see.
    fn from_context(ctx: &Context) -> Result<Self, Error>;
}

/// The body as JSON: `content-type` other than JSON → 415, malformed JSON or wrong shape → 400.
impl<T: DeserializeOwned + Send + 'static> FromContext for Json<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        ctx.request().json().map(Json)
    }
}

/// Validation of a request type, listing each field that fails and why.
///
/// With the `validate` feature (on by default) every type that derives
/// [`garde::Validate`](https://docs.rs/garde) gets this for free; otherwise implement it by hand.
pub trait Validate {
    /// `Ok(())`, or every field that failed.
    fn validate_fields(&self) -> Result<(), Vec<FieldError>>;
}

#[cfg(feature = "validate")]
impl<T: garde::Validate<Context = ()>> Validate for T {
    fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        garde::Validate::validate(self).map_err(|report| {
            report
                .iter()
                .map(|(path, e)| FieldError {
                    field: path.to_string(),
                    message: e.message().to_string(),
                })
                .collect()
        })
    }
}

/// A JSON body that is then validated: the [`Json`] errors, plus 422 listing each failed field.
///
/// ```
/// use lift::{App, Context, http::{Json, ValidJson}};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize, garde::Validate)]
/// struct NewUser {
///     #[garde(length(chars, min = 1, max = 64))]
///     name: String,
///     #[garde(email)]
///     email: String,
/// }
///
/// async fn create(_ctx: Context, ValidJson(user): ValidJson<NewUser>) -> Json<NewUser> {
///     Json(user)
/// }
/// let app = App::new().post("/users", create);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + Validate + Send + 'static> FromContext for ValidJson<T> {
    fn from_context(ctx: &Context) -> Result<Self, Error> {
        let value: T = ctx.request().json()?;
        value.validate_fields().map_err(Error::validation)?;
        Ok(ValidJson(value))
    }
}
