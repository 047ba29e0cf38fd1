#!/usr/bin/env python3
"""A small OpenAI-compatible chat-completions server for the EcologyLLM tests.

It binds 127.0.0.1 on a free port, prints the port on its first stdout line, and
exits when its stdin closes (so it never outlives the test process).

The base URL's path chooses the behaviour: every segment before /chat/completions
of the form name=value is an option (values are URL-decoded):
  usage=P,C      report prompt_tokens=P, completion_tokens=C
                 (default: P = ceil(bytes of the messages' contents / 4),
                  C = ceil(bytes of the reply / 4), at most max_tokens)
  nousage=1      leave usage out of the reply
  status=N       answer with HTTP status N (and an OpenAI-style error body)
  retry=V        send "Retry-After: V"
  delay=S        sleep S seconds before answering
  tools=1        call the first tool offered, with arguments {"x": 1}
  malformed=1    answer 200 with JSON that is not a chat completion
  notjson=1      answer 200 with a body that is not JSON
  truncate=1     answer 200 announcing the whole chat completion (Content-Length) but
                 send only its first half, then close the connection
  endless=1      answer 200 with headers announcing a large body, then send one byte of
                 it every 0.1 s, never finishing (until the client goes away)
  reply=TEXT     reply with TEXT (default: "echo: " + the last message's content)
  tag=ANY        ignored: lets a test find its own requests in the log

GET /requests answers with every POST received: [{"path","headers","body"}].
Replies carry an increasing "id", so two identical requests get different bodies.
"""
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
COUNTER = [0]


def ceil_div(a, b):
    return (a + b - 1) // b


def options(path):
    opts = {}
    for seg in path.split("/"):
        if "=" in seg:
            k, v = seg.split("=", 1)
            opts[k] = urllib.parse.unquote(v)
    return opts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, headers=None):
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        if self.path == "/requests":
            with LOCK:
                body = json.dumps(REQUESTS)
            self.send_body(200, body)
        else:
            self.send_body(404, json.dumps({"error": {"message": "not found"}}))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = self.path
        with LOCK:
            COUNTER[0] += 1
            n = COUNTER[0]
            REQUESTS.append({"path": path,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": raw.decode("utf-8", "replace")})
        if not path.endswith("/chat/completions"):
            self.send_body(404, json.dumps({"error": {"message": "unknown path " + path}}))
            return
        opts = options(path[: -len("/chat/completions")])
        if "delay" in opts:
            time.sleep(float(opts["delay"]))
        headers = {}
        if "retry" in opts:
            headers["Retry-After"] = opts["retry"]
        if "status" in opts:
            status = int(opts["status"])
            self.send_body(status, json.dumps({"error": {"message": "fake status %d" % status,
                                                         "type": "fake"}}), headers)
            return
        if "endless" in opts:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(1 << 30))
                self.end_headers()
                self.wfile.write(b'{"id": "endless", "choices": [')
                self.wfile.flush()
                while True:
                    time.sleep(0.1)
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass
            self.close_connection = True
            return
        if "notjson" in opts:
            self.send_body(200, "<html>surprise</html>", headers)
            return
        if "malformed" in opts:
            self.send_body(200, json.dumps({"id": "x", "object": "chat.completion", "choices": "nope"}), headers)
            return
        req = json.loads(raw)
        messages = req.get("messages", [])
        max_tokens = int(req.get("max_tokens") or 1 << 30)
        if "tools" in opts and req.get("tools"):
            name = req["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None,
                       "tool_calls": [{"id": "call_%d" % n, "type": "function",
                                       "function": {"name": name, "arguments": json.dumps({"x": 1})}}]}
            finish = "tool_calls"
            reply_text = name + json.dumps({"x": 1})
        else:
            if "reply" in opts:
                reply_text = opts["reply"]
            else:
                last = messages[-1].get("content") if messages else ""
                reply_text = "echo: " + (last or "")
            message = {"role": "assistant", "content": reply_text}
            finish = "stop"
        body = {"id": "chatcmpl-%d" % n, "object": "chat.completion", "created": 1700000000 + n,
                "model": req.get("model"), "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
        if "nousage" not in opts:
            if "usage" in opts:
                p, c = (int(x) for x in opts["usage"].split(","))
            else:
                p = ceil_div(sum(len((m.get("content") or "").encode("utf-8")) for m in messages), 4)
                c = min(max_tokens, ceil_div(len(reply_text.encode("utf-8")), 4))
            body["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        if "truncate" in opts:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.send_body(200, json.dumps(body), headers)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
