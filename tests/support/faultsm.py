#!/usr/bin/env python3
"""A fault-injecting Secrets Manager: the faults moto cannot produce, on the real wire format.

Standard library only, so it also runs as a standalone process (the storm in bench/ starts it so):

    python3 tests/support/faultsm.py --cert server.pem --key server.key --batch-rate 100 \\
        --secret storm/s0=VALUE ... [--fault '{"fault": "throttle", "op": "GetSecretValue", "rate": 0.1}']

It speaks awsJson 1.1 (POST /, `X-Amz-Target: secretsmanager.<Operation>`) over HTTP, or HTTPS with
the test CA of pki.py, answers `GetSecretValue` and `BatchGetSecretValue` from its secrets, and can be
told, per request or at a rate, to misbehave. Signatures are not checked (moto does that); the access
key id of each request is read from its `Authorization` header, so calls can be counted per caller.

Faults (`fault` names, with their parameters):
  throttle      ThrottlingException, HTTP 400; `retry_after_ms` adds `x-amz-retry-after`
  error         any AWS error: `code`, `status` (400), `message`, `how` ("__type", "code" or "header"),
                `retry_after_ms`
  status        a bare HTTP status without an AWS error code: `status` (503), `body_text`,
                `content_type`
  reset         the connection is reset (RST) instead of an answer
  close         the connection is closed (FIN) instead of an answer
  stall_headers no answer at all for `seconds` (default: until the server stops), then the connection
                is closed
  stall_body    the headers and part of the body (`fraction`, 0.5), then nothing for `seconds`
  truncate      the headers (with the full Content-Length) and part of the body, then the connection
                is closed
  invalid_json  HTTP 200 with the real reply, secret value included, made invalid JSON
  content_type  an HTML page (a proxy's or a load balancer's) instead of JSON: `status` (200)
  slow          the normal answer after `seconds`
  clock         a signature/clock answer: `code` one of InvalidSignatureException (400),
                SignatureDoesNotMatch (403, IAM-style XML) or RequestExpired (400)
  entry_error   BatchGetSecretValue only: the secrets named in `secrets` (default all asked for) are
                moved from SecretValues to Errors[] with `code`

A rule selects requests by operation (`op`), by secret (`secret`: the SecretId, or one of the
SecretIdList), and then by `times` (the first N it matches), `nth` (the operation's request numbers,
from 1) or `rate` (a probability, from a seeded generator). The first rule that selects a request
decides its fault; with none, the request is answered normally.

Quotas are token buckets per operation, checked before the rules: `quotas={"BatchGetSecretValue":
(100, 100)}` is 100 calls a second with a burst of 100; an empty bucket answers ThrottlingException.
`AWS_QUOTAS` holds Secrets Manager's own (Batch 100/s, Get 10,000/s).

Every request is recorded (`calls`): operation, its number, body, headers, arrival time, the access
key, and what it got (`ok`, `quota`, or the fault's name). The standalone way in: `GET /_faultsm/stats`
returns the counts as JSON ({"stats": {op: {outcome: n}}, "by_key": {key: {op: {outcome: n}}}}),
`POST /_faultsm/reset` clears them, `POST /_faultsm/faults` with a JSON list of rules replaces the rules.
"""

import argparse
import base64
import json
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
VERSION = "fa017000-0000-4000-8000-000000000001"
GET = "GetSecretValue"
BATCH = "BatchGetSecretValue"
AWS_QUOTAS = {BATCH: (100.0, 100.0), GET: (10000.0, 10000.0)}

FAULTS = ("throttle", "error", "status", "reset", "close", "stall_headers", "stall_body", "truncate",
          "invalid_json", "content_type", "slow", "clock", "entry_error")

CLOCK = {
    "InvalidSignatureException": (400, "json", "Signature expired: 20260101T000000Z is now earlier than "
                                  "20260101T001000Z (20260101T001500Z - 5 min.)"),
    "SignatureDoesNotMatch": (403, "xml", "Signature not yet current: 20260101T003000Z is still later than "
                              "20260101T002000Z (20260101T001500Z + 5 min.)"),
    "RequestExpired": (400, "json", "Request has expired."),
}

HTML = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>")


def arn_of(name):
    return f"{ARN_PREFIX}{name}-AbCdEf"


