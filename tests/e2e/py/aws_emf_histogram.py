"""The reference for Lift's EMF histograms.

Reads {"values": [...]} from its first argument and prints one JSON object:
- "documents": what aws-embedded-metrics (AWS's EMF library for Python) writes for those values
  recorded into one metric `Latency` (Milliseconds) with dimension service=svc in namespace NS:
  raw values, at most 100 per document;
- "java_bins": the bins aws-embedded-metrics-java's `Histogram` puts the same values in, computed
  here with Python's math: bin i = floor(ln v / ln 1.1), written as exp((i + 0.5) * ln 1.1), as
  [[bin value, count], ...] in ascending order.

The Python library has no histogram type, so the comparison is: Lift's Count, Sum, Min and Max
equal the statistics of every value the Python library wrote, and Lift's Values/Counts are the
exact values (at most 100 distinct) or these bins (more than 100).
"""
import json
import math
import sys

from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer

values = json.loads(sys.argv[1])["values"]
context = MetricsContext.empty()
context.namespace = "NS"
context.put_dimensions({"service": "svc"})
for v in values:
    context.put_metric("Latency", float(v), "Milliseconds")
documents = [json.loads(d) for d in LogSerializer.serialize(context)]

bin_size = math.log(1.1)
bins = {}
for v in values:
    i = math.floor(math.log(v) / bin_size)
    bins[i] = bins.get(i, 0) + 1
java_bins = [[math.exp((i + 0.5) * bin_size), n] for i, n in sorted(bins.items())]

json.dump({"documents": documents, "java_bins": java_bins}, sys.stdout)
