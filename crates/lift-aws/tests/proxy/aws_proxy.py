"""A test proxy in front of moto: translates the AWS SDK for Rust's Smithy RPC v2 CBOR calls
(CloudWatch) into moto's JSON protocol, and injects faults on demand.

    aws_proxy.py LISTEN_PORT UPSTREAM_PORT

Every request is forwarded to moto on 127.0.0.1:UPSTREAM_PORT:

- `POST /service/<Service>/operation/<Operation>` with a CBOR body (`smithy-protocol:
  rpc-v2-cbor`) becomes a JSON 1.0 call (`X-Amz-Target: <Service>.<Operation>`); the JSON
  answer (result or `{"__type", "message"}` error) goes back as CBOR with the same status;
- anything else (JSON or query protocol) passes through unchanged.

Faults: `POST /__proxy/mode` with a JSON body switches what every later request gets:
`{"mode": "pass"}` (the default), `{"mode": "status", "status": 500}` (an empty error with that
status), `{"mode": "throttle"}` (400 `ThrottlingException`, in the caller's protocol),
`{"mode": "error", "status": 400, "code": "AccessDenied"}` (that error code with that status,
in the caller's protocol),
`{"mode": "delay", "ms": N}` (forwarded after N ms), `{"mode": "close"}` (the connection is
closed without an answer). `GET /__proxy/stats` answers `{"requests": n, "forwarded": n,
"trace_headers": [...]}`, the `X-Amzn-Trace-Id` of each request (or null).

Standard library and cbor2 only. Prints `listening` once it accepts connections.
"""

import datetime
import http.client
import http.server
import json
import re
import socketserver
import sys
import threading
import time

import cbor2

LISTEN, UPSTREAM = int(sys.argv[1]), int(sys.argv[2])
STATE = {"mode": {"mode": "pass"}, "requests": 0, "forwarded": 0, "trace_headers": []}
LOCK = threading.Lock()
RPC = re.compile(r"^/service/([^/]+)/operation/([^/?]+)")


def to_json(value):
    """CBOR values JSON cannot carry: timestamps become epoch seconds, bytes stay bytes' text."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    return value


TIMESTAMP_KEYS = {"Timestamp", "StartTime", "EndTime", "StateUpdatedTimestamp",
                  "AlarmConfigurationUpdatedTimestamp", "LastModified", "StateTransitionedTimestamp"}


def to_cbor(value, key=None):
    """moto's JSON back into CBOR values: epoch numbers under timestamp keys become tag 1."""
    if isinstance(value, dict):
        return {k: to_cbor(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cbor(v, key) for v in value]
    if key in TIMESTAMP_KEYS and isinstance(value, (int, float)):
        return cbor2.CBORTag(1, float(value))
    if key in TIMESTAMP_KEYS and isinstance(value, str):
        try:
            return cbor2.CBORTag(1, datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return value
    return value


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__proxy/mode":
            with LOCK:
                STATE["mode"] = json.loads(body or b"{}")
            return self.reply(200, [("Content-Type", "application/json")], b"{}")
        if self.path == "/__proxy/stats":
            with LOCK:
                out = {
                    "requests": STATE["requests"],
                    "forwarded": STATE["forwarded"],
                    "trace_headers": STATE["trace_headers"],
                }
            return self.reply(200, [("Content-Type", "application/json")], json.dumps(out).encode())
        with LOCK:
            STATE["requests"] += 1
            STATE["trace_headers"].append(self.headers.get("X-Amzn-Trace-Id"))
            mode = dict(STATE["mode"])
        rpc = RPC.match(self.path)
        cbor = rpc is not None and "cbor" in (self.headers.get("Content-Type") or "")
        kind = mode.get("mode", "pass")
        if kind == "close":
            self.close_connection = True
            self.connection.close()
            return
        if kind == "status":
            return self.reply(int(mode.get("status", 500)), [], b"")
        if kind in ("throttle", "error"):
            code = mode.get("code", "ThrottlingException")
            status = int(mode.get("status", 400))
            err = {"__type": code, "message": "injected by the test proxy"}
            if cbor:
                return self.reply(status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], cbor2.dumps(err))
            return self.reply(status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-errortype", code)], json.dumps(err).encode())
        if kind == "delay":
            time.sleep(int(mode.get("ms", 0)) / 1000)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "smithy-protocol", "content-type", "accept")}
        if cbor:
            service, operation = rpc.group(1), rpc.group(2)
            payload = json.dumps(to_json(cbor2.loads(body) if body else {})).encode()
            headers["X-Amz-Target"] = f"{service}.{operation}"
            headers["Content-Type"] = "application/x-amz-json-1.0"
            path = "/"
        else:
            payload = body
            if self.headers.get("Content-Type"):
                headers["Content-Type"] = self.headers["Content-Type"]
            path = self.path
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        conn.request(self.command, path, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        with LOCK:
            STATE["forwarded"] += 1
        if cbor:
            value = json.loads(data) if data.strip() else {}
            if resp.status >= 400 and "__type" not in value:
                kind = resp.getheader("x-amzn-errortype") or "InternalFailure"
                value = {"__type": kind.split(":")[0], "message": value.get("message", "")}
            out = cbor2.dumps(to_cbor(value))
            return self.reply(resp.status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], out)
        passed = [(k, v) for k, v in resp.getheaders() if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server")]
        return self.reply(resp.status, passed, data)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", LISTEN), Handler)
print("listening", flush=True)
server.serve_forever()
