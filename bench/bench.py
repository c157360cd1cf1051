#!/usr/bin/env python3
"""Cold-start benchmark: lambda-secrets against the ways people fetch secrets before a runtime starts.

Run through scripts/bench, which builds and installs what the contenders need and then calls this.

Every contender gets the same job: put N secrets (SecretString, whole) from Secrets Manager into N
environment variables and exec the same tiny "runtime" (bench/runtime, bench-runtime), which checks
every variable by sha256 against BENCH_EXPECT and exits 1 if one is missing or wrong. So every timed
run proves its own values; a wrong contender fails the whole benchmark, loudly, before any table is
printed. `curl --aws-sigv4` is the exception: it is one request and starts nothing (the C floor for a
single request); its reply is checked by hash once, before timing, and every timed request must
succeed (--fail).

Measuring (one sample = one fresh process, posix_spawn then wait4):
  wall   spawn to exit of the runtime: "process start to runtime exec" plus the runtime's own
         check (the "runtime alone" row shows that, about a millisecond)
  CPU    user + system time of the process and all the children it waited for (wait4's rusage)
  RSS    peak resident set, from separate runs under GNU time (a child of this large Python process
         would inherit its RSS high-water mark across exec); those runs are not timed
Samples are interleaved, A B C ... A B C ..., over every cell (contender x secret count x added RTT),
so machine noise falls on all of them alike; slow contenders take part in fewer rounds, spread evenly
over the run. Nothing is a warm-up: one verification run per cell comes first and is not counted.

The endpoint is tests/support/faultsm.py, the test suite's fake AWS endpoint, with no quota and no fault
(awsJson 1.1, keep-alive, TLS 1.3, a thread per connection and hand-rolled HTTP/1.1), so the server is
not the bottleneck; its own latency is measured and reported as the baseline. Added
round-trip time goes through bench/delayproxy.py (D ms each way per chunk, the TCP handshake charged
one round trip): "10 ms RTT" is D = 5.

Parameter Store cells (--ssm): the same job with `ssm:NAME` references to SecureString
parameters (1 and 10), and a mixed cell (5 secrets and 5 parameters) beside its two halves alone, for
the contenders that read Parameter Store; reported in their own section and JSON list (`ssm_results`,
`ssm_targets`), after the Secrets Manager cells, from the same interleaved run.

Part two: Lambda's init duration (runtime process start to its first GET /next), from
layer/emulator/runtime_api.py with the Python runtime interface client (awslambdaric), with and
without lambda-secrets as AWS_LAMBDA_EXEC_WRAPPER.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import math
import os
import platform
import random
import re
import secrets as pysecrets
import shlex
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from support.pki import make_pki  # noqa: E402
from support.runner import stop_process  # noqa: E402

import chart  # noqa: E402

REGION = "us-east-1"
KEY_ID, SECRET_KEY, TOKEN = "AKIDLAMBDASECRETSBENCH", "bench-secret-access-key", "bench-session-token"
EMULATOR = ROOT / "layer" / "emulator" / "runtime_api.py"
HANDLER = ROOT / "layer" / "emulator" / "handler.py"
FAULTSM = ROOT / "tests" / "support" / "faultsm.py"  # the endpoint (no quota, no fault)

# The contender targets (bench/README.md, "Targets"): (contender, its median x this >= lambda-secrets' median), judged on 1 secret.
TARGETS = [("curl", 0.40), ("aws-sdk-rust", 0.15), ("boto3", 0.05), ("aws-cli", 0.02)]
SCALING_TARGET = (20, 1, 10, 1.2)  # 20 secrets within 1.2x of 1 secret at 10 ms RTT
# The targets against the floor contender (bench/README.md, "The floor"):
# (secret count, added RTT, wall limit as a ratio to the floor's median).
FLOOR_TARGETS = [(1, 0, 1.15), (1, 10, 1.05), (20, 10, 1.05)]
FLOOR_CPU_MARGIN_MS = 0.5  # lambda-secrets' CPU median at most the floor's + this, 1 secret, +0 ms
# Parameter Store targets (--ssm): 10 parameters within 1.2x of 1 at 10 ms RTT; lambda-secrets
# at most 0.4x curl's GetParameters on 1 parameter at 0 ms; the mixed cell within 1.2x the slower of
# its two halves alone at 10 ms RTT (the services are fetched in parallel).
SSM_SCALING_TARGET = (10, 1, 10, 1.2)
SSM_CURL_TARGET = 0.40
SSM_MIXED_TARGET = (10, 1.2)
SSM_PREFIX = "/bench/p"  # parameters /bench/p00, /bench/p01, ... (SecureString)


def die(msg):
    print(f"\nbench: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- contenders


@dataclass
class Contender:
    name: str
    label: str
    runs_class: str  # fast, medium or slow: how many rounds it takes part in
    argv: object  # (pairs, runtime, out) -> argv; pairs = [(VAR, secret id)]
    env: object = None  # (pairs) -> extra environment
    execs: bool = True  # False: one request, no runtime (curl)
    note: str = ""
    needs: tuple = ()  # paths that must exist
    ssm: bool = False  # reads Parameter Store (`ssm:NAME` references): takes part in the --ssm cells
    mixed: bool = False  # reads both services in one run: takes part in the --ssm mixed cell


def pairs_argv(prefix):
    return lambda pairs, runtime, out: [*prefix, *(f"{v}={s}" for v, s in pairs), "--", runtime]


def contenders_for(a):
    py = sys.executable
    cs = {
        "runtime-alone": Contender(
            "runtime-alone", "runtime alone (values preset)", "fast",
            lambda pairs, runtime, out: [runtime], env=None,
            note="bench-runtime with the values already in its environment: the floor every exec'ing contender includes",
            ssm=True, mixed=True),
        "floor": Contender(
            "floor", "floor (1 pre-signed request)", "fast", floor_argv,
            note="bench/floor: one TLS 1.3 connection, one request signed by the harness, set, exec; "
                 "built like lambda-secrets (static musl, same profile, rustls on ring): the least this "
                 "stack can do", needs=(a.floor,)),
        "lambda-secrets": Contender(
            "lambda-secrets", "lambda-secrets", "fast",
            lambda pairs, runtime, out: [a.binary, runtime],
            env=lambda pairs: {"LAMBDA_SECRETS": json.dumps(dict(pairs))},
            note="release build (static musl), LAMBDA_SECRETS as a JSON object", needs=(a.binary,), ssm=True, mixed=True),
        "curl": Contender(
            "curl", "curl --aws-sigv4 (1 request)", "fast", curl_argv, execs=False,
            note="one GetSecretValue (BatchGetSecretValue for 2+; GetParameters for parameters), no exec: "
                 "the C floor for a single request",
            needs=(a.curl,), ssm=True),
        "aws-sdk-rust": Contender(
            "aws-sdk-rust", "AWS SDK for Rust", "fast", pairs_argv([a.sdk_rust]),
            note="aws-config + aws-sdk-secretsmanager (and aws-sdk-ssm) on tokio (bench/aws-sdk-rust), then exec",
            needs=(a.sdk_rust,), ssm=True, mixed=True),
        "node": Contender(
            "node", "Node.js + SDK v3", "medium", pairs_argv([a.node, str(HERE / "node" / "fetch.mjs")]),
            note="@aws-sdk/client-secrets-manager (and @aws-sdk/client-ssm) v3 (bench/node), then the runtime as a "
                 "child (no execve in Node 20)",
            needs=(a.node, str(HERE / "node" / "node_modules" / "@aws-sdk" / "client-secrets-manager")), ssm=True, mixed=True),
        "boto3": Contender(
            "boto3", "Python boto3", "medium", pairs_argv([py, str(HERE / "contenders" / "boto3_fetch.py")]),
            note="boto3 client (secretsmanager, ssm), fetch, os.execvp", ssm=True, mixed=True),
        "aws-cli": Contender(
            "aws-cli", "AWS CLI shell wrapper", "slow", pairs_argv([str(HERE / "contenders" / "aws-cli.sh")]),
            note="export X=$(aws secretsmanager get-secret-value ...) per variable (aws ssm get-parameters --names N "
                 "--with-decryption for a parameter), then exec (AWS CLI v1)",
            needs=(shutil.which("aws", path=os.path.dirname(py)) or "aws (AWS CLI)",), ssm=True),
    }
    for spec in a.add_contender:
        name, _, cmd = spec.partition("=")
        if not name or not cmd or name in cs:
            die(f"--add-contender wants NAME=COMMAND with a new NAME, got {spec!r}")
        cs[name] = Contender(name, name, "fast", pairs_argv(shlex.split(cmd)), note=f"added: {cmd}",
                             ssm=True, mixed=True)
    if a.ssm_cells:
        cs["node"].needs += (str(HERE / "node" / "node_modules" / "@aws-sdk" / "client-ssm"),)
    return cs


def curl_argv(pairs, runtime, out, *, ctx=None):
    ctx = ctx or curl_argv.ctx
    ids = [s for _, s in pairs]
    if all(s.startswith("ssm:") for s in ids):  # Parameter Store: one GetParameters, decrypted
        body = {"Names": sorted({s[4:] for s in ids}), "WithDecryption": True}
        return [ctx["curl"], "-sS", "--fail", "-o", out or "/dev/null", "--cacert", ctx["ca"],
                "--aws-sigv4", f"aws:amz:{REGION}:ssm", "--user", f"{KEY_ID}:{SECRET_KEY}",
                "-H", f"X-Amz-Security-Token: {TOKEN}", "-H", "X-Amz-Target: AmazonSSM.GetParameters",
                "-H", "Content-Type: application/x-amz-json-1.1", "-d", json.dumps(body), ctx["endpoint"] + "/"]
    if len(ids) == 1:
        target, body = "GetSecretValue", {"SecretId": ids[0]}
    else:
        target, body = "BatchGetSecretValue", {"SecretIdList": sorted(set(ids))}
    return [ctx["curl"], "-sS", "--fail", "-o", out or "/dev/null", "--cacert", ctx["ca"],
            "--aws-sigv4", f"aws:amz:{REGION}:secretsmanager", "--user", f"{KEY_ID}:{SECRET_KEY}",
            "-H", f"X-Amz-Security-Token: {TOKEN}", "-H", f"X-Amz-Target: secretsmanager.{target}",
            "-H", "Content-Type: application/x-amz-json-1.1", "-d", json.dumps(body), ctx["endpoint"] + "/"]


def sigv4_request(host, target, body):
    """A whole HTTP/1.1 awsJson request, SigV4-signed now with the bench credentials (the floor
    contender sends it as is; the server checks that it is signed, not the signature)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = body.encode()
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": amz_date,
               "x-amz-security-token": TOKEN, "x-amz-target": f"secretsmanager.{target}"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{day}/{REGION}/secretsmanager/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (day, REGION, "secretsmanager", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={signed}, "
                                f"Signature={signature}")
    headers["content-length"] = str(len(payload))
    return "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n" + body