def entry(name, value):
    e = {"ARN": arn_of(name), "Name": name, "VersionId": VERSION, "VersionStages": ["AWSCURRENT"],
         "CreatedDate": 1.7e9}
    if isinstance(value, bytes):
        e["SecretBinary"] = base64.b64encode(value).decode()
    else:
        e["SecretString"] = value
    return e


class TokenBucket:
    """`rate` tokens a second, at most `burst` banked; starts full."""

    def __init__(self, rate, burst):
        self.rate, self.burst = float(rate), float(burst)
        self.tokens, self.last = self.burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Rule:
    fault: str
    op: str | None = None
    secret: str | None = None
    times: int | None = None
    nth: tuple = ()
    rate: float | None = None
    params: dict = field(default_factory=dict)
    hits: int = 0

    def selects(self, op, n, secrets, rng):
        if self.op is not None and op != self.op:
            return False
        if self.secret is not None and self.secret not in secrets:
            return False
        if self.nth and n not in self.nth:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.rate is not None and rng.random() >= self.rate:
            return False
        self.hits += 1
        return True


@dataclass
class Call:
    op: str
    n: int
    body: object
    headers: dict
    t: float
    key: str | None
    request_id: str = ""
    outcome: str = "ok"

    @property
    def secret_ids(self):
        if not isinstance(self.body, dict):
            return []
        if self.op == BATCH:
            return list(self.body.get("SecretIdList") or [])
        return [self.body.get("SecretId")]


