#!/usr/bin/env python3
"""The one fake AWS endpoint of the tests and the benchmark: Secrets Manager and SSM Parameter Store on
their real wire format, with the faults moto cannot produce.

Standard library only, so it also runs as a standalone process (bench/bench.py and bench/storm.py
start it so):

    python3 tests/support/faultsm.py --cert server.pem --key server.key --secrets secrets.json \\
        [--parameters parameters.json] [--batch-rate 100] [--ssm-rate 40] [--page-size 10] \\
        [--fault '{"fault": "throttle", "op": "GetSecretValue", "rate": 0.1}'] [--no-record]

It prints one JSON line when it listens, {"port": N, "url": "https://localhost:N"}.

It speaks awsJson 1.1 over HTTP/1.1 with keep-alive, plain or TLS (1.2 and 1.3) with the test CA of
pki.py, and answers both services at once, picked per request by `X-Amz-Target`:
  secretsmanager.GetSecretValue, secretsmanager.BatchGetSecretValue      from `secrets`
  AmazonSSM.GetParameters, AmazonSSM.GetParametersByPath                 from `parameters`
GetParameters takes 1 to 10 names (a name, `name:selector` or a parameter ARN, with a version number
or a label as selector), answers in name order and lists what it cannot find in InvalidParameters;
GetParametersByPath (Recursive or not) pages by `NextToken`, at most MaxResults (1 to 10) and at most
the server's `page_size` per page. Signatures are not checked (moto does that); a request without a
SigV4 `Authorization` header is refused with MissingAuthenticationTokenException, so a client that
forgot to sign is caught. The access key id of each request is read from that header, so calls can
be counted per caller (the storm gives each start its own key).

Faults (`fault` names, with their parameters), for any operation unless said otherwise:
  throttle      ThrottlingException, HTTP 400; `retry_after_ms` adds `x-amz-retry-after`
  error         any AWS error: `code` (InternalServiceError for Secrets Manager, InternalServerError
                for SSM), `status` (400; 500 for InternalServerError), `message`, `how` ("__type",
                "code" or "header"), `retry_after_ms`
  status        a bare HTTP status without an AWS error code: `status` (503), `body_text`,
                `content_type`
  reset         the connection is reset (RST) instead of an answer
  close         the connection is closed (FIN) instead of an answer
  stall_headers no answer at all for `seconds` (default: until the server stops), then the connection
                is closed
  stall_body    the headers and part of the body (`fraction`, 0.5), then nothing for `seconds`
  truncate      the headers (with the full Content-Length) and part of the body, then the connection
                is closed
  invalid_json  HTTP 200 with the real reply, values included, made invalid JSON
  content_type  an HTML page (a proxy's or a load balancer's) instead of JSON: `status` (200)
  slow          the normal answer after `seconds`
  gate          the normal answer once `count` (2) requests this rule took are waiting together (or
                after `seconds`, 10, if they never are), and `then` (0.2) seconds more: with `count`
                the number of requests the client should have in flight, `max_in_flight` then shows
                whether it reached that number, and whether it went past it
  clock         a signature/clock answer: `code` one of InvalidSignatureException (400),
                SignatureDoesNotMatch (403, IAM-style XML) or RequestExpired (400)
  reorder       the normal answer with its list (SecretValues, Parameters) in reverse order
  entry_error   BatchGetSecretValue only: the secrets named in `secrets` (default all asked for) are
                moved from SecretValues to Errors[] with `code`
  invalid_parameters  GetParameters only: the names in `names` (default all asked for) are moved
                from Parameters to InvalidParameters, on HTTP 200
  name_as       GetParameters and GetParametersByPath: each parameter comes back with `use` ("name"
                or "arn") as its Name, whatever the request used

A rule selects requests by operation (`op`), by resource (`secret` or `name`, the same thing: a
SecretId, one of a SecretIdList, one of GetParameters' Names, or a Path), and then by `times` (the
first N it matches), `nth` (the operation's request numbers, from 1) or `rate` (a probability, from a
seeded generator). The first rule that selects a request decides its fault; with none, the request is
answered normally.

Quotas are token buckets, checked before the rules. A key is an operation, or a tuple of operations
that share one bucket: `quotas={BATCH: (100, 100), SSM_READS: (40, 40)}` is 100 batch calls a second
with a burst of 100, and 40 a second shared by GetParameter, GetParameters and GetParametersByPath.
An empty bucket answers ThrottlingException. `AWS_QUOTAS` holds the services' defaults.

Every request is counted per operation and outcome (`ok`, `quota`, `unsigned` or the fault's name),
per access key, with the server's own handling time of normal answers (`handling_us`), the TCP
connections accepted and the most requests in flight at once. With `record` on (the default) each
request is also kept (`calls`): operation, its number, body, headers, arrival time, access key,
request id, outcome, and the secret ids or parameter names (or path) it named. The standalone way in:
`GET /_faultsm/stats` returns the counts as JSON, `POST /_faultsm/reset` clears them, `POST
/_faultsm/faults` with a JSON list of rules replaces the rules.
"""

