"""A scripted Secrets Manager endpoint for behaviour moto cannot produce: retries, throttling, odd error
shapes, DecryptionFailure, a batch AccessDenied that GetSecretValue then allows. Signatures are not
checked (moto does that); every request is recorded as (operation, JSON body, headers with lower-case names).

`respond(op, body, n)` returns (status, headers, payload) where payload is a dict (sent as JSON), bytes,
or None; `n` counts requests of that operation from 1. The default answers from `secrets`.
"""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .motoctl import ACCOUNT, REGION

ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
VERSION = "a1b2c3d4-0000-4000-8000-000000000001"


def arn_of(name):
    return f"{ARN_PREFIX}{name}-AbCdEf"


def entry(name, value):
    return {"ARN": arn_of(name), "Name": name, "VersionId": VERSION, "SecretString": value,
            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1700000000.123}


def error(code, status=400, message="scripted error", request_id="fake-request-0001", how="__type"):
    """An awsJson error reply; `how` picks the discriminator: "__type", "code" or "header"."""
    headers = {"x-amzn-RequestId": request_id} if request_id else {}
    body = {"message": message}
    if how == "header":
        headers["X-Amzn-ErrorType"] = code
    else:
        body[how] = code
    return status, headers, body


class FakeSecretsManager:
    def __init__(self, secrets, respond=None, pki=None):
        self.secrets = dict(secrets)  # name -> SecretString
        self.respond = respond or (lambda op, body, n: None)
        self.requests = []
        self.connections = set()  # client (host, port) pairs: one per TCP connection
        self._n = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                op = target.rsplit(".", 1)[-1]
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                with owner._lock:
                    owner.connections.add(self.client_address)
                    owner.requests.append((op, body, {k.lower(): v for k, v in self.headers.items()}))
                    owner._n[op] = n = owner._n.get(op, 0) + 1
                reply = owner.respond(op, body, n) or owner.default(op, body)
                status, headers, payload = reply
                data = payload if isinstance(payload, bytes) else json.dumps(payload or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        port = self.httpd.server_address[1]
        if pki:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pki["cert"], pki["key"])
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.url = f"https://localhost:{port}"
        else:
            self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def _lookup(self, secret_id):
        for name, value in self.secrets.items():
            if secret_id in (name, arn_of(name), ARN_PREFIX + name):
                return name, value
        return None, None

    def default(self, op, body):
        if op == "GetSecretValue":
            name, value = self._lookup(body.get("SecretId"))
            if name is None:
                return error("ResourceNotFoundException", message="Secrets Manager can't find the specified secret.")
            return 200, {"x-amzn-RequestId": "fake-ok"}, entry(name, value)
        if op == "BatchGetSecretValue":
            values, errors = [], []
            for secret_id in body.get("SecretIdList", []):
                name, value = self._lookup(secret_id)
                if name is None:
                    errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                                   "Message": "Secrets Manager can't find the specified secret."})
                else:
                    values.append(entry(name, value))
            return 200, {"x-amzn-RequestId": "fake-ok"}, {"SecretValues": values, "Errors": errors}
        return error("UnknownOperationException")

    def count(self, op):
        return sum(1 for o, _, _ in self.requests if o == op)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
