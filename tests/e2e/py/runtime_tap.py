"""A tap between a function and the Runtime API: forwards every request to the real endpoint
and records, for each event handed out by `GET .../invocation/next`, its request id and the
`Lambda-Runtime-Trace-Id` header, one JSON object a line in the given file.

    python runtime_tap.py <listen-port> <upstream-port> <record-file>
"""

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN, UPSTREAM, RECORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


class Tap(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        resp = upstream.getresponse()
        data = resp.read()
        if self.path.endswith("/invocation/next") and resp.status == 200:
            entry = {
                "request_id": resp.getheader("Lambda-Runtime-Aws-Request-Id"),
                "trace": resp.getheader("Lambda-Runtime-Trace-Id"),
            }
            with lock, open(RECORD, "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = forward

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", LISTEN), Tap).serve_forever()