import argparse
import base64
import json
import random
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
SSM_ARN_PREFIX = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
VERSION = "fa017000-0000-4000-8000-000000000001"
MODIFIED = 1.7e9
GET = "GetSecretValue"
BATCH = "BatchGetSecretValue"
PARAMS = "GetParameters"
BY_PATH = "GetParametersByPath"
SSM_READS = ("GetParameter", PARAMS, BY_PATH)  # one shared quota (README, Parameter Store quotas)
SERVICES = {"secretsmanager": "secretsmanager", "AmazonSSM": "ssm"}  # X-Amz-Target prefix -> service
AWS_QUOTAS = {BATCH: (100.0, 100.0), GET: (10000.0, 10000.0), SSM_READS: (40.0, 40.0)}
PAGE_SIZE = 10  # GetParametersByPath's largest page
IDLE_SECONDS = 30  # an idle keep-alive connection is closed after this

FAULTS = ("throttle", "error", "status", "reset", "close", "stall_headers", "stall_body", "truncate",
          "invalid_json", "content_type", "slow", "gate", "clock", "reorder", "entry_error", "invalid_parameters",
          "name_as")

CLOCK = {
    "InvalidSignatureException": (400, "json", "Signature expired: 20260101T000000Z is now earlier than "
                                  "20260101T001000Z (20260101T001500Z - 5 min.)"),
    "SignatureDoesNotMatch": (403, "xml", "Signature not yet current: 20260101T003000Z is still later than "
                              "20260101T002000Z (20260101T001500Z + 5 min.)"),
    "RequestExpired": (400, "json", "Request has expired."),
}

HTML = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>")

NOT_FOUND = "Secrets Manager can't find the specified secret."


# ---------------------------------------------------------------- the data


def arn_of(name):
    return f"{ARN_PREFIX}{name}-AbCdEf"


def entry(name, value):
    e = {"ARN": arn_of(name), "Name": name, "VersionId": VERSION, "VersionStages": ["AWSCURRENT"],
         "CreatedDate": MODIFIED}
    if isinstance(value, bytes):
        e["SecretBinary"] = base64.b64encode(value).decode()
    else:
        e["SecretString"] = value
    return e


def ssm_arn(name):
    """A parameter's ARN: `parameter/prod/db` for /prod/db, `parameter/host` for host."""
    return f"{SSM_ARN_PREFIX}{name if name.startswith('/') else '/' + name}"


def ssm_name(arn):
    """The name an ARN's `parameter/...` stands for (a hierarchical name starts with /)."""
    rest = arn.split(":", 5)[5][len("parameter/"):]
    return "/" + rest if "/" in rest else rest


@dataclass
class Parameter:
    """A parameter's versions (values, version i + 1 at index i; the last is current), type and labels."""

    versions: list
    type: str = "String"
    labels: dict = field(default_factory=dict)  # label -> version number
    arn: str | None = None  # set for a parameter keyed by ARN (one shared from another account)

    @classmethod
    def of(cls, key, spec):
        """From a `parameters` entry: a value (String, version 1) or {"versions" or "value", "type",
        "labels"}. A key that is an ARN names a parameter by its ARN."""
        if isinstance(spec, Parameter):
            p = spec
        elif isinstance(spec, dict):
            versions = spec.get("versions") or [spec["value"]]
            p = cls(list(versions), spec.get("type", "String"), dict(spec.get("labels") or {}))
        else:
            p = cls([spec])
        if key.startswith("arn:"):
            p.arn = key
        return p


