"""The EMF documents Powertools for AWS Lambda (Python) writes for a fixed set of metrics.

Run by tests/e2e/tests/emf_powertools.rs with the test venv's Python (scripts/setup.sh installs
aws-lambda-powertools there). It records, in one handler invocation decorated like a real
function (`log_metrics(capture_cold_start_metric=True)`):

    dimension  tenant=acme                          (service=svc comes from Metrics(service=))
    Requests   Count          1, then 2
    Latency    Milliseconds   1.5, 1.5, 3.0
    Bytes      Bytes          10
    QueueWait  Milliseconds   0.25, high resolution (StorageResolution 1)

and prints one JSON object on stdout:

    {"powertools_version": "...", "documents": [<each EMF document Powertools printed>]}

The documents are exactly what Powertools writes to stdout when it flushes (the ColdStart
document, then `json.dumps(metrics.serialize_metric_set())`), captured and parsed back.
"""

import contextlib
import io
import json
from importlib.metadata import version

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit


class Context:
    """The part of a LambdaContext Powertools' cold-start metric reads."""

    function_name = "local"  # Lift's test invocations run with function name `local`


metrics = Metrics(namespace="Lift/Compare", service="svc")


@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    metrics.add_dimension(name="tenant", value="acme")
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=2)
    for value in (1.5, 1.5, 3.0):
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=value)
    metrics.add_metric(name="Bytes", unit=MetricUnit.Bytes, value=10)
    metrics.add_metric(
        name="QueueWait",
        unit=MetricUnit.Milliseconds,
        value=0.25,
        resolution=MetricResolution.High,
    )
    return {"statusCode": 200}


def main():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        handler({}, Context())
    documents = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    print(
        json.dumps(
            {
                "powertools_version": version("aws-lambda-powertools"),
                "documents": documents,
            }
        )
    )


if __name__ == "__main__":
    main()