class FaultSecretsManager:
    """The server; `url` is where it listens. Stop it with `stop()` (which also ends every stall)."""

    def __init__(self, secrets, pki=None, cert=None, key=None, quotas=None, seed=0,
                 host="127.0.0.1", port=0, record=True):
        self.secrets = dict(secrets)  # name -> str (SecretString) or bytes (SecretBinary)
        self.rules = []
        self.calls = []
        self.record = record
        self.stats = {}  # op -> outcome -> n
        self.by_key = {}  # access key -> op -> outcome -> n
        self.handshake_stalls = 0
        self._n = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self.buckets = {op: TokenBucket(*rb) for op, rb in (quotas or {}).items() if rb and rb[0] > 0}
        if pki:
            cert, key = pki["cert"], pki["key"]
        ctx = None
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        self.httpd = _Server((host, port), _Handler, self, ctx)
        self.port = self.httpd.server_address[1]
        self.url = f"https://localhost:{self.port}" if ctx else f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # -- telling it what to do
    def fault(self, fault, op=None, secret=None, times=None, nth=(), rate=None, **params):
        """Adds a rule (see the module doc); returns it (its `hits` counts the requests it took)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        rule = Rule(fault, op, secret, times, tuple(nth) if nth else (), rate, params)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self.rules.clear()

    def stall_handshakes(self, n):
        """The next `n` connections are accepted and then left without a TLS handshake (or, over plain
        HTTP, without a byte read) until the server stops."""
        with self._lock:
            self.handshake_stalls += n

    # -- what happened
    def count(self, op=None, outcome=None):
        """Requests received, of one operation (or all) and with one outcome (or any)."""
        with self._lock:
            return sum(n for o, by in self.stats.items() if op in (None, o)
                       for out, n in by.items() if outcome in (None, out))

    def counts(self):
        """{operation: requests}."""
        with self._lock:
            return {op: sum(by.values()) for op, by in self.stats.items()}

    def outcomes(self, op=None):
        """[outcome, ...] of each request of `op` (or all), in arrival order."""
        with self._lock:
            return [c.outcome for c in self.calls if op in (None, c.op)]

    def reset_stats(self):
        with self._lock:
            self.calls.clear()
            self.stats.clear()
            self.by_key.clear()
            self._n.clear()

    def snapshot(self):
        with self._lock:
            return {"stats": json.loads(json.dumps(self.stats)), "by_key": json.loads(json.dumps(self.by_key))}

    def stop(self):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- internals
    def _admit(self, op, body, headers):
        """Records a request; returns (call, rule or None, quota refused?)."""
        m = re.search(r"Credential=([^/,\s]+)/", headers.get("authorization", ""))
        key = m.group(1) if m else None
        with self._lock:
            self._n[op] = n = self._n.get(op, 0) + 1
            self._seq += 1
            call = Call(op, n, body, headers, time.monotonic(), key, f"faultsm-{self._seq:07d}")
            if self.record:
                self.calls.append(call)
        bucket = self.buckets.get(op)
        if bucket is not None and not bucket.take():
            return call, None, True
        secrets = set(call.secret_ids)
        with self._lock:
            for rule in self.rules:
                if rule.selects(op, n, secrets, self._rng):
                    return call, rule, False
        return call, None, False

    def _settle(self, call, outcome):
        call.outcome = outcome
        with self._lock:
            by = self.stats.setdefault(call.op, {})
            by[outcome] = by.get(outcome, 0) + 1
            if call.key is not None:
                k = self.by_key.setdefault(call.key, {}).setdefault(call.op, {})
                k[outcome] = k.get(outcome, 0) + 1

    def _take_handshake_stall(self):
        with self._lock:
            if self.handshake_stalls > 0:
                self.handshake_stalls -= 1
                return True
            return False

    def _lookup(self, secret_id):
        for name, value in self.secrets.items():
            if secret_id in (name, arn_of(name), ARN_PREFIX + name):
                return name, value
        return None, None

    def answer(self, op, body, entry_errors=None):
        """The normal answer: (status, payload dict). `entry_errors` = (code, names or None) moves
        those secrets of a batch into Errors[]."""
        body = body if isinstance(body, dict) else {}
        if op == GET:
            name, value = self._lookup(body.get("SecretId"))
            if name is None:
                return 400, {"__type": "ResourceNotFoundException",
                             "message": "Secrets Manager can't find the specified secret."}
            return 200, entry(name, value)
        if op == BATCH:
            values, errors = [], []
            for secret_id in body.get("SecretIdList") or []:
                name, value = self._lookup(secret_id)
                if entry_errors and (entry_errors[1] is None or secret_id in entry_errors[1]
                                     or name in entry_errors[1]):
                    errors.append({"SecretId": secret_id, "ErrorCode": entry_errors[0],
                                   "Message": f"scripted {entry_errors[0]}"})
                elif name is None:
                    errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                                   "Message": "Secrets Manager can't find the specified secret."})
                else:
                    values.append(entry(name, value))
            return 200, {"SecretValues": values, "Errors": errors}
        return 400, {"__type": "UnknownOperationException", "message": f"unknown operation {op!r}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096  # a storm connects hundreds at once; the default 5 drops SYNs

    def __init__(self, address, handler, owner, ctx):
        self.owner, self.ctx = owner, ctx
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so a stalled or slow
        # client never holds up the accept loop.
        if self.owner._take_handshake_stall():
            self.owner._stop.wait()
            return
        if self.ctx is not None:
            try:
                request.settimeout(30)
                request = self.ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                request.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30  # an idle keep-alive connection is closed after this
    server_version = "faultsm"
    sys_version = ""

    def log_message(self, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        if self.path == "/_faultsm/stats":
            return self._send_json(200, owner.snapshot())
        self._send_json(404, {"message": "not here"})

    def do_POST(self):
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_faultsm/reset":
            owner.reset_stats()
            return self._send_json(200, {})
        if self.path == "/_faultsm/faults":
            owner.clear()
            for spec in json.loads(raw or b"[]"):
                owner.fault(**spec)
            return self._send_json(200, {})
        op = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        call, rule, refused = owner._admit(op, body, headers)
        rid = {"x-amzn-RequestId": call.request_id}
        if refused:
            owner._settle(call, "quota")
            return self._send_json(400, {"__type": "ThrottlingException", "message": "Rate exceeded"}, rid)
        if rule is None:
            owner._settle(call, "ok")
            status, payload = owner.answer(op, body)
            return self._send_json(status, payload, rid)
        owner._settle(call, rule.fault)
        getattr(self, f"_fault_{rule.fault}")(owner, op, body, rid, **rule.params)

    # -- writing
    def _send_json(self, status, payload, headers=None):
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status, data, headers=None, content_type="application/x-amz-json-1.1",
              length=None, send=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data if send is None else data[:send])
        self.wfile.flush()

    def _hang_up(self, rst):
        self.close_connection = True
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _wait(self, owner, seconds):
        owner._stop.wait(seconds)

    # -- the faults
    def _fault_throttle(self, owner, op, body, rid, retry_after_ms=None, status=400,
                        code="ThrottlingException"):
        h = dict(rid)
        if retry_after_ms is not None:
            h["x-amz-retry-after"] = str(retry_after_ms)
        self._send_json(status, {"__type": code, "message": "Rate exceeded"}, h)

    def _fault_error(self, owner, op, body, rid, code="InternalServiceError", status=400,
                     message="scripted error", how="__type", retry_after_ms=None):
        h = dict(rid)
        payload = {"message": message}
        if how == "header":
            h["X-Amzn-ErrorType"] = code
        else:
            payload[how] = code
        if retry_after_ms is not None:
            h["x-amz-retry-after"] = str(retry_after_ms)
        self._send_json(status, payload, h)

    def _fault_status(self, owner, op, body, rid, status=503, body_text="", content_type="text/plain"):
        self._send(status, body_text.encode(), rid, content_type=content_type)

    def _fault_reset(self, owner, op, body, rid):
        self._hang_up(rst=True)

    def _fault_close(self, owner, op, body, rid):
        self._hang_up(rst=False)

    def _fault_stall_headers(self, owner, op, body, rid, seconds=None):
        self._wait(owner, seconds)
        self._hang_up(rst=False)

    def _fault_stall_body(self, owner, op, body, rid, seconds=None, fraction=0.5):
        status, payload = owner.answer(op, body)
        data = json.dumps(payload).encode()
        self._send(status, data, rid, send=int(len(data) * fraction))
        self._wait(owner, seconds)
        self._hang_up(rst=False)

    def _fault_truncate(self, owner, op, body, rid, fraction=0.5):
        status, payload = owner.answer(op, body)
        data = json.dumps(payload).encode()
        self._send(status, data, rid, send=int(len(data) * fraction))
        self._hang_up(rst=False)

    def _fault_invalid_json(self, owner, op, body, rid):
        status, payload = owner.answer(op, body)
        data = json.dumps(payload).encode()
        # The whole reply, the secret value in it, with a trailing comma: not JSON any more.
        self._send(200, data[:-1] + b",}", rid)

    def _fault_content_type(self, owner, op, body, rid, status=200):
        self._send(status, HTML, rid, content_type="text/html; charset=utf-8")

    def _fault_slow(self, owner, op, body, rid, seconds=0.5):
        self._wait(owner, seconds)
        status, payload = owner.answer(op, body)
        self._send_json(status, payload, rid)

    def _fault_clock(self, owner, op, body, rid, code="InvalidSignatureException"):
        status, shape, message = CLOCK[code]
        if shape == "xml":
            data = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                    f"</Message></Error><RequestId>{rid['x-amzn-RequestId']}</RequestId></ErrorResponse>")
            return self._send(status, data.encode(), rid, content_type="text/xml")
        self._send_json(status, {"__type": code, "message": message}, rid)

    def _fault_entry_error(self, owner, op, body, rid, code="ThrottlingException", secrets=None):
        status, payload = owner.answer(op, body, (code, set(secrets) if secrets else None))
        self._send_json(status, payload, rid)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", help="server certificate (PEM); with --key, serve HTTPS")
    ap.add_argument("--key")
    ap.add_argument("--batch-rate", type=float, default=100.0,
                    help="BatchGetSecretValue calls a second (0: no quota); default 100, as AWS")
    ap.add_argument("--get-rate", type=float, default=10000.0,
                    help="GetSecretValue calls a second (0: no quota); default 10000, as AWS")
    ap.add_argument("--burst-seconds", type=float, default=1.0,
                    help="bucket size, in seconds of the rate (default 1)")
    ap.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--fault", action="append", default=[], metavar="JSON",
                    help='a rule, e.g. {"fault": "throttle", "op": "GetSecretValue", "rate": 0.1}')
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-record", action="store_true", help="keep counts only, not every request")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")
    secrets = dict(s.split("=", 1) for s in args.secret)
    quotas = {op: (rate, rate * args.burst_seconds)
              for op, rate in ((BATCH, args.batch_rate), (GET, args.get_rate)) if rate > 0}
    server = FaultSecretsManager(secrets, cert=args.cert, key=args.key, quotas=quotas, seed=args.seed,
                                 host=args.host, port=args.port, record=not args.no_record)
    for spec in args.fault:
        server.fault(**json.loads(spec))
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
