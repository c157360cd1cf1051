"""Start-up and fetch cost of the lambda-secrets binary, measured in one interleaved run.

Each sample is a fresh process (posix_spawn, then wait4 for its own rusage): wall time from spawn to
exit, CPU time (user + sys) and peak RSS. Commands are interleaved (A B C ... A B C ...) so that
machine noise falls on all of them alike, and ratios are taken between medians of the same run.

Cases (README, "Performance"), all against one local HTTPS Secrets Manager (moto, or the
fault server of tests/support/faultsm.py with --server fake, which isolates client cost):
  a) LAMBDA_SECRETS empty: `lambda-secrets /bin/true` against `/bin/true`
  b) one secret then exec /bin/true, against one `curl --aws-sigv4` GetSecretValue request
  c) ten secrets against one secret
With --baseline OTHER_BINARY, the same three lambda-secrets cases run for that build too, in the same
interleaved run, and the ratios this build / that build are printed: a before/after comparison.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.faultsm import FaultServer  # noqa: E402
from support.motoctl import MotoServer  # noqa: E402
from support.pki import make_pki  # noqa: E402


def sample(argv, env):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e6
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{argv[0]} exited with {code}; environment keys {sorted(env)}")
    return wall, (ru.ru_utime + ru.ru_stime) * 1000


def peak_rss_kib(argv, env):
    """Peak RSS through GNU time: a child of this (large) Python process would inherit its high-water
    mark across exec, a child of the small `time` program only time's own, which /bin/true shows."""
    with tempfile.NamedTemporaryFile("r") as out:
        pid = os.posix_spawn("/usr/bin/time", ["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], env)
        os.waitpid(pid, 0)
        return int(out.read().split()[-1])


def measure(commands, runs):
    """commands: {name: (argv, env)} -> {name: {"wall": [...], "cpu": [...], "rss": [...]}}"""
    out = {n: {"wall": [], "cpu": [], "rss": []} for n in commands}
    for i in range(runs):
        for name, (argv, env) in commands.items():
            w, c = sample(argv, env)
            out[name]["wall"].append(w)
            out[name]["cpu"].append(c)
            if i < 10:
                out[name]["rss"].append(peak_rss_kib(argv, env) / 1024)
    return out


def summary(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--server", choices=["moto", "fake"], default="moto",
                    help="moto (checks signatures; Python, ~10 ms a request) or the fault server, no fault (client cost)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--baseline", help="another lambda-secrets build to compare with, in the same run")
    args = ap.parse_args()
    binary = str(Path(args.binary).resolve())
    true = "/bin/true"
    curl = "/usr/bin/curl"

    with tempfile.TemporaryDirectory(prefix="ls-bench-") as tmp:
        pki = make_pki(tmp)
        values = {f"bench/s{i}": json.dumps({"password": f"value-{i}"}) for i in range(10)}
        if args.server == "moto":
            server = MotoServer(pki, os.path.join(tmp, "moto.log"))
            endpoint = server.endpoint
            sm = server.client("secretsmanager")
            for name, value in values.items():
                sm.create_secret(Name=name, SecretString=value)
        else:
            server = FaultServer(values, pki=pki, record=False)
            endpoint = server.url
        try:
            creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
            base = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1",
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "AWS_CA_BUNDLE": pki["ca"], **creds}
            one = json.dumps({"P0": "bench/s0:password"})
            ten = json.dumps({f"P{i}": f"bench/s{i}:password" for i in range(10)})
            curl_argv = [curl, "-sS", "-o", "/dev/null", "--fail", "--cacert", pki["ca"],
                         "--aws-sigv4", "aws:amz:us-east-1:secretsmanager", "--user", "testing:testing",
                         "-H", "X-Amz-Target: secretsmanager.GetSecretValue",
                         "-H", "Content-Type: application/x-amz-json-1.1",
                         "-d", '{"SecretId":"bench/s0"}', endpoint + "/"]
            commands = {
                "true": ([true], {"PATH": "/usr/bin:/bin"}),
                "wrapper, nothing to fetch": ([binary, true], {"PATH": "/usr/bin:/bin", "LAMBDA_SECRETS": ""}),
                "curl --aws-sigv4, 1 secret": (curl_argv, {"PATH": "/usr/bin:/bin"}),
                "lambda-secrets, 1 secret": ([binary, true], dict(base, LAMBDA_SECRETS=one)),
                "lambda-secrets, 10 secrets": ([binary, true], dict(base, LAMBDA_SECRETS=ten)),
            }
            if args.baseline:
                other = str(Path(args.baseline).resolve())
                for case in ["wrapper, nothing to fetch", "lambda-secrets, 1 secret", "lambda-secrets, 10 secrets"]:
                    argv, env = commands[case]
                    commands[f"baseline: {case}"] = ([other, *argv[1:]], env)
            for argv, env in commands.values():  # every command works before anything is timed
                sample(argv, env)
            started = time.time()
            raw = measure(commands, args.runs)
        finally:
            server.stop()

    results = {n: {k: summary(v) for k, v in m.items()} for n, m in raw.items()}
    med = {n: r["wall"]["median"] for n, r in results.items()}
    ratios = {
        "a) overhead over /bin/true, ms": med["wrapper, nothing to fetch"] - med["true"],
        "b) 1 secret / curl": med["lambda-secrets, 1 secret"] / med["curl --aws-sigv4, 1 secret"],
        "c) 10 secrets / 1 secret": med["lambda-secrets, 10 secrets"] / med["lambda-secrets, 1 secret"],
    }
    for case in ["wrapper, nothing to fetch", "lambda-secrets, 1 secret", "lambda-secrets, 10 secrets"]:
        if f"baseline: {case}" in med:
            for what in ["wall", "cpu"]:
                this = results[case][what]["median"]
                that = results[f"baseline: {case}"][what]["median"]
                ratios[f"{case}, {what}: this build / baseline"] = this / that
    print(f"{args.runs} interleaved runs each, {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC, "
          f"{platform.machine()}, {os.cpu_count()} cores, server: {args.server} over HTTPS\n")
    print("| command | wall min | wall median | wall max | CPU median | peak RSS max |")
    print("|---|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        w = r["wall"]
        print(f"| {n} | {w['min']:.2f} ms | {w['median']:.2f} ms | {w['max']:.2f} ms | "
              f"{r['cpu']['median']:.2f} ms | {r['rss']['max']:.1f} MiB |")
    print()
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "started": started, "results": results,
                                               "ratios": ratios, "raw": raw}, indent=1))


if __name__ == "__main__":
    main()