def split_selector(ref):
    """`name[:selector]` or `arn:...:parameter/path[:selector]` -> (name or ARN, selector or None)."""
    head = ""
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)
        if len(parts) < 6:
            return ref, None
        head, ref = ":".join(parts[:5]) + ":", parts[5]
    base, sep, selector = ref.partition(":")
    return head + base, (selector if sep else None)


# ---------------------------------------------------------------- quotas and rules


class TokenBucket:
    """`rate` tokens a second, at most `burst` banked; starts full. `clock` is for tests."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self.tokens, self.last = self.burst, clock()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = self.clock()
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
    secret: str | None = None  # a resource: secret id, parameter name (as asked) or path
    times: int | None = None
    nth: tuple = ()
    rate: float | None = None
    params: dict = field(default_factory=dict)
    hits: int = 0

    def selects(self, op, n, ids, rng):
        if self.op is not None and op != self.op:
            return False
        if self.secret is not None and self.secret not in ids:
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
    service: str = "secretsmanager"

    @property
    def ids(self):
        """What the request named: secret ids, parameter names as asked, or [Path]."""
        if not isinstance(self.body, dict):
            return []
        if self.op == BATCH:
            return list(self.body.get("SecretIdList") or [])
        if self.op == GET:
            return [self.body.get("SecretId")]
        if self.op == PARAMS:
            return list(self.body.get("Names") or [])
        if self.op == BY_PATH:
            return [self.body.get("Path")]
        return []

    secret_ids = ids


# ---------------------------------------------------------------- the server


class FaultServer:
    """The server; `url` is where it listens. Stop it with `stop()` (which also ends every stall)."""

    def __init__(self, secrets=None, parameters=None, pki=None, cert=None, key=None, quotas=None, seed=0,
                 host="127.0.0.1", port=0, record=True, page_size=PAGE_SIZE):
        self.secrets = dict(secrets or {})  # name -> str (SecretString) or bytes (SecretBinary)
        self.parameters = {}  # name -> Parameter
        for k, spec in (parameters or {}).items():
            p = Parameter.of(k, spec)
            self.parameters[ssm_name(k) if p.arn else k] = p
        self.page_size = page_size
        self.rules = []
        self.calls = []
        self.record = record
        self.stats = {}  # op -> outcome -> n
        self.by_key = {}  # access key -> op -> outcome -> n
        self.handling_us = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.handshake_stalls = 0
        self._n = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self.buckets = {}
        for ops, rb in (quotas or {}).items():
            if rb and rb[0] > 0:
                bucket = TokenBucket(*rb)
                for op in (ops if isinstance(ops, tuple) else (ops,)):
                    self.buckets[op] = bucket
        if pki:
            cert, key = pki["cert"], pki["key"]
        ctx = None
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, key)
            ctx.set_alpn_protocols(["http/1.1"])
        self.httpd = _Server((host, port), self, ctx)
        self.port = self.httpd.server_address[1]
        self.url = f"https://localhost:{self.port}" if ctx else f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # -- telling it what to do
    def fault(self, fault, op=None, secret=None, times=None, nth=(), rate=None, name=None, **params):
        """Adds a rule (see the module doc); returns it (its `hits` counts the requests it took)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        if fault == "gate":
            params["barrier"] = threading.Barrier(params.pop("count", 2))
        rule = Rule(fault, op, secret if secret is not None else name, times, tuple(nth) if nth else (), rate,
                    params)
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
        """[outcome, ...] of each request of `op` (or all), in arrival order (needs `record`)."""
        with self._lock:
            return [c.outcome for c in self.calls if op in (None, c.op)]

    def requests(self, op=None):
        """[what each request of `op` (or all) named, ...] in arrival order (needs `record`)."""
        with self._lock:
            return [c.ids for c in self.calls if op in (None, c.op)]

    def reset_stats(self):
        with self._lock:
            self.calls.clear()
            self.stats.clear()
            self.by_key.clear()
            self.handling_us.clear()
            self._n.clear()
            self.connections = 0
            self.max_in_flight = self.in_flight

    def snapshot(self):
        with self._lock:
            return {"stats": json.loads(json.dumps(self.stats)), "by_key": json.loads(json.dumps(self.by_key)),
                    "requests": {op: sum(by.values()) for op, by in self.stats.items()},
                    "handling_us": list(self.handling_us), "connections": self.connections,
                    "max_in_flight": self.max_in_flight}

    def stop(self):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- internals
    def _admit(self, op, service, body, headers, key):
        """Records a request; returns (call, rule or None, quota refused?)."""
        with self._lock:
            self._n[op] = n = self._n.get(op, 0) + 1
            self._seq += 1
            call = Call(op, n, body, headers, time.monotonic(), key, f"faultsm-{self._seq:07d}", service=service)
            if self.record:
                self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        bucket = self.buckets.get(op)
        if bucket is not None and not bucket.take():
            return call, None, True
        ids = set(call.ids)
        with self._lock:
            for rule in self.rules:
                if rule.selects(op, n, ids, self._rng):
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

    def _done(self, handling_ns=None):
        with self._lock:
            self.in_flight -= 1
            if handling_ns is not None:
                self.handling_us.append(round(handling_ns / 1000, 1))

    def _take_handshake_stall(self):
        with self._lock:
            self.connections += 1
            if self.handshake_stalls > 0:
                self.handshake_stalls -= 1
                return True
            return False

    # -- the normal answers
    def _lookup(self, secret_id):
        for name, value in self.secrets.items():
            if secret_id in (name, arn_of(name), ARN_PREFIX + name):
                return name, value
        return None, None

    def _parameter(self, ref):
        """(name, Parameter, selector, version number) for a GetParameters name, or None."""
        base, selector = split_selector(ref)
        if base.startswith("arn:"):
            name = next((n for n, p in self.parameters.items() if base == (p.arn or ssm_arn(n))), None)
        else:
            name = base if base in self.parameters and not self.parameters[base].arn else None
        if name is None:
            return None
        p = self.parameters[name]
        if selector is None:
            version = len(p.versions)
        elif selector.isdigit():
            version = int(selector)
        else:
            version = p.labels.get(selector)
        if version is None or not 1 <= version <= len(p.versions):
            return None
        return name, p, selector, version

    def _parameter_entry(self, name, p, version, asked=None, selector=None, name_as=None):
        arn = p.arn or ssm_arn(name)
        shown = {"name": name, "arn": arn}.get(name_as) or (arn if asked and asked.startswith("arn:") else name)
        e = {"Name": shown, "Type": p.type, "Value": p.versions[version - 1], "Version": version,
             "LastModifiedDate": MODIFIED, "ARN": arn, "DataType": "text"}
        if selector is not None:
            e["Selector"] = f":{selector}"
        return e

    def answer(self, op, body, entry_errors=None, invalid=None, reorder=False, name_as=None):
        """The normal answer: (status, payload dict). `entry_errors` = (code, names or None) moves those
        secrets of a batch into Errors[]; `invalid` = names or None moves those (or all) parameters of
        GetParameters into InvalidParameters; `reorder` reverses the reply's list; `name_as` ("name" or
        "arn") is what each returned parameter's Name is."""
        body = body if isinstance(body, dict) else {}
        if op == GET:
            name, value = self._lookup(body.get("SecretId"))
            if name is None:
                return 400, {"__type": "ResourceNotFoundException", "message": NOT_FOUND}
            return 200, entry(name, value)
        if op == BATCH:
            values, errors = [], []
            ids = body.get("SecretIdList") or []
            if not ids or len(ids) > 20:
                return 400, {"__type": "InvalidParameterException", "message": "SecretIdList must hold 1 to 20 ids."}
            for secret_id in ids:
                name, value = self._lookup(secret_id)
                if entry_errors and (entry_errors[1] is None or secret_id in entry_errors[1]
                                     or name in entry_errors[1]):
                    errors.append({"SecretId": secret_id, "ErrorCode": entry_errors[0],
                                   "Message": f"scripted {entry_errors[0]}"})
                elif name is None:
                    errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                                   "Message": NOT_FOUND})
                else:
                    values.append(entry(name, value))
            return 200, {"SecretValues": values[::-1] if reorder else values, "Errors": errors}
        if op == PARAMS:
            names = body.get("Names")
            if not isinstance(names, list) or not 1 <= len(names) <= 10:
                return 400, validation(f"Value '{names}' at 'names' failed to satisfy constraint: Member must "
                                       "have length less than or equal to 10")
            found, missing = [], []
            for ref in dict.fromkeys(names):
                hit = self._parameter(ref)
                if hit is None or (invalid is not None and (not invalid or ref in invalid or hit[0] in invalid)):
                    missing.append(ref)
                else:
                    name, p, selector, version = hit
                    found.append(self._parameter_entry(name, p, version, ref, selector, name_as))
            found.sort(key=lambda e: e["Name"])  # AWS lists them in alphabetical order
            return 200, {"Parameters": found[::-1] if reorder else found, "InvalidParameters": missing}
        if op == BY_PATH:
            return self._by_path(body, reorder, name_as)
        return 400, {"__type": "UnknownOperationException", "message": f"unknown operation {op!r}"}

    def _by_path(self, body, reorder, name_as):
        path = body.get("Path")
        if not isinstance(path, str) or not path.startswith("/"):
            return 400, validation("Path must start with /")
        most = body.get("MaxResults", PAGE_SIZE)
        if not isinstance(most, int) or not 1 <= most <= PAGE_SIZE:
            return 400, validation(f"Value '{most}' at 'maxResults' failed to satisfy constraint: Member must "
                                   f"have value less than or equal to {PAGE_SIZE}")
        prefix = path.rstrip("/") + "/"
        under = sorted(n for n, p in self.parameters.items() if not p.arn and n.startswith(prefix)
                       and (body.get("Recursive") or "/" not in n[len(prefix):]))
        start = 0
        token = body.get("NextToken")
        if token is not None:
            try:
                token_path, start = base64.b64decode(token, validate=True).decode().rsplit("#", 1)
                start = int(start)
                if token_path != prefix:
                    raise ValueError(token_path)
            except ValueError:
                return 400, {"__type": "InvalidNextToken", "Message": "The specified token isn't valid."}
        end = start + min(most, self.page_size)
        page = [self._parameter_entry(n, self.parameters[n], len(self.parameters[n].versions), name_as=name_as)
                for n in under[start:end]]
        reply = {"Parameters": page[::-1] if reorder else page}
        if end < len(under):
            reply["NextToken"] = base64.b64encode(f"{prefix}#{end}".encode()).decode()
        return 200, reply


