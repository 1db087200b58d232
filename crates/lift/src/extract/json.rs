//! The JSON body as an extractor: [`Json`](crate::http::Json) (also a response) and
//! [`ValidJson`], validated through [`Validate`].

use serde::de::DeserializeOwned;

use super::FromContext;
use crate::context::Context;
use crate::http::{Error, FieldError, Json};

/// The body as JSON: `content-type` other than JSON → 415, malformed JSON or wrong shape → 400.
impl<T: DeserializeOwned + Send + 'static> FromContext for Json<T> {
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
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
/// use lift::{App, Context, extract::ValidJson, http::Json};
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
    type Rejection = Error;

    async fn from_context(ctx: &mut Context) -> Result<Self, Error> {
        let value: T = ctx.request().json()?;
        value.validate_fields().map_err(Error::validation)?;
        Ok(ValidJson(value))
    }
}
