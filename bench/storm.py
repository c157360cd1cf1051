#!/usr/bin/env python3
"""Cold-start storm: N lambda-secrets processes at once against one fake AWS endpoint with AWS's quotas.

Starts tests/support/faultsm.py as its own process (HTTPS with a throw-away CA, loopback only, token
buckets of BatchGetSecretValue 100/s, GetSecretValue 10,000/s and the SSM reads GetParameter,
GetParameters and GetParametersByPath 40/s together unless told otherwise), then spawns N processes
(default 500) as fast as it can, each `lambda-secrets /bin/sh -c CHECK` fetching the same secrets
(default 5) and/or SSM parameters (`--parameters`, object form `{"P0": "ssm:/storm/p0", ...}`, read
through AWS_ENDPOINT_URL_SSM) with its own access key id, so the server can count calls per start.
CHECK compares every injected variable with its expected value: a start succeeds only when the
command ran with all of them right.

Reports: success rate, and how many started inside 5 s and 10 s of wall time (Lambda's init cap is
10 s); time to exec (the binary's own `elapsed_ms`, from its start to just before exec) and wall time
(spawn to the command's exit) at p50/p95/p99/max; API calls per start by operation, and throttled
calls per start; how many starts fell back from a throttled batch; the server's totals; the load
average before and after; for the first failed starts, their log lines and calls by outcome.

Bounded: at most 2000 processes; every process still running at the deadline plus 30 s is killed and
counted as failed; the server listens on 127.0.0.1 only and is stopped at the end.

    python3 bench/storm.py [--binary PATH] [-n 500] [--secrets 5] [--batch-rate 100] [--timeout-ms 10000]
    python3 bench/storm.py --parameters 5 [--ssm-rate 40] ...   (5 parameters, no secrets unless --secrets)
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.pki import make_pki  # noqa: E402

FAULTSM = ROOT / "tests" / "support" / "faultsm.py"
MAX_PROCESSES = 2000
SM_OPS = ("BatchGetSecretValue", "GetSecretValue")
SSM_OPS = ("GetParameters", "GetParametersByPath")
FAILED_DETAIL = 20  # failed starts whose log lines and calls the JSON keeps


def default_binary():
    for p in (ROOT / "target/x86_64-unknown-linux-musl/release/lambda-secrets", ROOT / "target/release/lambda-secrets"):
        if p.is_file():
            return p
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return ROOT / "target/release/lambda-secrets"


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def failure_kind(message):
    """A failure line without what differs between starts (request ids, attempt counts, ports)."""
    message = re.sub(r"request id [^)]*", "request id …", message)
    message = re.sub(r"after \d+ attempts?", "after N attempts", message)
    return re.sub(r"localhost:\d+", "localhost:PORT", message)


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "load_before": list(os.getloadavg())}


def start_server(pki, args, secrets, parameters):
    cmd = [sys.executable, str(FAULTSM), "--cert", pki["cert"], "--key", pki["key"], "--no-record",
           "--batch-rate", str(args.batch_rate), "--get-rate", str(args.get_rate),
           "--ssm-rate", str(args.ssm_rate), "--burst-seconds", str(args.burst_seconds)]
    for name, value in secrets.items():
        cmd += ["--secret", f"{name}={value}"]
    for name, value in parameters.items():
        cmd += ["--parameter", f"{name}={value}"]
    for spec in args.fault:
        cmd += ["--fault", spec]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    try:
        url = json.loads(line)["url"]
    except (ValueError, KeyError):
        proc.kill()
        raise SystemExit(f"faultsm did not start: {line!r}")
    return proc, url


def fetch_stats(url, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url + "/_faultsm/stats", context=ctx, timeout=30) as resp:
        return json.loads(resp.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="lambda-secrets to run (default: the musl release build, else target/release)")
    ap.add_argument("-n", "--processes", type=int, default=500)
    ap.add_argument("--secrets", type=int, help="secrets per start (default 5, or 0 with --parameters)")
    ap.add_argument("--parameters", type=int, default=0, help="SSM parameters per start (default 0)")
    ap.add_argument("--batch-rate", type=float, default=100.0, help="BatchGetSecretValue quota, calls/s (AWS: 100)")
    ap.add_argument("--get-rate", type=float, default=10000.0, help="GetSecretValue quota, calls/s (AWS: 10,000)")
    ap.add_argument("--ssm-rate", type=float, default=40.0,
                    help="GetParameter + GetParameters + GetParametersByPath quota, calls/s, shared "
                         "(AWS: 40 by default; higher throughput: thousands for GetParameters)")
    ap.add_argument("--burst-seconds", type=float, default=1.0, help="token bucket size in seconds of its rate")
    ap.add_argument("--timeout-ms", type=int, default=10000, help="LAMBDA_SECRETS_TIMEOUT_MS (Lambda's init cap: 10 s)")
    ap.add_argument("--log-level", help="LAMBDA_SECRETS_LOG for the processes (for a diagnosis: debug)")
    ap.add_argument("--fault", action="append", default=[], metavar="JSON",
                    help='a fault rule for the server as well, e.g. '
                         '{"fault": "reset", "op": "GetSecretValue", "rate": 0.02}')
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"), help="directory for storm-DATE.json and .md")
    ap.add_argument("--name", help="file name stem (default storm-YYYY-MM-DD)")
    ap.add_argument("--render", metavar="JSON", help="only write the Markdown of an earlier result again")
    args = ap.parse_args()
    if args.render:
        src = Path(args.render)
        src.with_suffix(".md").write_text(markdown(json.loads(src.read_text())))
        return 0
    if not 1 <= args.processes <= MAX_PROCESSES:
        ap.error(f"--processes must be 1 to {MAX_PROCESSES}")
    if args.secrets is None:
        args.secrets = 0 if args.parameters else 5
    if args.secrets < 0 or args.parameters < 0 or args.secrets + args.parameters == 0:
        ap.error("--secrets and --parameters: at least one reference in all")
    binary = Path(args.binary).resolve() if args.binary else default_binary()
    command = "python3 bench/storm.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])

    work = Path(tempfile.mkdtemp(prefix="storm-"))
    pki = make_pki(work / "pki")
    secrets = {f"storm/s{i}": f"storm-value-{i}-{os.urandom(6).hex()}" for i in range(args.secrets)}
    parameters = {f"/storm/p{i}": f"storm-param-{i}-{os.urandom(6).hex()}" for i in range(args.parameters)}
    refs = {f"STORM_{i}": name for i, name in enumerate(secrets)}
    refs.update({f"P{i}": f"ssm:{name}" for i, name in enumerate(parameters)})
    expected = dict(secrets, **{f"ssm:{n}": v for n, v in parameters.items()})
    check = " && ".join(f'[ "${var}" = "{expected[ref]}" ]' for var, ref in refs.items())
    server, url = start_server(pki, args, secrets, parameters)
    base_env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
        "AWS_ENDPOINT_URL_SSM": url,
        "AWS_CA_BUNDLE": pki["ca"],
        "AWS_REGION": "us-east-1",
        "AWS_SECRET_ACCESS_KEY": "storm-secret-access-key",
        "LAMBDA_SECRETS": json.dumps(refs),
        "LAMBDA_SECRETS_TIMEOUT_MS": str(args.timeout_ms),
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }
    if args.log_level:
        base_env["LAMBDA_SECRETS_LOG"] = args.log_level
    argv = [str(binary), "/bin/sh", "-c", check]
    logs = work / "logs"
    logs.mkdir()
    info = machine()

    # -- the storm
    spawned, ended = {}, {}
    client_cpu = 0.0
    hard_limit = args.timeout_ms / 1000 + 30
    t0 = time.perf_counter()
    for i in range(args.processes):
        env = dict(base_env, AWS_ACCESS_KEY_ID=f"AKIASTORM{i:07d}")
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, str(logs / f"{i}.err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        spawned[pid] = (i, t)
    spawn_time = time.perf_counter() - t0

    def watchdog():
        time.sleep(hard_limit)
        for pid in list(spawned):
            if pid not in ended:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    threading.Thread(target=watchdog, daemon=True).start()
    while len(ended) < len(spawned):
        pid, status, ru = os.wait4(-1, 0)
        if pid in spawned:
            ended[pid] = (time.perf_counter(), os.waitstatus_to_exitcode(status))
            client_cpu += ru.ru_utime + ru.ru_stime
        elif pid == server.pid:
            print("storm: the server died during the storm", file=sys.stderr)
    storm_time = time.perf_counter() - t0
    info["load_after"] = list(os.getloadavg())

    stats = fetch_stats(url, pki["ca"])
    server.terminate()
    try:
        _, _, server_ru = os.wait4(server.pid, 0)
        server_cpu = server_ru.ru_utime + server_ru.ru_stime
    except ChildProcessError:  # reaped above: it died during the storm
        server_cpu = None

    # -- per start
    starts = []
    for pid, (i, t_spawn) in spawned.items():
        t_end, code = ended[pid]
        rec = {"i": i, "exit": code, "wall_ms": (t_end - t_spawn) * 1000, "elapsed_ms": None,
               "fell_back": False, "error": None}
        log_lines = (logs / f"{i}.err").read_text(errors="replace").splitlines()
        rec["log"] = [line[:300] for line in log_lines[:40]]
        for line in log_lines:
            try:
                j = json.loads(line)
            except ValueError:
                rec["error"] = rec["error"] or line[:200]
                continue
            if "elapsed_ms" in j:
                rec["elapsed_ms"] = j["elapsed_ms"]
                rec["fell_back"] = "batch fell back" in j.get("message", "")
            elif j.get("level") == "ERROR" and rec["error"] is None:
                rec["error"] = j.get("message", "")[:200]
        calls = stats["by_key"].get(f"AKIASTORM{i:07d}", {})
        rec["calls"] = {op: sum(by.values()) for op, by in calls.items()}
        rec["throttled"] = {op: by.get("quota", 0) + by.get("throttle", 0) for op, by in calls.items()}
        rec["outcomes"] = calls
        starts.append(rec)
    starts.sort(key=lambda r: r["i"])
    ok = [r for r in starts if r["exit"] == 0 and r["elapsed_ms"] is not None]
    failed = [r for r in starts if not (r["exit"] == 0 and r["elapsed_ms"] is not None)]

    def dist(values):
        if not values:
            return None
        return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
                "max": max(values), "mean": statistics.fmean(values)}

    ops = (SM_OPS if args.secrets else ()) + (SSM_OPS[:1] if args.parameters else ())
    ops += tuple(op for op in SSM_OPS[1:] if op in stats["stats"])  # paths: not used by the storm today
    shapes = Counter((r["calls"].get("BatchGetSecretValue", 0), r["calls"].get("GetSecretValue", 0)) for r in starts)
    throttles = [sum(r["throttled"].values()) for r in starts]
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "machine": info,
        "binary": {"path": str(binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary),
                   "bytes": binary.stat().st_size,
                   "sha256": hashlib.sha256(binary.read_bytes()).hexdigest()},
        "config": {"processes": args.processes, "secrets": args.secrets, "parameters": args.parameters,
                   "batch_rate": args.batch_rate, "get_rate": args.get_rate, "ssm_rate": args.ssm_rate,
                   "burst_seconds": args.burst_seconds, "timeout_ms": args.timeout_ms,
                   "log_level": args.log_level, "faults": [json.loads(f) for f in args.fault]},
        "spawn_seconds": spawn_time,
        "client_cpu_seconds": client_cpu,
        "storm_seconds": storm_time,
        "success": len(ok),
        "failed": len(failed),
        "success_rate": len(ok) / len(starts),
        "started_within_ms": {str(limit): sum(1 for r in ok if r["wall_ms"] <= limit) for limit in (5000, 10000)},
        "time_to_exec_ms": dist([r["elapsed_ms"] for r in ok]),
        "wall_ms": dist([r["wall_ms"] for r in starts]),
        "fell_back": sum(1 for r in ok if r["fell_back"]),
        "calls_per_start": {
            op: {"mean": statistics.fmean(r["calls"].get(op, 0) for r in starts),
                 "p50": percentile([r["calls"].get(op, 0) for r in starts], 50),
                 "p99": percentile([r["calls"].get(op, 0) for r in starts], 99),
                 "max": max(r["calls"].get(op, 0) for r in starts),
                 "ok_mean": statistics.fmean(r["outcomes"].get(op, {}).get("ok", 0) for r in starts)}
            for op in ops
        },
        "throttled_per_start": {"mean": statistics.fmean(throttles), "p50": percentile(throttles, 50),
                                "p99": percentile(throttles, 99), "max": max(throttles)},
        "call_shapes": ({f"{b} batch + {g} get": n for (b, g), n in sorted(shapes.items())}
                        if args.secrets and not args.parameters else {}),
        "server": {"stats": stats["stats"],
                   "cpu_seconds": server_cpu},
        "failures": Counter(failure_kind(r["error"] or f"exit {r['exit']}") for r in failed).most_common(10),
        "failed_starts": [{k: r[k] for k in ("i", "exit", "wall_ms", "error", "outcomes", "log")}
                          for r in failed[:FAILED_DETAIL]],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"storm-{result['date'][:10]}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (out / f"{stem}.md").write_text(md)
    print(md)
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0 if not failed else 1


def markdown(r):
    c, m = r["config"], r["machine"]
    t, w = r["time_to_exec_ms"], r["wall_ms"]
    s = r["server"]["stats"]
    n_params = c.get("parameters", 0)
    total = r["success"] + r["failed"]
    what = " and ".join(x for x in (f"{c['secrets']} secrets" if c["secrets"] else "",
                                     f"{n_params} SSM parameters" if n_params else "") if x)
    quotas = []
    if c["secrets"]:
        quotas.append(f"BatchGetSecretValue {c['batch_rate']:g}/s, GetSecretValue {c['get_rate']:g}/s")
    if n_params:
        quotas.append(f"GetParameter + GetParameters + GetParametersByPath {c['ssm_rate']:g}/s together")
    load = f"load average before the run {m['load_before'][0]:.2f}"
    if "load_after" in m:
        load += f", after {m['load_after'][0]:.2f}"
    lines = [
        f"# Cold-start storm, {r['date']}",
        "",
        f"`{r['command']}`",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']}, Linux {m['kernel']}, Python {m['python']};"
        f" {load} (1-minute). The processes, the Python server and anything"
        " else on the machine share these CPUs.",
        f"Binary: `{r['binary']['path']}` ({r['binary']['bytes']} bytes, sha256 `{r['binary']['sha256'][:16]}…`).",
        f"{c['processes']} processes spawned at once (in {r['spawn_seconds']:.2f} s), each fetching the same"
        f" {what}; server quotas {'; '.join(quotas)} (token buckets of {c['burst_seconds']:g} s);"
        f" LAMBDA_SECRETS_TIMEOUT_MS={c['timeout_ms']}"
        + (f", LAMBDA_SECRETS_LOG={c['log_level']}" if c.get("log_level") else "")
        + (f"; injected faults {json.dumps(c['faults'])}" if c["faults"] else "")
        + f". The storm took {r['storm_seconds']:.2f} s.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| success | {r['success']}/{total} ({100 * r['success_rate']:.1f} %) |",
    ]
    if "started_within_ms" in r:
        within = r["started_within_ms"]
        lines.append(f"| started (command ran) inside 5 s / 10 s of wall time from spawn | {within['5000']}/{total}"
                     f" / {within['10000']}/{total} |")
    if t:
        lines.append(f"| time to exec (binary's elapsed_ms) p50 / p95 / p99 / max, successful starts | {t['p50']:.0f}"
                     f" / {t['p95']:.0f} / {t['p99']:.0f} / {t['max']:.0f} ms |")
    lines.append(f"| wall, spawn to the command's exit, p50 / p95 / p99 / max, all starts | {w['p50']:.0f}"
                 f" / {w['p95']:.0f} / {w['p99']:.0f} / {w['max']:.0f} ms |")
    if c["secrets"]:
        lines.append(f"| starts that fell back to GetSecretValue | {r['fell_back']} |")
    for op, v in r["calls_per_start"].items():
        if "p50" in v:
            lines.append(f"| {op} calls per start, mean / p50 / p99 / max (answered, mean) | {v['mean']:.2f} /"
                         f" {v['p50']} / {v['p99']} / {v['max']} ({v['ok_mean']:.2f}) |")
        else:
            lines.append(f"| {op} calls per start, mean (max) | {v['mean']:.2f} ({v['max']}) |")
    if "throttled_per_start" in r:
        v = r["throttled_per_start"]
        lines.append(f"| throttled calls per start (quota or injected), mean / p50 / p99 / max | {v['mean']:.2f} /"
                     f" {v['p50']} / {v['p99']} / {v['max']} |")
    lines.append(f"| server totals | {json.dumps(s, sort_keys=True)} |")
    cpu = f"{r['client_cpu_seconds']:.1f} s in the {c['processes']} processes (lambda-secrets, then /bin/sh)"
    if r["server"]["cpu_seconds"] is not None:
        cpu += f", {r['server']['cpu_seconds']:.1f} s in the server"
    lines.append(f"| CPU time | {cpu}; {m['cpus']} CPUs × {r['storm_seconds']:.1f} s ="
                 f" {m['cpus'] * r['storm_seconds']:.1f} s available |")
    if r["call_shapes"]:
        lines += ["", "Calls per start: " + "; ".join(f"{k}: {n}" for k, n in r["call_shapes"].items()) + "."]
    if c["secrets"]:
        lines += ["", "The server is one Python process (tests/support/faultsm.py, a thread per connection, one core"
                  " at most): when most starts fall back to five GetSecretValue calls on five new TLS connections,"
                  " it sets the pace, not lambda-secrets."]
    if n_params:
        need = c["processes"] * -(-n_params // 10)
        rate = c["ssm_rate"]
        lines += ["", f"Each start needs {-(-n_params // 10)} GetParameters call (10 names a call), so the storm needs"
                  f" {need} answered calls: at {rate:g}/s with a bucket of {rate * c['burst_seconds']:g} that is"
                  f" {max(0.0, (need - rate * c['burst_seconds']) / rate):.1f} s after the burst, whatever the client"
                  " does. A throttled call is retried (until the deadline, as AWS_MAX_ATTEMPTS is not set), and each"
                  " retry is a call the server refuses: throttled calls per start count them."]
    lines += ["", "Time to exec is measured by the binary from its own start, so it leaves out the wait to be"
              " scheduled at all on a machine running hundreds of new processes at once; wall time includes it."]
    if r["failures"]:
        lines += ["", "Failures (most common first):", ""]
        lines += [f"- {n} × {msg}" for msg, n in r["failures"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