def validation(message):
    return {"__type": "ValidationException", "message": f"1 validation error detected: {message}"}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # stop() does not wait for idle keep-alive connections
    allow_reuse_address = True
    request_queue_size = 4096  # a storm connects hundreds at once; the default 5 drops SYNs

    def __init__(self, address, owner, ctx):
        self.owner, self.ctx = owner, ctx
        super().__init__(address, None)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so a stalled or slow
        # client never holds up the accept loop.
        if self.owner._take_handshake_stall():
            self.owner._stop.wait()
            return
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx is not None:
            try:
                request.settimeout(IDLE_SECONDS)
                request = self.ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        conn = _Connection(request, self.owner)
        try:
            conn.serve()
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date = [0, ""]


def http_date():
    now = int(time.time())
    if _date[0] != now:  # formatting a date costs more than the rest of a reply's head
        _date[:] = [now, formatdate(now, usegmt=True)]
    return _date[1]


class _Connection:
    """One client connection: HTTP/1.1 requests, one after the other, until it closes or idles."""

    def __init__(self, sock, owner):
        self.sock, self.owner = sock, owner
        self.rfile = sock.makefile("rb", 65536)
        self.closing = False

    def close(self):
        try:
            self.rfile.close()  # the socket's file descriptor closes with its last reference
            self.sock.close()
        except OSError:
            pass

    def serve(self):
        self.sock.settimeout(IDLE_SECONDS)
        while not self.closing:
            head = self._read_head()
            if head is None:
                return
            method, path, version, headers = head
            t0 = time.perf_counter_ns()
            if version == "HTTP/1.0" or headers.get("connection", "").lower() == "close":
                self.closing = True
            if headers.get("expect", "").lower() == "100-continue":
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            length = int(headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                return
            if path.startswith("/_faultsm/"):
                self._control(method, path, raw)
            elif method != "POST":
                self._send_json(404, {"__type": "UnknownOperationException", "message": f"{method} {path}"})
            else:
                self._aws(headers, raw, t0)

    def _read_head(self):
        line = self.rfile.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            self.closing = True
            return None
        headers = {}
        for _ in range(200):
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, sep, v = h.decode("latin-1").partition(":")
            if sep:
                headers[k.strip().lower()] = v.strip()
        return parts[0], parts[1], parts[2], headers

    # -- the control endpoints of the standalone process
    def _control(self, method, path, raw):
        owner = self.owner
        if method == "GET" and path == "/_faultsm/stats":
            return self._send_json(200, owner.snapshot(), content_type="application/json")
        if method == "POST" and path == "/_faultsm/reset":
            owner.reset_stats()
            return self._send_json(200, {})
        if method == "POST" and path == "/_faultsm/faults":
            owner.clear()
            for spec in json.loads(raw or b"[]"):
                owner.fault(**spec)
            return self._send_json(200, {})
        self._send_json(404, {"message": "not here"})

    # -- an AWS call
    def _aws(self, headers, raw, t0):
        owner = self.owner
        prefix, _, op = headers.get("x-amz-target", "").rpartition(".")
        service = SERVICES.get(prefix, prefix)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/", headers.get("authorization", ""))
        call, rule, refused = owner._admit(op, service, body, headers, m.group(1) if m else None)
        rid = {"x-amzn-RequestId": call.request_id}
        handled = None  # the server's own time for a normal answer or a quota refusal
        try:
            if m is None:
                owner._settle(call, "unsigned")
                self._send_json(400, {"__type": "MissingAuthenticationTokenException",
                                      "message": "Missing Authentication Token"}, rid)
            elif refused:
                owner._settle(call, "quota")
                self._send_json(400, throttling(service), rid)
                handled = time.perf_counter_ns() - t0
            elif rule is None:
                owner._settle(call, "ok")
                status, payload = owner.answer(op, body)
                self._send_json(status, payload, rid)
                handled = time.perf_counter_ns() - t0
            else:
                owner._settle(call, rule.fault)
                getattr(self, f"_fault_{rule.fault}")(call, rid, **rule.params)
        finally:
            owner._done(handled)

    # -- writing
    def _send_json(self, status, payload, headers=None, content_type="application/x-amz-json-1.1"):
        self._send(status, json.dumps(payload, separators=(",", ":")).encode(), headers, content_type)

    def _send(self, status, data, headers=None, content_type="application/x-amz-json-1.1", length=None,
              send=None):
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", f"Content-Type: {content_type}",
                f"Content-Length: {len(data) if length is None else length}", f"Date: {http_date()}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.closing:
            head.append("Connection: close")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (data if send is None else data[:send]))

    def _hang_up(self, rst):
        self.closing = True
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def _wait(self, seconds):
        self.owner._stop.wait(seconds)

    def _answer(self, call, **mods):
        status, payload = self.owner.answer(call.op, call.body, **mods)
        return status, json.dumps(payload, separators=(",", ":")).encode()

    # -- the faults
    def _fault_throttle(self, call, rid, retry_after_ms=None, status=400, code="ThrottlingException"):
        h = dict(rid)
        if retry_after_ms is not None:
            h["x-amz-retry-after"] = str(retry_after_ms)
        self._send_json(status, dict(throttling(call.service), __type=code), h)

    def _fault_error(self, call, rid, code=None, status=None, message="scripted error", how="__type",
                     retry_after_ms=None):
        if code is None:
            code = "InternalServerError" if call.service == "ssm" else "InternalServiceError"
        if status is None:
            status = 500 if code == "InternalServerError" else 400
        h = dict(rid)
        # SSM's ThrottlingException and InternalServerError spell it "Message" (botocore's model).
        payload = {"Message" if call.service == "ssm" and code in SSM_CAPITAL else "message": message}
        if how == "header":
            h["X-Amzn-ErrorType"] = code
        else:
            payload[how] = code
        if retry_after_ms is not None:
            h["x-amz-retry-after"] = str(retry_after_ms)
        self._send_json(status, payload, h)

    def _fault_status(self, call, rid, status=503, body_text="", content_type="text/plain"):
        self._send(status, body_text.encode(), rid, content_type=content_type)

    def _fault_reset(self, call, rid):
        self._hang_up(rst=True)

    def _fault_close(self, call, rid):
        self._hang_up(rst=False)

    def _fault_stall_headers(self, call, rid, seconds=None):
        self._wait(seconds)
        self._hang_up(rst=False)

    def _fault_stall_body(self, call, rid, seconds=None, fraction=0.5):
        status, data = self._answer(call)
        self._send(status, data, rid, send=int(len(data) * fraction))
        self._wait(seconds)
        self._hang_up(rst=False)

    def _fault_truncate(self, call, rid, fraction=0.5):
        status, data = self._answer(call)
        self._send(status, data, rid, send=int(len(data) * fraction))
        self._hang_up(rst=False)

    def _fault_invalid_json(self, call, rid):
        _, data = self._answer(call)
        # The whole reply, the values in it, with a trailing comma: not JSON any more.
        self._send(200, data[:-1] + b",}", rid)

    def _fault_content_type(self, call, rid, status=200):
        self._send(status, HTML, rid, content_type="text/html; charset=utf-8")

    def _fault_slow(self, call, rid, seconds=0.5):
        self._wait(seconds)
        self._send(*self._answer(call), rid)

    def _fault_gate(self, call, rid, barrier, seconds=10, then=0.2):
        try:
            barrier.wait(seconds)
        except threading.BrokenBarrierError:
            pass  # fewer came than expected: answer anyway (max_in_flight tells)
        self._wait(then)
        self._send(*self._answer(call), rid)

    def _fault_clock(self, call, rid, code="InvalidSignatureException"):
        status, shape, message = CLOCK[code]
        if shape == "xml":
            data = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                    f"</Message></Error><RequestId>{rid['x-amzn-RequestId']}</RequestId></ErrorResponse>")
            return self._send(status, data.encode(), rid, content_type="text/xml")
        self._send_json(status, {"__type": code, "message": message}, rid)

    def _fault_reorder(self, call, rid):
        self._send(*self._answer(call, reorder=True), rid)

    def _fault_entry_error(self, call, rid, code="ThrottlingException", secrets=None):
        self._send(*self._answer(call, entry_errors=(code, set(secrets) if secrets else None)), rid)

    def _fault_invalid_parameters(self, call, rid, names=None):
        self._send(*self._answer(call, invalid=set(names or ())), rid)

    def _fault_name_as(self, call, rid, use="name"):
        self._send(*self._answer(call, name_as=use), rid)