def floor_argv(pairs, runtime, out):
    """bench-floor HOST:PORT CA REQUEST VAR=ID... -- RUNTIME, for the endpoint of curl_argv.ctx."""
    ctx = curl_argv.ctx
    ids = [s for _, s in pairs]
    if len(ids) == 1:
        target, body = "GetSecretValue", {"SecretId": ids[0]}
    else:
        target, body = "BatchGetSecretValue", {"SecretIdList": sorted(set(ids))}
    host = ctx["endpoint"].split("://", 1)[1]
    return [ctx["floor"], host, ctx["ca"], sigv4_request(host, target, json.dumps(body)),
            *(f"{v}={s}" for v, s in pairs), "--", runtime]


# ---------------------------------------------------------------- servers


class Proc:
    """A helper process that prints {"port": N} on its first stdout line."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self.p.stdout.readline()
        try:
            self.port = json.loads(line)["port"]
        except (ValueError, KeyError):
            self.stop()
            die(f"{argv[1]} did not start: {Path(log_path).read_text()[-2000:]}")

    def stop(self):
        stop_process(self.p, 5)
        self.log.close()


def server_stats(port, ca, reset=False):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(f"https://127.0.0.1:{port}/_faultsm/" + ("reset" if reset else "stats"),
                                 data=b"" if reset else None)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)


def read_reply(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b" ", 2)[1], body


def raw_client_latency(port, ca, secret_id, samples):
    """A bare Python TLS client: (fresh connection + TLS + 1 request, 1 request on that connection), ms."""
    ctx = ssl.create_default_context(cafile=ca)
    body = json.dumps({"SecretId": secret_id}).encode()
    req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: secretsmanager.GetSecretValue\r\n"
           b"Content-Type: application/x-amz-json-1.1\r\n"
           b"Authorization: AWS4-HMAC-SHA256 Credential=" + KEY_ID.encode() + b"/bench\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    fresh, kept = [], []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as ss:
            ss.sendall(req)
            status, _ = read_reply(ss)
            t1 = time.perf_counter_ns()
            ss.sendall(req)
            read_reply(ss)
            t2 = time.perf_counter_ns()
            tls = ss.version()
        if status != b"200":
            die(f"the server answered {status!r} to the raw client")
        fresh.append((t1 - t0) / 1e6)
        kept.append((t2 - t1) / 1e6)
    return fresh, kept, tls


# ---------------------------------------------------------------- measuring


class Spawner:
    def __init__(self, tmp):
        self.null_in = os.open("/dev/null", os.O_RDONLY)
        self.null_out = os.open("/dev/null", os.O_WRONLY)
        self.err_path = os.path.join(tmp, "sample.stderr")
        self.err = os.open(self.err_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.time = gnu_time()

    def _actions(self):
        os.ftruncate(self.err, 0)
        os.lseek(self.err, 0, os.SEEK_SET)
        return [(os.POSIX_SPAWN_DUP2, self.null_in, 0), (os.POSIX_SPAWN_DUP2, self.null_out, 1),
                (os.POSIX_SPAWN_DUP2, self.err, 2)]

    def stderr(self):
        os.lseek(self.err, 0, os.SEEK_SET)
        return os.read(self.err, 1 << 16).decode("utf-8", "replace")

    def sample(self, argv, env):
        """(exit code, wall ms, CPU ms) of one fresh process."""
        actions = self._actions()
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        wall = (time.perf_counter_ns() - t0) / 1e6
        return os.waitstatus_to_exitcode(status), wall, (ru.ru_utime + ru.ru_stime) * 1000

    def peak_rss_mib(self, argv, env, tmp):
        """Peak RSS through GNU time (None without it), and the exit code."""
        if not self.time:
            return None, 0
        out = os.path.join(tmp, "time.out")
        actions = self._actions()
        pid = os.posix_spawn(self.time, [self.time, "-f", "%M", "-o", out, *argv], env, file_actions=actions)
        _, status, _ = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        try:
            kib = int(Path(out).read_text().split()[-1])
        except (ValueError, IndexError, OSError):
            return None, code
        return kib / 1024, code


def gnu_time():
    t = "/usr/bin/time"
    if os.access(t, os.X_OK):
        r = subprocess.run([t, "--version"], capture_output=True, text=True)
        if "GNU" in r.stdout + r.stderr:
            return t
    return None


@dataclass
class Cell:
    contender: Contender
    count: int
    rtt: int
    runs: int
    argv: list
    env: dict
    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    rss: list = field(default_factory=list)
    pairs: list = field(default_factory=list)  # [(VAR, secret id)]
    rounds: set = field(default_factory=set)  # the rounds it is timed in
    rss_rounds: set = field(default_factory=set)  # the rounds it also gets a GNU time run in
    params: int = 0  # Parameter Store parameters (a --ssm cell); count is then its secrets, maybe 0
    ssm: bool = False  # one of the --ssm cells (reported apart from the Secrets Manager cells)

    @property
    def key(self):
        if self.ssm:
            return f"{self.contender.name} / {workload_text(self.count, self.params)} / {self.rtt} ms"
        return f"{self.contender.name} / {self.count} / {self.rtt} ms"

    def where(self):
        if self.ssm:
            return f"{self.contender.name} ({workload_text(self.count, self.params)}, +{self.rtt} ms RTT)"
        s = "secret" if self.count == 1 else "secrets"
        return f"{self.contender.name} ({self.count} {s}, +{self.rtt} ms RTT)"


def workload_text(secrets, params):
    """"5 secrets + 5 parameters", "1 parameter", "5 secrets"."""
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in ((secrets, "secret"), (params, "parameter")) if n]
    return " + ".join(parts)


def stats(values):
    if not values:
        return None
    v = sorted(values)
    return {"min": v[0], "median": statistics.median(v), "max": v[-1], "mean": statistics.fmean(v),
            "stddev": statistics.stdev(v) if len(v) > 1 else 0.0, "n": len(v)}


def fail_cell(cell, code, stderr, phase):
    what = ("its runtime did not receive the expected values (checked by sha256)" if code == 1 and cell.contender.execs
            else "it failed")
    die(f"{cell.where()} exited with {code} during {phase}: {what}. No timing of this run is trusted.\n"
        f"command: {' '.join(shlex.quote(x) for x in cell.argv[:6])}{' ...' if len(cell.argv) > 6 else ''}\n"
        f"its stderr (last lines):\n{stderr[-2500:]}")


def verify_curl(cell, spawner, expected_by_id, tmp):
    out = os.path.join(tmp, "curl-reply.json")
    argv = [out if x == "/dev/null" else x for x in cell.argv]
    code, _, _ = spawner.sample(argv, cell.env)
    if code != 0:
        fail_cell(cell, code, spawner.stderr(), "verification")
    reply = json.loads(Path(out).read_text())
    if "Parameters" in reply:  # GetParameters: the values by "ssm:" + name, as the cell's references
        got = {"ssm:" + v["Name"]: v["Value"] for v in reply["Parameters"]}
    else:
        got = {reply["Name"]: reply["SecretString"]} if "Name" in reply else \
            {v["Name"]: v["SecretString"] for v in reply.get("SecretValues", [])}
    want = {s: expected_by_id[s] for s in {s for _, s in cell.pairs}}
    bad = [s for s, h in want.items() if s not in got or sha(got[s]) != h]
    if bad:
        die(f"{cell.where()}: the reply lacks or has wrong values for {', '.join(sorted(bad))} (checked by sha256)")
    os.unlink(out)


def sha(value):
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- init duration (Lambda emulation)


def emulate_once(a, env, wrapper, names, expected, task_root):
    argv = [sys.executable, str(EMULATOR), "--task-root", str(task_root), "--event", json.dumps({"names": names})]
    if wrapper:
        argv += ["--wrapper", wrapper]
    argv += ["--", sys.executable, "-m", "awslambdaric", "handler.handler"]
    p = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        die(f"the Runtime API emulator printed no JSON (rc {p.returncode}): {p.stderr.decode(errors='replace')[-2000:]}")
    inv = result.get("invocations") or [{}]
    body = inv[0].get("body") if isinstance(inv[0], dict) else None
    if p.returncode != 0 or not isinstance(body, dict):
        die(f"the emulated function failed (wrapper {wrapper or 'none'}): {json.dumps(result)[:1500]}\n"
            f"{p.stderr.decode(errors='replace')[-1500:]}")
    got = body.get("sha256", {})
    bad = [n for n in names if got.get(n) != expected.get(n)]
    if bad:
        die(f"the emulated handler did not see the expected values of {', '.join(bad)} (wrapper {wrapper or 'none'})")
    return result["init_ms"]


# ---------------------------------------------------------------- sizes


def tree_bytes(path):
    total, files = 0, 0
    for root, _, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                total += os.path.getsize(p)
                files += 1
    return total, files


def python_closure(name):
    """Bytes of the installed files of a distribution and everything it requires (no interpreter)."""
    from importlib import metadata
    try:
        from packaging.requirements import Requirement
    except ImportError:
        Requirement = None
    seen, stack, total = set(), [name], 0
    while stack:
        n = re.sub(r"[-_.]+", "-", stack.pop()).lower()
        if n in seen:
            continue
        try:
            d = metadata.distribution(n)
        except metadata.PackageNotFoundError:
            continue
        seen.add(n)
        for f in d.files or []:
            p = f.locate()
            if os.path.isfile(p):
                total += os.path.getsize(p)
        for r in d.requires or []:
            if Requirement:
                req = Requirement(r)
                if req.marker and not req.marker.evaluate({"extra": ""}):
                    continue
                stack.append(req.name)
            elif "extra ==" not in r:
                stack.append(re.match(r"[A-Za-z0-9_.-]+", r).group(0))
    return total, sorted(seen)


def shared_lib_closure(binary):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = set(re.findall(r"=> (/\S+)", r.stdout))
    return sum(os.path.getsize(os.path.realpath(x)) for x in libs), len(libs)


def sizes(a, selected):
    rows = []
    if "lambda-secrets" in selected:
        rows.append({"contender": "lambda-secrets", "what": "static binary (stripped)",
                     "bytes": os.path.getsize(a.binary), "detail": os.path.relpath(a.binary, ROOT)})
        for z in sorted((ROOT / "dist").glob("lambda-secrets-*.zip")):
            rows.append({"contender": "lambda-secrets", "what": f"layer zip ({z.stem.rsplit('-', 1)[-1]})",
                         "bytes": z.stat().st_size, "detail": f"dist/{z.name}"})
    if "curl" in selected:
        b = os.path.getsize(os.path.realpath(a.curl))
        libs, n = shared_lib_closure(a.curl)
        rows.append({"contender": "curl", "what": "binary + shared libraries", "bytes": b + libs,
                     "detail": f"curl {b:,} B + {n} libraries {libs:,} B (libcurl, OpenSSL, ...)"})
    if "aws-sdk-rust" in selected:
        rows.append({"contender": "aws-sdk-rust", "what": "binary (release, stripped)",
                     "bytes": os.path.getsize(a.sdk_rust), "detail": "bench/aws-sdk-rust, glibc dynamic"})
    if "node" in selected:
        nm = HERE / "node" / "node_modules"
        b, files = tree_bytes(nm)
        lock = json.loads((HERE / "node" / "package-lock.json").read_text())
        pkgs = sum(1 for k in lock.get("packages", {}) if k)
        rows.append({"contender": "node", "what": "node_modules", "bytes": b,
                     "detail": f"{pkgs} packages, {files} files; plus the node binary ({os.path.getsize(os.path.realpath(a.node)):,} B)"})
    for name, dist in (("boto3", "boto3"), ("aws-cli", "awscli")):
        if name in selected:
            b, dists = python_closure(dist)
            rows.append({"contender": name, "what": "Python packages", "bytes": b,
                         "detail": f"{len(dists)} distributions ({', '.join(dists)}); plus the Python interpreter"})
    return rows


def evaluate_targets(by, rtts, baseline, ref="lambda-secrets"):
    """The contender targets from the medians of this run. by: {(contender, count, rtt): result}."""
    targets = []
    judged_rtt = rtts[0]
    for other, limit in TARGETS:
        per = {}
        for rtt in rtts:
            r1, r2 = by.get((ref, 1, rtt)), by.get((other, 1, rtt))
            if r1 and r2:
                fresh = baseline["raw_client"][str(rtt)]["fresh"]["median"]
                per[str(rtt)] = {"ratio": r1["wall"]["median"] / r2["wall"]["median"],
                                 "floor_ratio": fresh / r2["wall"]["median"],
                                 "ms": r1["wall"]["median"], "other_ms": r2["wall"]["median"],
                                 "cpu_ms": r1["cpu"]["median"], "other_cpu_ms": r2["cpu"]["median"]}
        j = per.get(str(judged_rtt))
        if not j:
            continue
        ratio = j["ratio"]
        note = (f"{fmt_ms(j['ms'])} ms (CPU {fmt_ms(j['cpu_ms'])}) against {fmt_ms(j['other_ms'])} ms "
                f"(CPU {fmt_ms(j['other_cpu_ms'])})")
        if ratio > limit:
            note += f"; missed by {ratio / limit - 1:.0%}"
        for rtt, v in per.items():
            if rtt != str(judged_rtt):
                note += (f". At +{rtt} ms RTT {ratio_text(v['ratio'])}: the round trips a fresh HTTPS request "
                         f"needs are the same for both, and a client that cost nothing would score "
                         f"{ratio_text(v['floor_ratio'])}")
        targets.append({"target": f"lambda-secrets ≤ {limit}× {other}, 1 secret", "other": other, "limit": limit,
                        "judged_rtt": judged_rtt, "ratio": ratio, "met": ratio <= limit, "by_rtt": per,
                        "note": note + "."})
    n_hi, n_lo, rtt_t, limit = SCALING_TARGET
    if rtt_t in rtts and (ref, n_hi, rtt_t) in by and (ref, n_lo, rtt_t) in by:
        per = {str(rtt): {"ratio": by[(ref, n_hi, rtt)]["wall"]["median"] / by[(ref, n_lo, rtt)]["wall"]["median"],
                          "ms": by[(ref, n_hi, rtt)]["wall"]["median"], "other_ms": by[(ref, n_lo, rtt)]["wall"]["median"]}
               for rtt in rtts}
        j = per[str(rtt_t)]
        note = (f"{fmt_ms(j['ms'])} ms against {fmt_ms(j['other_ms'])} ms: one BatchGetSecretValue carries all "
                f"{n_hi}, so the round trips are the same")
        if j["ratio"] > limit:
            note += f"; missed by {j['ratio'] / limit - 1:.0%}"
        targets.append({"target": f"lambda-secrets, {n_hi} secrets ≤ {limit}× {n_lo} secret", "other": None,
                        "limit": limit, "judged_rtt": rtt_t, "ratio": j["ratio"], "met": j["ratio"] <= limit,
                        "by_rtt": per, "note": note + "."})
    return targets


def evaluate_floor(by, ref="lambda-secrets"):
    """The floor targets: lambda-secrets against the floor contender, from the medians of this run."""
    out = []
    for n, rtt, limit in FLOOR_TARGETS:
        r, f = by.get((ref, n, rtt)), by.get(("floor", n, rtt))
        if not (r and f):
            continue
        ratio = r["wall"]["median"] / f["wall"]["median"]
        # The lower quartile is less moved by other processes on a shared machine; shown, not judged.
        q = lambda c: statistics.quantiles(c["samples"]["wall"], n=4)[0] if len(c["samples"]["wall"]) > 1 else None
        p25 = q(r) / q(f) if q(r) and q(f) else None
        out.append({"target": f"wall ≤ {limit}× floor, {n} secret{'s' if n != 1 else ''}, +{rtt} ms RTT",
                    "count": n, "rtt_ms": rtt, "limit": limit, "ratio": ratio, "met": ratio <= limit,
                    "ms": r["wall"]["median"], "floor_ms": f["wall"]["median"], "p25_ratio": p25,
                    "cpu_ratio": r["cpu"]["median"] / f["cpu"]["median"]})
    r, f = by.get((ref, 1, 0)), by.get(("floor", 1, 0))
    if r and f:
        extra = r["cpu"]["median"] - f["cpu"]["median"]
        out.append({"target": f"CPU ≤ floor + {FLOOR_CPU_MARGIN_MS} ms, 1 secret, +0 ms RTT", "count": 1,
                    "rtt_ms": 0, "limit": FLOOR_CPU_MARGIN_MS, "ratio": extra, "met": extra <= FLOOR_CPU_MARGIN_MS,
                    "ms": r["cpu"]["median"], "floor_ms": f["cpu"]["median"], "p25_ratio": None,
                    "cpu_ratio": r["cpu"]["median"] / f["cpu"]["median"]})
    return out
def ssm_judged(rtts, want):
    return want if want in rtts else rtts[-1]


def evaluate_ssm_targets(by, rtts, baseline=None, ref="lambda-secrets"):
    """The Parameter Store targets from the medians of this run. by: {(contender, secrets, parameters, rtt): result}.
    Returns (targets, mixed): `mixed` is every mixed contender's mixed cell against its slower half."""
    med = lambda k: by[k]["wall"]["median"] if k in by else None  # noqa: E731
    targets, mixed = [], []

    def add(target, other, limit, judged, per, note):
        j = per.get(str(judged))
        if not j:
            return
        if j["ratio"] > limit:
            note += f"; missed by {j['ratio'] / limit - 1:.0%}"
        over = [f"+{rtt} ms ({ratio_text(v['ratio'])})" for rtt, v in per.items()
                if rtt != str(judged) and v["ratio"] > limit]
        if over:
            note += f"; above {limit} at {', '.join(over)}, where it is not judged"
        if judged not in (rtts[0], SSM_SCALING_TARGET[2]):
            note += f" (judged at +{judged} ms, the largest added RTT of this run)"
        targets.append({"target": target, "other": other, "limit": limit, "judged_rtt": judged, "ratio": j["ratio"],
                        "met": j["ratio"] <= limit, "by_rtt": per, "note": note + "."})

    n_hi, n_lo, rtt_t, limit = SSM_SCALING_TARGET
    per = {str(rtt): {"ratio": med((ref, 0, n_hi, rtt)) / med((ref, 0, n_lo, rtt)), "ms": med((ref, 0, n_hi, rtt)),
                      "other_ms": med((ref, 0, n_lo, rtt))}
           for rtt in rtts if med((ref, 0, n_hi, rtt)) and med((ref, 0, n_lo, rtt))}
    judged = ssm_judged(rtts, rtt_t)
    if str(judged) in per:
        j = per[str(judged)]
        add(f"lambda-secrets, {n_hi} parameters ≤ {limit}× {n_lo} parameter", None, limit, judged, per,
            f"{fmt_ms(j['ms'])} ms against {fmt_ms(j['other_ms'])} ms: one GetParameters carries all {n_hi}")

    per = {}
    for rtt in rtts:
        r1, r2 = by.get((ref, 0, 1, rtt)), by.get(("curl", 0, 1, rtt))
        if r1 and r2:
            per[str(rtt)] = {"ratio": r1["wall"]["median"] / r2["wall"]["median"], "ms": r1["wall"]["median"],
                             "other_ms": r2["wall"]["median"], "cpu_ms": r1["cpu"]["median"],
                             "other_cpu_ms": r2["cpu"]["median"]}
    if str(rtts[0]) in per:
        j = per[str(rtts[0])]
        note = (f"{fmt_ms(j['ms'])} ms (CPU {fmt_ms(j['cpu_ms'])}) against {fmt_ms(j['other_ms'])} ms "
                f"(CPU {fmt_ms(j['other_cpu_ms'])})")
        ten = [f"{n_hi} parameters at +{rtt} ms: {ratio_text(med((ref, 0, n_hi, rtt)) / med(('curl', 0, n_hi, rtt)))}"
               for rtt in rtts if med((ref, 0, n_hi, rtt)) and med(("curl", 0, n_hi, rtt))]
        if ten:
            note += "; " + ", ".join(ten)
        for rtt, v in per.items():
            fresh = ((baseline or {}).get("raw_client", {}).get(rtt) or {}).get("fresh")
            if rtt != str(rtts[0]) and fresh:
                note += (f"; at +{rtt} ms every fresh HTTPS request waits for the same three round trips, and a "
                         f"client that cost nothing would score {ratio_text(fresh['median'] / v['other_ms'])}")
        add(f"lambda-secrets ≤ {SSM_CURL_TARGET}× curl, 1 parameter", "curl", SSM_CURL_TARGET, rtts[0], per, note)

    rtt_t, limit = SSM_MIXED_TARGET
    judged = ssm_judged(rtts, rtt_t)
    names = list(dict.fromkeys(k[0] for k in by))
    for name in names:
        per = {}
        for rtt in rtts:
            for (c, n_s, n_p, t) in by:
                if c == name and t == rtt and n_s and n_p:
                    halves = (med((name, n_s, 0, rtt)), med((name, 0, n_p, rtt)))
                    if None not in halves:
                        per[str(rtt)] = {"ratio": med((name, n_s, n_p, rtt)) / max(halves),
                                         "ms": med((name, n_s, n_p, rtt)), "secrets_ms": halves[0],
                                         "parameters_ms": halves[1], "secrets": n_s, "parameters": n_p}
        if not per or name == "runtime-alone":
            continue
        mixed.append({"contender": name, "judged_rtt": judged, "by_rtt": per})
        if name == ref and str(judged) in per:
            j = per[str(judged)]
            add(f"lambda-secrets, {workload_text(j['secrets'], j['parameters'])} ≤ {limit}× the slower half alone",
                None, limit, judged, per,
                f"{fmt_ms(j['ms'])} ms against {fmt_ms(j['secrets_ms'])} ms ({j['secrets']} secrets alone) and "
                f"{fmt_ms(j['parameters_ms'])} ms ({j['parameters']} parameters alone): the two services are "
                "fetched in parallel")
    return targets, mixed


