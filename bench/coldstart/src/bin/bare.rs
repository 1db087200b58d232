//! The bare `lambda_runtime` function Lift's cold start is measured against: an echo, the
//! smallest function the runtime runs, started the way `cargo lambda new` starts one.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