SSM_CAPITAL = ("ThrottlingException", "InternalServerError", "InvalidNextToken")


def throttling(service):
    return {"__type": "ThrottlingException", "Message" if service == "ssm" else "message": "Rate exceeded"}


# ---------------------------------------------------------------- the standalone process


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
    ap.add_argument("--ssm-rate", type=float, default=40.0,
                    help="GetParameter, GetParameters and GetParametersByPath calls a second, shared (0: no "
                         "quota); default 40, as AWS's standard throughput")
    ap.add_argument("--burst-seconds", type=float, default=1.0,
                    help="bucket size, in seconds of the rate (default 1)")
    ap.add_argument("--page-size", type=int, default=PAGE_SIZE, help="GetParametersByPath's page size (1-10)")
    ap.add_argument("--secrets", metavar="FILE", help="JSON object {secret name: SecretString}")
    ap.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--parameters", metavar="FILE",
                    help='JSON object {parameter name or ARN: value, or {"versions", "type", "labels"}}')
    ap.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--fault", action="append", default=[], metavar="JSON",
                    help='a rule, e.g. {"fault": "throttle", "op": "GetSecretValue", "rate": 0.1}')
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-record", action="store_true", help="keep counts only, not every request")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")
    if not 1 <= args.page_size <= PAGE_SIZE:
        ap.error(f"--page-size must be 1 to {PAGE_SIZE}")
    secrets, parameters = {}, {}
    for path, into in ((args.secrets, secrets), (args.parameters, parameters)):
        if path:
            with open(path) as f:
                into.update(json.load(f))
    secrets.update(s.split("=", 1) for s in args.secret)
    parameters.update(p.split("=", 1) for p in args.parameter)
    quotas = {ops: (rate, rate * args.burst_seconds)
              for ops, rate in ((BATCH, args.batch_rate), (GET, args.get_rate), (SSM_READS, args.ssm_rate))
              if rate > 0}
    server = FaultServer(secrets, parameters, cert=args.cert, key=args.key, quotas=quotas, seed=args.seed,
                         host=args.host, port=args.port, record=not args.no_record, page_size=args.page_size)
    for spec in args.fault:
        server.fault(**json.loads(spec))
    print(json.dumps({"port": server.port, "url": server.url}), flush=True)
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
