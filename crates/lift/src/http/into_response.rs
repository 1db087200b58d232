//! How values become responses: [`IntoResponse`] for what handlers return (a [`Response`], an
//! [`Error`], text, a status, [`Json`]), and an [`Error`]'s own response.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use super::error::Error;
use super::response::Response;

impl Error {
    /// The response a client gets for this error: its status, the JSON error body carrying
    /// `request_id`, and its headers. The internal cause is not in it.
    pub fn to_response(&self, request_id: &str) -> Response {
        let mut r = Response::new(self.status()).with_body(self.to_body(request_id));
        let headers = r.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in self.headers() {
            headers.append(name.clone(), value.clone());
        }
        r
    }
}

/// What a handler may return: anything that becomes a [`Response`] or an [`Error`].
pub trait IntoResponse {
    /// Convert into a response, or an error that the corridor renders as one.
    fn into_response(self) -> Result<Response, Error>;
}

impl IntoResponse for Response {
    fn into_response(self) -> Result<Response, Error> {
        Ok(self)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Result<Response, Error> {
        Err(self)
    }
}

impl<T: IntoResponse, E: Into<Error>> IntoResponse for Result<T, E> {
    fn into_response(self) -> Result<Response, Error> {
        self.map_err(Into::into)?.into_response()
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Result<Response, Error> {
        Ok(Response::new(self))
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Result<Response, Error> {
        Ok(Response::new(StatusCode::NO_CONTENT))
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Result<Response, Error> {
        Ok(Response::bytes("text/plain; charset=utf-8", self))
    }
}

impl IntoResponse for std::sync::Arc<str> {
    fn into_response(self) -> Result<Response, Error> {
        Ok(Response::text(self.to_string()))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Result<Response, Error> {
        Ok(Response::text(self))
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Result<Response, Error> {
        let mut r = self.1.into_response()?;
        r.set_status(self.0);
        Ok(r)
    }
}

/// A JSON response (status 200 unless paired with one: `(StatusCode::CREATED, Json(v))`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Result<Response, Error> {
        Response::json(&self.0)
    }
}