# ---------------------------------------------------------------- facts


def run_text(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def machine_facts(a):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    facts = {"machine": platform.machine(), "cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem,
             "kernel": platform.release(), "python": platform.python_version(),
             "node": run_text([a.node, "--version"]) if a.node else None,
             "curl": run_text([a.curl, "--version"]), "aws_cli": run_text(["aws", "--version"])}
    try:
        import boto3
        facts["boto3"] = boto3.__version__
    except ImportError:
        pass
    pkg = HERE / "node" / "node_modules" / "@aws-sdk" / "client-secrets-manager" / "package.json"
    if pkg.is_file():
        facts["aws_sdk_js"] = json.loads(pkg.read_text())["version"]
    pkg = HERE / "node" / "node_modules" / "@aws-sdk" / "client-ssm" / "package.json"
    if pkg.is_file():
        facts["aws_sdk_js_ssm"] = json.loads(pkg.read_text())["version"]
    lock = HERE / "aws-sdk-rust" / "Cargo.lock"
    if lock.is_file():
        for crate in ("aws-config", "aws-sdk-secretsmanager", "aws-sdk-ssm", "aws-lc-rs", "tokio"):
            m = re.search(rf'name = "{crate}"\nversion = "([^"]+)"', lock.read_text())
            if m:
                facts[crate] = m.group(1)
    facts["lambda_secrets"] = run_text([str(ROOT / "scripts" / "version")])
    if os.path.isfile(a.binary):
        facts["lambda_secrets_sha256"] = hashlib.sha256(Path(a.binary).read_bytes()).hexdigest()
    facts["git"] = run_text(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    return facts


# ---------------------------------------------------------------- output


def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def ratio_text(r):
    return "-" if r is None else f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def terminal_report(res, reference):
    lines = []
    for rtt in res["config"]["rtt_ms"]:
        for n in res["config"]["counts"]:
            rows = [r for r in res["results"] if r["rtt_ms"] == rtt and r["count"] == n]
            if not rows:
                continue
            terminal_table(lines, f"{n} secret{'s' if n != 1 else ''}, +{rtt} ms RTT", rows, reference)
    return "\n".join(lines)


def terminal_table(lines, title, rows, reference):
    """One cell group of the terminal report: every contender's runs, min, median, max, CPU and RSS,
    and its median against `reference`'s."""
    ref = next((r for r in rows if r["contender"] == reference), None)
    lines.append(f"\n{title}")
    lines.append(f"  {'contender':<32} {'runs':>4} {'min':>9} {'median':>9} {'max':>9} "
                 f"{'CPU med':>9} {'peak RSS':>9}  vs {reference}")
    for r in rows:
        w, c = r["wall"], r["cpu"]
        rel = "" if ref is None else (
            "reference" if r is ref else f"{w['median'] / ref['wall']['median']:.2f}x")
        rss = "-" if r["rss_mib"] is None else f"{r['rss_mib']['max']:.1f} MiB"
        lines.append(f"  {r['label']:<32} {w['n']:>4} {fmt_ms(w['min']):>6} ms {fmt_ms(w['median']):>6} ms "
                     f"{fmt_ms(w['max']):>6} ms {fmt_ms(c['median']):>6} ms {rss:>9}  {rel}")


def headline_markdown(res, reference="lambda-secrets"):
    cfg = res["config"]
    cols = [(rtt, n) for rtt in cfg["rtt_ms"] for n in cfg["counts"]]
    by = {(r["contender"], r["rtt_ms"], r["count"]): r for r in res["results"]}
    names = []
    for r in res["results"]:
        if r["contender"] not in names:
            names.append(r["contender"])
    head = "| median wall ms (× lambda-secrets) | " + " | ".join(
        f"{n} secret{'s' if n != 1 else ''}, +{rtt} ms RTT" for rtt, n in cols) + " |"
    out = [head, "|---|" + "---:|" * len(cols)]
    for name in names:
        label = next(r["label"] for r in res["results"] if r["contender"] == name)
        cells = []
        for rtt, n in cols:
            r, ref = by.get((name, rtt, n)), by.get((reference, rtt, n))
            if r is None:
                cells.append("")
            elif name == reference or ref is None or name == "runtime-alone":
                cells.append(f"**{fmt_ms(r['wall']['median'])}**" if name == reference else fmt_ms(r["wall"]["median"]))
            else:
                cells.append(f"{fmt_ms(r['wall']['median'])} ({r['wall']['median'] / ref['wall']['median']:.1f}×)")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def markdown_report(res):
    m = res["meta"]
    f = m["facts"]
    out = [f"# Cold-start benchmark, {m['date']}", "",
           f"`{m['command']}`", "",
           f"{f['machine']}, {f['cpu']}, {f['cores']} cores, {f['memory_mib']} MiB, Linux {f['kernel']}. "
           f"Load average {m['load_before'][0]:.2f} / {m['load_before'][1]:.2f} / {m['load_before'][2]:.2f} at the start, "
           f"{m['load_after'][0]:.2f} / {m['load_after'][1]:.2f} / {m['load_after'][2]:.2f} at the end. "
           f"Total time {m['elapsed_s']:.0f} s. lambda-secrets {f.get('lambda_secrets')} ({f.get('git')}).", "",
           "Medians of one interleaved run; each run a fresh process, none discarded as warm-up. "
           "Wall time from process start to the exit of the runtime it execs (which checks every value "
           "by sha256); curl is one request and execs nothing.", "",
           headline_markdown(res) if res["results"] else "(No Secrets Manager-only cells in this run.)", "",
           "Runs per cell: " + ", ".join(f"{k} {v}" for k, v in res["config"]["runs"].items()) + " "
           "(" + "; ".join(f"{c['name']}: {c['runs_class']}" for c in res["contenders"]) + ").", "",
           *(["## Targets", "",
           "Ratios of medians from this run. The client-cost targets are judged at the lowest added RTT, "
           "where what differs between contenders is the client's own cost; at +10 ms every contender also "
           "waits for the same three round trips of a fresh HTTPS request, which no client can avoid.", "",
           "| target | judged at | ratio | met | other RTTs | why |", "|---|---|---:|---|---|---|"]
             if res["results"] else [])]
    for t in res["targets"]:
        others = ", ".join(f"+{rtt} ms: {ratio_text(v['ratio'])}" for rtt, v in t["by_rtt"].items()
                           if rtt != str(t["judged_rtt"]))
        out.append(f"| {t['target']} | +{t['judged_rtt']} ms RTT | {ratio_text(t['ratio'])} | "
                   f"{'yes' if t['met'] else '**no**'} | {others} | {t['note']} |")
    if res.get("floor_targets"):
        out += ["", "## Against the floor", "",
                "lambda-secrets against the floor contender (bench/floor: one pre-signed request on one TLS 1.3 "
                "connection, then exec, built like lambda-secrets), medians of this run.", "",
                "| target | lambda-secrets | floor | ratio (wall) | ratio (CPU) | met | wall ratio of the lower quartiles |",
                "|---|---:|---:|---:|---:|---|---:|"]
        for t in res["floor_targets"]:
            cpu = t["target"].startswith("CPU")
            got = f"+{t['ratio']:.2f} ms" if cpu else f"{t['ratio']:.2f}×"
            out.append(f"| {t['target']} | {fmt_ms(t['ms'])} ms{' CPU' if cpu else ''} | {fmt_ms(t['floor_ms'])} ms"
                       f"{' CPU' if cpu else ''} | {'' if cpu else got} | {t['cpu_ratio']:.2f}×{f' ({got})' if cpu else ''} | "
                       f"{'yes' if t['met'] else '**no**'} | "
                       f"{'' if t['p25_ratio'] is None else format(t['p25_ratio'], '.2f') + '×'} |")
    b = res["server_baseline"]
    out += ["", "## The server's own latency (baseline)", "",
            "A bare Python TLS client against tests/support/faultsm.py, per added RTT; and the server's own handling "
            "time per request during the run (end of request head to end of reply write).", "",
            "| added RTT | new connection + TLS + 1 request (median) | 1 request on that connection (median) | TLS |",
            "|---:|---:|---:|---|"]
    for rtt, v in b["raw_client"].items():
        out.append(f"| {rtt} ms | {fmt_ms(v['fresh']['median'])} ms | {fmt_ms(v['kept_alive']['median'])} ms | {v['tls']} |")
    h = b.get("handling_us")
    if h:
        out.append("")
        out.append(f"Server handling time over {h['n']} requests during the run: median {h['median']:.0f} µs, "
                   f"max {h['max']:.0f} µs. Requests served: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(b["requests"].items())) + ".")
    if res.get("init"):
        out += ["", "## Lambda init duration (Runtime API emulator + awslambdaric)", "",
                "Lambda's definition: runtime process start to its first `GET /runtime/invocation/next`. "
                "layer/emulator/runtime_api.py starts `python -m awslambdaric handler.handler`, directly or "
                "through lambda-secrets as `AWS_LAMBDA_EXEC_WRAPPER`; the handler's reply is checked by sha256.", "",
                "| case | runs | min | median | max | overhead (median) |", "|---|---:|---:|---:|---:|---:|"]
        for r in res["init"]:
            ov = "" if r["overhead_ms"] is None else f"+{fmt_ms(r['overhead_ms'])} ms"
            out.append(f"| {r['case']} | {r['init_ms']['n']} | {fmt_ms(r['init_ms']['min'])} ms | "
                       f"{fmt_ms(r['init_ms']['median'])} ms | {fmt_ms(r['init_ms']['max'])} ms | {ov} |")
    out += ["", "## Footprint", "", "| contender | what | bytes | detail |", "|---|---|---:|---|"]
    for s in res["sizes"]:
        out.append(f"| {s['contender']} | {s['what']} | {s['bytes']:,} | {s['detail']} |")
    floor = {(r["count"], r["rtt_ms"]): r for r in res["results"] if r["contender"] == "floor"}
    if res["results"]:
        out += ["", "## All cells", "",
                "| contender | secrets | added RTT | runs | min | median | max | CPU median | peak RSS "
                "| × floor (wall) | × floor (CPU) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["results"]:
        w = r["wall"]
        rss = "-" if r["rss_mib"] is None else f"{r['rss_mib']['max']:.1f} MiB"
        f = floor.get((r["count"], r["rtt_ms"]))
        xf = ("| - | -" if f is None else
              f"| {w['median'] / f['wall']['median']:.2f} | {r['cpu']['median'] / f['cpu']['median']:.2f}")
        out.append(f"| {r['label']} | {r['count']} | {r['rtt_ms']} ms | {w['n']} | {fmt_ms(w['min'])} | "
                   f"{fmt_ms(w['median'])} | {fmt_ms(w['max'])} | {fmt_ms(r['cpu']['median'])} | {rss} {xf} |")
    out += ssm_markdown(res)
    out += ["", "## Contenders", ""]
    for c in res["contenders"]:
        out.append(f"- **{c['label']}** (`{c['name']}`): {c['note']}")
    if res["warnings"]:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in res["warnings"]]
    return "\n".join(out) + "\n"


def ssm_terminal_report(res, reference):
    lines = []
    rows_all = res.get("ssm_results") or []
    for rtt in res["config"]["rtt_ms"]:
        for wl in dict.fromkeys((r["secrets"], r["parameters"]) for r in rows_all):
            rows = [r for r in rows_all if r["rtt_ms"] == rtt and (r["secrets"], r["parameters"]) == wl]
            if not rows:
                continue
            terminal_table(lines, f"{workload_text(*wl)}, +{rtt} ms RTT", rows, reference)
    for t in res.get("ssm_targets") or []:
        cols = "  ".join(f"{'*' if rtt == str(t['judged_rtt']) else ' '}+{rtt} ms {ratio_text(v['ratio']):>6}"
                         for rtt, v in t["by_rtt"].items())
        lines.append(f"  {t['target']:<62} {cols}   {'met' if t['met'] else 'MISSED'}")
    for m in res.get("ssm_mixed") or []:
        lines.append(f"  mixed / slower half, {m['contender']:<20} " + "  ".join(
            f"+{rtt} ms {ratio_text(v['ratio']):>6}" for rtt, v in m["by_rtt"].items()))
    return "\n".join(["", "Parameter Store cells (--ssm)", *lines]) if lines else ""


def ssm_markdown(res, reference="lambda-secrets"):
    """The section of the Markdown report for the --ssm cells."""
    rows = res.get("ssm_results") or []
    if not rows:
        return []
    rtts = res["config"]["rtt_ms"]
    cols = [(rtt, wl) for rtt in rtts for wl in dict.fromkeys((r["secrets"], r["parameters"]) for r in rows)]
    by = {(r["contender"], r["secrets"], r["parameters"], r["rtt_ms"]): r for r in rows}
    out = ["", "## Parameter Store cells", "",
           "`ssm:` references to SecureString parameters (`/bench/p00`, ...), read decrypted "
           "(`GetParameters`, `WithDecryption: true`, up to 10 names a call), and the mixed cell (secrets and "
           "parameters in one run) beside its two halves alone; same interleaved run as the rest. Median wall ms "
           "(median CPU ms); × is against lambda-secrets in the same cell.", "",
           "| contender | " + " | ".join(f"{workload_text(*wl)}, +{rtt} ms" for rtt, wl in cols) + " |",
           "|---|" + "---:|" * len(cols)]
    for name in dict.fromkeys(r["contender"] for r in rows):
        label = next(r["label"] for r in rows if r["contender"] == name)
        cells = []
        for rtt, wl in cols:
            r, ref = by.get((name, *wl, rtt)), by.get((reference, *wl, rtt))
            if r is None:
                cells.append("")
                continue
            text = f"{fmt_ms(r['wall']['median'])} ({fmt_ms(r['cpu']['median'])})"
            if name == reference:
                text = f"**{text}**"
            elif ref is not None and name != "runtime-alone":
                text += f" {r['wall']['median'] / ref['wall']['median']:.1f}×"
            cells.append(text)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += ["", "### Parameter Store targets", "",
            "| target | judged at | ratio | met | other RTTs | why |", "|---|---|---:|---|---|---|"]
    for t in res.get("ssm_targets") or []:
        others = ", ".join(f"+{rtt} ms: {ratio_text(v['ratio'])}" for rtt, v in t["by_rtt"].items()
                           if rtt != str(t["judged_rtt"]))
        out.append(f"| {t['target']} | +{t['judged_rtt']} ms RTT | {ratio_text(t['ratio'])} | "
                   f"{'yes' if t['met'] else '**no**'} | {others} | {t['note']} |")
    if res.get("ssm_mixed"):
        out += ["", "Mixed cell against the slower of its halves alone, every contender that has one "
                "(the target is lambda-secrets'; the others are shown for comparison):", "",
                "| contender | " + " | ".join(f"+{rtt} ms" for rtt in rtts) + " |", "|---|" + "---:|" * len(rtts)]
        for m in res["ssm_mixed"]:
            out.append(f"| {m['contender']} | " + " | ".join(
                (f"{ratio_text(v['ratio'])} ({fmt_ms(v['ms'])} / max({fmt_ms(v['secrets_ms'])}, "
                 f"{fmt_ms(v['parameters_ms'])}))" if (v := m["by_rtt"].get(str(rtt))) else "") for rtt in rtts) + " |")
    out += ["", "### All Parameter Store cells", "",
            "| contender | secrets | parameters | added RTT | runs | min | median | max | CPU median | peak RSS |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        w = r["wall"]
        rss = "-" if r["rss_mib"] is None else f"{r['rss_mib']['max']:.1f} MiB"
        out.append(f"| {r['label']} | {r['secrets']} | {r['parameters']} | {r['rtt_ms']} ms | {w['n']} | "
                   f"{fmt_ms(w['min'])} | {fmt_ms(w['median'])} | {fmt_ms(w['max'])} | {fmt_ms(r['cpu']['median'])} | "
                   f"{rss} |")
    return out


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few runs per cell (a smoke run, not a result)")
    ap.add_argument("--contenders", default="runtime-alone,floor,lambda-secrets,curl,aws-sdk-rust,node,boto3,aws-cli",
                    help="comma-separated, in table order (default: all)")
    ap.add_argument("--add-contender", action="append", default=[], metavar="NAME=COMMAND",
                    help="another contender: COMMAND VAR=ID... -- RUNTIME must inject and exec (repeatable); "
                         "with --ssm it takes part in every Parameter Store cell, an ID `ssm:NAME` then naming a "
                         "parameter to read decrypted")
    ap.add_argument("--counts", default="1,5,20",
                    help="secret counts (default 1,5,20; at most 20; 'none' for no Secrets Manager-only cells)")
    ap.add_argument("--ssm", action="store_true",
                    help="add the Parameter Store cells: --parameters for every contender that reads "
                         "Parameter Store, and the --mixed cell with its two halves for those that read both")
    ap.add_argument("--parameters", default="1,10", help="with --ssm: parameter counts (default 1,10; 1 to 10)")
    ap.add_argument("--mixed", default="5+5", help="with --ssm: SECRETS+PARAMETERS of the mixed cell (default 5+5; "
                                                   "'none' for no mixed cell)")
    ap.add_argument("--rtt", default="0,10", help="added round-trip times in ms (default 0,10)")
    ap.add_argument("--runs", type=int, help="timed runs per cell of the fast contenders (default 40, quick 5)")
    ap.add_argument("--runs-medium", type=int, help="... of node and boto3 (default 15, quick 3)")
    ap.add_argument("--runs-slow", type=int, help="... of the AWS CLI wrapper (default 5, quick 2)")
    ap.add_argument("--rss-runs", type=int, default=None, help="untimed GNU time runs per cell for peak RSS (default 3, quick 1)")
    ap.add_argument("--init-runs", type=int, help="emulated Lambda inits per case (default 40, quick 3; 0: skip)")
    ap.add_argument("--baseline-runs", type=int, default=30, help="raw-client requests for the server baseline")
    ap.add_argument("--settle-ms", type=float, default=0.0, help="pause before every timed sample (default 0)")
    ap.add_argument("--shuffle", action="store_true", help="a new (seeded) order of the cells in every round")
    ap.add_argument("--reference", default="lambda-secrets", help="the contender ratios are given against")
    ap.add_argument("--binary", default=os.environ.get("LAMBDA_SECRETS_BIN"), help="the lambda-secrets binary")
    ap.add_argument("--runtime", help="bench-runtime (default: built from bench/runtime)")
    ap.add_argument("--floor", help="bench-floor (default: built from bench/floor when it is a contender)")
    ap.add_argument("--sdk-rust", default=str(HERE / "aws-sdk-rust" / "target" / "release" / "sdk-fetch"))
    ap.add_argument("--node", default=shutil.which("node"))
    ap.add_argument("--curl", default=shutil.which("curl"))
    ap.add_argument("--json", help="write the JSON export here")
    ap.add_argument("--markdown", help="write the Markdown report here")
    ap.add_argument("--svg", help="write the chart here")
    ap.add_argument("--command-line", default=os.environ.get("BENCH_COMMAND"), help="recorded in the results")
    a = ap.parse_args(argv)
    a.quick_defaults = {"runs": 5, "runs_medium": 3, "runs_slow": 2, "rss_runs": 1, "init_runs": 3}
    full = {"runs": 40, "runs_medium": 15, "runs_slow": 5, "rss_runs": 3, "init_runs": 40}
    for k, v in (a.quick_defaults if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.counts = [] if a.counts.strip().lower() in ("", "none") else sorted({int(x) for x in a.counts.split(",")})
    a.rtt = sorted({int(x) for x in a.rtt.split(",")})
    if (not a.counts and not a.ssm) or (a.counts and (a.counts[0] < 1 or a.counts[-1] > 20)):
        ap.error("--counts must be between 1 and 20")
    a.ssm_cells = a.ssm
    a.parameters = sorted({int(x) for x in a.parameters.split(",")}) if a.ssm else []
    if a.parameters and (a.parameters[0] < 1 or a.parameters[-1] > 10):
        ap.error("--parameters must be between 1 and 10 (curl's one GetParameters call)")
    a.mixed = None if not a.ssm or a.mixed.strip().lower() in ("", "none") else \
        tuple(int(x) for x in a.mixed.split("+"))
    if a.mixed is not None and (len(a.mixed) != 2 or not 1 <= a.mixed[0] <= 20 or not 1 <= a.mixed[1] <= 10):
        ap.error("--mixed wants SECRETS+PARAMETERS, 1 to 20 secrets and 1 to 10 parameters")
    if a.binary is None:
        triple = f"{platform.machine()}-unknown-linux-musl"
        a.binary = str(ROOT / "target" / triple / "release" / "lambda-secrets")
    a.binary = os.path.abspath(a.binary)
    return a


def build_runtime():
    """bench/runtime, static (musl) when the target is installed; cargo does nothing when up to date.
    Where the binary went is cargo's word (its JSON messages), so CARGO_TARGET_DIR and cargo's own
    configuration are followed."""
    crate = HERE / "runtime"
    triple = f"{platform.machine()}-unknown-linux-musl"
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    argv = ["cargo", "build", "--release", "--locked", "--quiet", "--message-format=json"]
    if sysroot and os.path.isdir(os.path.join(sysroot, "lib", "rustlib", triple, "lib")):
        argv += ["--target", triple]
    env = dict(os.environ)
    if env.get("CARGO_TARGET_DIR"):  # relative to where we were started, as scripts/test reads it
        env["CARGO_TARGET_DIR"] = os.path.abspath(env["CARGO_TARGET_DIR"])
    r = subprocess.run(argv, cwd=crate, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        die(f"building bench/runtime failed:\n{r.stderr[-3000:]}")
    for line in r.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "bench-runtime" \
                and msg.get("executable"):
            return msg["executable"]
    die("building bench/runtime produced no bench-runtime executable (cargo's messages named none)")


def build_floor():
    """bench/floor, built like the shipped binary (static musl, musl-gcc for ring's C, the release
    profile of its Cargo.toml); cargo does nothing when up to date."""
    crate = HERE / "floor"
    triple = f"{platform.machine()}-unknown-linux-musl"
    env = dict(os.environ)
    env.pop("CARGO_TARGET_DIR", None)
    if shutil.which("musl-gcc"):
        env[f"CC_{triple.replace('-', '_')}"] = "musl-gcc"
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--target", triple], cwd=crate,
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        die(f"building bench/floor failed:\n{r.stderr[-3000:]}")
    return str(crate / "target" / triple / "release" / "bench-floor")


def select_contenders(a):
    all_cs = contenders_for(a)
    names = [n.strip() for n in a.contenders.split(",") if n.strip()] + [s.partition("=")[0] for s in a.add_contender]
    unknown = [n for n in names if n not in all_cs]
    if unknown:
        die(f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(all_cs)}")
    cs = [all_cs[n] for n in dict.fromkeys(names)]
    for c in cs:
        for need in c.needs:
            if not need or not os.path.exists(need):
                die(f"contender {c.name} needs {need}, which is not there (scripts/bench builds and installs it)")
    return cs


class Endpoints:
    """The server, and one delay proxy in front of it per added RTT: ports = {rtt: port}."""

    def __init__(self, a, pki, secrets_file, tmp, parameters_file=None):
        self.procs = []
        self.server = self._start([str(FAULTSM), "--secrets", secrets_file, "--cert", pki["cert"], "--key", pki["key"],
                                   "--get-rate", "0", "--batch-rate", "0", "--ssm-rate", "0", "--no-record",
                                   *(["--parameters", parameters_file] if parameters_file else [])],
                                  os.path.join(tmp, "faultsm.log"))
        self.ports = {}
        for rtt in a.rtt:
            self.ports[rtt] = self.server.port if rtt == 0 else self._start(
                [str(HERE / "delayproxy.py"), "--upstream", f"127.0.0.1:{self.server.port}",
                 "--delay-ms", str(rtt / 2)], os.path.join(tmp, f"proxy-{rtt}.log")).port

    def _start(self, argv, log_path):
        p = Proc([sys.executable, *argv], log_path)
        self.procs.append(p)
        return p

    def url(self, rtt):
        return f"https://127.0.0.1:{self.ports[rtt]}"

    def stop(self):
        for p in self.procs:
            p.stop()


def make_cells(a, cs, ep, base, values, expected_by_id, runtime, pki):
    runs = {"fast": a.runs, "medium": a.runs_medium, "slow": a.runs_slow}
    cells = []
    for rtt in a.rtt:
        curl_argv.ctx = {"curl": a.curl, "ca": pki["ca"], "endpoint": ep.url(rtt), "floor": a.floor}
        for n in a.counts:
            pairs = [(f"SECRET_{i:02d}", f"bench/s{i:02d}") for i in range(n)]
            expect = ",".join(f"{v}:{expected_by_id[s]}" for v, s in pairs)
            for c in cs:
                env = dict(base, AWS_ENDPOINT_URL_SECRETS_MANAGER=ep.url(rtt), BENCH_EXPECT=expect)
                if c.name == "runtime-alone":
                    env.update({v: values[s] for v, s in pairs})
                if c.env:
                    env.update(c.env(pairs))
                cells.append(Cell(c, n, rtt, runs[c.runs_class], c.argv(pairs, runtime, None), env, pairs=pairs))
    cells += make_ssm_cells(a, cs, ep, base, values, expected_by_id, runtime, pki, runs)
    total = max(c.runs for c in cells)
    for c in cells:  # slow contenders' runs spread evenly over the rounds
        c.rounds = {math.floor(j * total / c.runs) for j in range(c.runs)}
        c.rss_rounds = set(sorted(c.rounds)[:a.rss_runs])
    return cells


def ssm_workloads(a, c):
    """(secrets, parameters) of the --ssm cells contender c takes part in: the parameter counts, then the
    mixed cell's two halves alone and the mixed cell."""
    wl = [(0, n) for n in a.parameters] if c.ssm else []
    if a.mixed and c.mixed:
        wl += [(a.mixed[0], 0), (0, a.mixed[1]), a.mixed]
    return list(dict.fromkeys(wl))


def ssm_pairs(n_secrets, n_params):
    return ([(f"SECRET_{i:02d}", f"bench/s{i:02d}") for i in range(n_secrets)]
            + [(f"PARAM_{i:02d}", f"ssm:{SSM_PREFIX}{i:02d}") for i in range(n_params)])


def make_ssm_cells(a, cs, ep, base, values, expected_by_id, runtime, pki, runs):
    """The Parameter Store cells (--ssm): `ssm:` references, the SSM endpoint set as well."""
    cells = []
    if not a.ssm_cells:
        return cells
    for rtt in a.rtt:
        curl_argv.ctx = {"curl": a.curl, "ca": pki["ca"], "endpoint": ep.url(rtt)}
        order = list(dict.fromkeys(w for c in cs for w in ssm_workloads(a, c)))
        for n_s, n_p in order:
            pairs = ssm_pairs(n_s, n_p)
            expect = ",".join(f"{v}:{expected_by_id[s]}" for v, s in pairs)
            for c in cs:
                if (n_s, n_p) not in ssm_workloads(a, c):
                    continue
                env = dict(base, AWS_ENDPOINT_URL_SECRETS_MANAGER=ep.url(rtt), AWS_ENDPOINT_URL_SSM=ep.url(rtt),
                           BENCH_EXPECT=expect)
                if c.name == "runtime-alone":
                    env.update({v: values[s] for v, s in pairs})
                if c.env:
                    env.update(c.env(pairs))
                cells.append(Cell(c, n_s, rtt, runs[c.runs_class], c.argv(pairs, runtime, None), env, pairs=pairs,
                                  params=n_p, ssm=True))
    return cells


def verify(cells, spawner, runtime, values, expected_by_id, tmp):
    """The check must bite (one wrong value among right ones, then one missing), then every cell once."""
    probe = next(c for c in cells if c.contender.execs)
    for broken in ({probe.pairs[0][0]: "not-the-value"}, {}):
        env = {k: v for k, v in probe.env.items()
               if k != "LAMBDA_SECRETS" and not k.startswith(("SECRET_", "PARAM_"))}
        env.update({v: values[s] for v, s in probe.pairs[1:]})
        env.update(broken)
        code, _, _ = spawner.sample([runtime], env)
        if code != 1:
            die(f"bench-runtime accepted a wrong or missing value (exit {code}): the hash check is broken")
    log(f"verifying {len(cells)} cells (one untimed run each; every value checked by sha256)")
    for cell in cells:
        if cell.contender.execs:
            code, _, _ = spawner.sample(cell.argv, cell.env)
            if code != 0:
                fail_cell(cell, code, spawner.stderr(), "verification")
        else:
            verify_curl(cell, spawner, expected_by_id, tmp)


def measure(cells, spawner, tmp, settle_ms=0.0, shuffle=False):
    total = max(c.runs for c in cells)
    order = random.Random(12)  # a fixed seed: the same order for the same cells and runs
    counts = sorted({(c.contender.runs_class, c.runs) for c in cells})
    log(f"measuring: {total} interleaved rounds over {len(cells)} cells (runs per cell: "
        + ", ".join(f"{k} {v}" for k, v in counts) + ")")
    t0 = time.monotonic()
    for i in range(total):
        # Shuffled per round so that no contender always follows the same one: the process after
        # another one's exit is not always the one that pays for its teardown (bench/README.md).
        for cell in order.sample(cells, len(cells)) if shuffle else cells:
            if i in cell.rounds:
                if settle_ms:
                    time.sleep(settle_ms / 1000)
                code, wall, cpu = spawner.sample(cell.argv, cell.env)
                if code != 0:
                    fail_cell(cell, code, spawner.stderr(), f"timed run {len(cell.wall) + 1}")
                cell.wall.append(wall)
                cell.cpu.append(cpu)
        for cell in cells:
            if i in cell.rss_rounds:
                rss, code = spawner.peak_rss_mib(cell.argv, cell.env, tmp)
                if code != 0:
                    fail_cell(cell, code, spawner.stderr(), "a peak-RSS run")
                if rss is not None:
                    cell.rss.append(rss)
        log(f"round {i + 1}/{total} done, {time.monotonic() - t0:.0f} s")


def measure_init(a, ep, base, expected_by_id, tmp):
    """Lambda's init duration from the Runtime API emulator, without and with lambda-secrets."""
    try:
        import awslambdaric  # noqa: F401
    except ImportError:
        die(f"awslambdaric is not installed for {sys.executable} (pip install -r tests/requirements.txt)")
    task = Path(tmp, "task")
    task.mkdir()
    shutil.copy(HANDLER, task / "handler.py")
    cases = [("python -m awslambdaric, no wrapper", None, 1, 0)]
    cases += [(f"through lambda-secrets, {n} secret{'s' if n != 1 else ''}, +{rtt} ms RTT", a.binary, n, rtt)
              for rtt in a.rtt for n in a.counts]
    samples = {c[0]: [] for c in cases}
    log(f"Lambda init: {len(cases)} cases x {a.init_runs} emulated cold starts, interleaved")
    for i in range(a.init_runs + 1):  # the first round verifies and is not counted
        for label, wrapper, n, rtt in cases:
            pairs = [(f"SECRET_{j:02d}", f"bench/s{j:02d}") for j in range(n)]
            env = dict(base, AWS_ENDPOINT_URL_SECRETS_MANAGER=ep.url(rtt) if rtt in ep.ports else ep.url(a.rtt[0]))
            if wrapper:
                env["LAMBDA_SECRETS"] = json.dumps(dict(pairs))
                expected = {v: expected_by_id[s] for v, s in pairs}
            else:
                expected = {v: None for v, _ in pairs}  # no wrapper: the handler must see none of them
            ms = emulate_once(a, env, wrapper, [v for v, _ in pairs], expected, task)
            if i > 0:
                samples[label].append(ms)
    without = statistics.median(samples[cases[0][0]])
    init = []
    for label, wrapper, n, rtt in cases:
        s = stats(samples[label])
        init.append({"case": label, "count": n if wrapper else 0, "rtt_ms": rtt, "wrapper": bool(wrapper),
                     "init_ms": s, "samples": samples[label],
                     "overhead_ms": s["median"] - without if wrapper else None})
    return init


def print_report(res, reference):
    print(terminal_report(res, reference))
    if res.get("ssm_results"):
        print(ssm_terminal_report(res, reference))
    b = res["server_baseline"]
    print("\nserver baseline (bare TLS client): " + "; ".join(
        f"+{rtt} ms RTT: new connection {fmt_ms(v['fresh']['median'])} ms, kept-alive request "
        f"{fmt_ms(v['kept_alive']['median'])} ms ({v['tls']})" for rtt, v in b["raw_client"].items()))
    if b.get("handling_us"):
        print(f"server handling time: median {b['handling_us']['median']:.0f} µs over {b['handling_us']['n']} requests")
    if res["init"]:
        print("\nLambda init duration (runtime start -> first GET /next), median:")
        for r in res["init"]:
            ov = "" if r["overhead_ms"] is None else f"  (+{fmt_ms(r['overhead_ms'])} ms)"
            print(f"  {r['case']:<52} {fmt_ms(r['init_ms']['median']):>7} ms{ov}")
    if res.get("floor_targets"):
        print("\nagainst the floor (lambda-secrets / floor, medians of this run):")
        for t in res["floor_targets"]:
            got = f"+{t['ratio']:.2f} ms" if t["target"].startswith("CPU") else f"{t['ratio']:.2f}x"
            p25 = "" if t["p25_ratio"] is None else f", lower quartiles {t['p25_ratio']:.2f}x"
            print(f"  {t['target']:<46} {got:>9}  (CPU {t['cpu_ratio']:.2f}x{p25})   {'met' if t['met'] else 'MISSED'}")
    if res["targets"]:
        print("\ntargets (ratio of medians; judged where marked *):")
        for t in res["targets"]:
            cols = "  ".join(f"{'*' if rtt == str(t['judged_rtt']) else ' '}+{rtt} ms {ratio_text(v['ratio']):>6}"
                             for rtt, v in t["by_rtt"].items())
            print(f"  {t['target']:<46} {cols}   {'met' if t['met'] else 'MISSED'}")
    print("\nfootprint:")
    for s in res["sizes"]:
        print(f"  {s['contender']:<16} {s['what']:<28} {s['bytes']:>13,} B  {s['detail']}")
    for w in res["warnings"]:
        print(f"\n  Warning: {w}")


def main(argv=None):
    a = parse_args(argv)
    started = time.time()
    load_before = os.getloadavg()
    runtime = a.runtime or build_runtime()
    if a.floor is None and "floor" in a.contenders.split(","):
        a.floor = build_floor()
    cs = select_contenders(a)
    names = [c.name for c in cs]
    if a.reference not in names:
        a.reference = names[0]
    warnings = []
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        warnings.append(f"The load average was {load_before[0]:.2f} on {os.cpu_count()} cores when the run started: "
                        "other work competed for the CPU. Ratios within this interleaved run stay comparable; "
                        "absolute times may be inflated. Run again on an idle machine for cleaner numbers.")

    with tempfile.TemporaryDirectory(prefix="lambda-secrets-bench-") as tmp:
        pki = make_pki(os.path.join(tmp, "pki"))
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        n_secrets = max([*a.counts, a.mixed[0] if a.mixed else 0, 1])
        values = {f"bench/s{i:02d}": pysecrets.token_urlsafe(30) for i in range(n_secrets)}
        secrets_file = os.path.join(tmp, "secrets.json")
        Path(secrets_file).write_text(json.dumps(values))
        parameters_file = None
        if a.ssm_cells:  # SecureString parameters, keyed here by their reference "ssm:NAME"
            n_params = max([*a.parameters, a.mixed[1] if a.mixed else 0])
            params = {f"ssm:{SSM_PREFIX}{i:02d}": pysecrets.token_urlsafe(30) for i in range(n_params)}
            values.update(params)
            parameters_file = os.path.join(tmp, "parameters.json")
            Path(parameters_file).write_text(json.dumps(
                {k[4:]: {"value": v, "type": "SecureString"} for k, v in params.items()}))
        expected_by_id = {k: sha(v) for k, v in values.items()}
        base = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", "HOME": home,
                "LANG": "C.UTF-8", "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_CA_BUNDLE": pki["ca"], "SSL_CERT_FILE": pki["ca"], "NODE_EXTRA_CA_CERTS": pki["ca"]}
        ep = Endpoints(a, pki, secrets_file, tmp, parameters_file)
        try:
            spawner = Spawner(tmp)
            cells = make_cells(a, cs, ep, base, values, expected_by_id, runtime, pki)
            verify(cells, spawner, runtime, values, expected_by_id, tmp)
            baseline = {"raw_client": {}}  # the server's own latency, per added RTT
            for rtt in a.rtt:
                fresh, kept, tls = raw_client_latency(ep.ports[rtt], pki["ca"], "bench/s00", a.baseline_runs)
                baseline["raw_client"][str(rtt)] = {"fresh": stats(fresh), "kept_alive": stats(kept), "tls": tls}
            server_stats(ep.server.port, pki["ca"], reset=True)
            measure(cells, spawner, tmp, a.settle_ms, a.shuffle)
            st = server_stats(ep.server.port, pki["ca"])
            baseline["requests"] = st["requests"]
            baseline["handling_us"] = stats(st["handling_us"])
            init = measure_init(a, ep, base, expected_by_id, tmp) if a.init_runs > 0 and "lambda-secrets" in names else []
        finally:
            ep.stop()

    if spawner.time is None:
        warnings.append("GNU time (/usr/bin/time) is missing: no peak RSS was measured (Debian package `time`).")
    outliers = [f"{c.where()} {max(c.wall) / statistics.median(c.wall):.0f}x" for c in cells
                if len(c.wall) >= 3 and max(c.wall) > 3 * statistics.median(c.wall)]
    if outliers:
        warnings.append(f"In {len(outliers)} of {len(cells)} cells the slowest run took over 3x the median "
                        f"({'; '.join(outliers)}): interference from other processes, most visible on the "
                        "sub-millisecond cells. Medians are robust to a few such runs; an idle machine avoids them.")
    results = [{"contender": c.contender.name, "label": c.contender.label, "count": c.count, "rtt_ms": c.rtt,
                "runs_class": c.contender.runs_class, "wall": stats(c.wall), "cpu": stats(c.cpu),
                "rss_mib": stats(c.rss), "samples": {"wall": c.wall, "cpu": c.cpu, "rss_mib": c.rss}}
               for c in cells if not c.ssm]
    ssm_results = [{"contender": c.contender.name, "label": c.contender.label, "secrets": c.count,
                    "parameters": c.params, "rtt_ms": c.rtt, "runs_class": c.contender.runs_class,
                    "wall": stats(c.wall), "cpu": stats(c.cpu), "rss_mib": stats(c.rss),
                    "samples": {"wall": c.wall, "cpu": c.cpu, "rss_mib": c.rss}} for c in cells if c.ssm]
    ssm_targets, ssm_mixed = evaluate_ssm_targets(
        {(r["contender"], r["secrets"], r["parameters"], r["rtt_ms"]): r for r in ssm_results}, a.rtt, baseline)
    by = {(r["contender"], r["count"], r["rtt_ms"]): r for r in results}
    command = a.command_line or " ".join(shlex.quote(x) for x in [sys.argv[0], *(argv or sys.argv[1:])])
    res = {
        "meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)), "started": started,
                 "elapsed_s": time.time() - started, "command": command, "load_before": list(load_before),
                 "load_after": list(os.getloadavg()), "facts": machine_facts(a)},
        "config": {"counts": a.counts, "rtt_ms": a.rtt, "quick": a.quick,
                   "runs": {"fast": a.runs, "medium": a.runs_medium, "slow": a.runs_slow},
                   "rss_runs": a.rss_runs, "init_runs": a.init_runs, "reference": a.reference},
        "contenders": [{"name": c.name, "label": c.label, "runs_class": c.runs_class, "note": c.note} for c in cs],
        "server_baseline": baseline, "results": results, "targets": evaluate_targets(by, a.rtt, baseline),
        "floor_targets": evaluate_floor(by),
        "init": init, "sizes": sizes(a, names), "warnings": warnings,
    }
    if a.ssm_cells:
        res["config"]["ssm"] = {"parameters": a.parameters, "mixed": list(a.mixed) if a.mixed else None,
                                "parameter_type": "SecureString"}
        res["ssm_results"], res["ssm_targets"], res["ssm_mixed"] = ssm_results, ssm_targets, ssm_mixed
    print_report(res, a.reference)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    if a.markdown:
        Path(a.markdown).write_text(markdown_report(res))
    if a.svg:
        Path(a.svg).write_text(chart.render(res))
    return res


if __name__ == "__main__":
    main()
