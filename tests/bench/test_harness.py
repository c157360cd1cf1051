"""The cold-start benchmark harness (bench/bench.py) itself, in a small configuration.

It must run end to end and produce output it can parse back (terminal table, JSON, Markdown, SVG),
and it must refuse to report anything when a contender does not inject the right values: every
exec'ing contender ends in bench-runtime, which checks each variable by sha256. Two deliberately
wrong contenders (one value off by a character, no value at all) prove that the check bites.

No npm install and no AWS SDK for Rust build: the small run uses lambda-secrets, curl, boto3 and
the AWS CLI wrapper, which need nothing but tests/requirements.txt.
"""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench.py"
SMALL = ["--contenders", "runtime-alone,floor,lambda-secrets,curl,boto3,aws-cli", "--counts", "1,2", "--rtt", "0,10",
         "--runs", "3", "--runs-medium", "1", "--runs-slow", "1", "--rss-runs", "1", "--init-runs", "1",
         "--baseline-runs", "3"]


def run_bench(binary, *args, timeout=240):
    env = {k: v for k, v in os.environ.items() if k != "BENCH_COMMAND"}
    return subprocess.run([sys.executable, str(BENCH), "--binary", binary, *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def small_run(binary, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    paths = {k: out / f"result.{k}" for k in ("json", "md", "svg")}
    p = run_bench(binary, *SMALL, "--json", str(paths["json"]), "--markdown", str(paths["md"]),
                  "--svg", str(paths["svg"]))
    assert p.returncode == 0, f"the harness failed (rc {p.returncode}):\n{p.stderr[-4000:]}\n{p.stdout[-2000:]}"
    return p, json.loads(paths["json"].read_text()), paths


def test_every_cell_is_measured(small_run):
    _, res, _ = small_run
    names = ["runtime-alone", "floor", "lambda-secrets", "curl", "boto3", "aws-cli"]
    cells = {(r["contender"], r["count"], r["rtt_ms"]): r for r in res["results"]}
    assert set(cells) == {(c, n, t) for c in names for n in (1, 2) for t in (0, 10)}
    runs = {"runtime-alone": 3, "floor": 3, "lambda-secrets": 3, "curl": 3, "boto3": 1, "aws-cli": 1}
    for (name, n, rtt), r in cells.items():
        w = r["wall"]
        assert w["n"] == runs[name] == len(r["samples"]["wall"]) == len(r["samples"]["cpu"])
        assert 0 < w["min"] <= w["median"] <= w["max"]
        assert r["cpu"]["median"] > 0
        if res["warnings"] and any("GNU time" in x for x in res["warnings"]):
            assert r["rss_mib"] is None
        else:
            assert len(r["samples"]["rss_mib"]) == 1 and r["rss_mib"]["max"] > 0
    # The added round trip is really in the path: a fresh HTTPS connection costs at least 3 of them
    # (TCP, TLS 1.3, the request), each delayed by the proxy's sleeps, so every +10 ms run of
    # the floor, lambda-secrets and curl takes at least 30 ms. A lower bound made of sleeps holds on a
    # loaded machine (load only adds); comparing two measured times would not, so none is compared.
    for name in ("floor", "lambda-secrets", "curl"):
        assert cells[(name, 1, 10)]["wall"]["min"] >= 30, cells[(name, 1, 10)]["wall"]


def test_the_server_baseline_and_its_counts(small_run):
    _, res, _ = small_run
    b = res["server_baseline"]
    assert set(b["raw_client"]) == {"0", "10"}
    # Lower bounds made of the proxy's sleeps only (see test_every_cell_is_measured): a fresh
    # connection is 3 delayed round trips, a request on it 1.
    assert b["raw_client"]["10"]["fresh"]["min"] >= 30 and b["raw_client"]["10"]["kept_alive"]["min"] >= 10
    assert b["raw_client"]["0"]["fresh"]["n"] == 3 == b["raw_client"]["10"]["kept_alive"]["n"]
    assert b["raw_client"]["0"]["tls"] == "TLSv1.3"
    # Timed and RSS runs only (the verification runs come before the counters are reset):
    # one request per run of lambda-secrets, curl and boto3 (a batch for 2); one per secret for the CLI.
    # The floor contender sends the same plan as lambda-secrets; every one of its runs ended in
    # bench-runtime, which checked its values by sha256 (a wrong one fails the whole run).
    per_run = {"floor": (1, 1), "lambda-secrets": (1, 1), "curl": (1, 1), "boto3": (1, 1), "aws-cli": (1, 2)}
    want = {"GetSecretValue": 0, "BatchGetSecretValue": 0}
    for r in res["results"]:
        if r["contender"] in per_run:
            runs = len(r["samples"]["wall"]) + len(r["samples"]["rss_mib"])
            one, two = per_run[r["contender"]]
            if r["count"] == 1:
                want["GetSecretValue"] += runs * one
            elif r["contender"] == "aws-cli":
                want["GetSecretValue"] += runs * two
            else:
                want["BatchGetSecretValue"] += runs
    assert b["requests"] == want
    assert b["handling_us"]["median"] > 0


def test_targets_init_and_sizes_are_reported(small_run):
    _, res, _ = small_run
    # Judged at +0 ms RTT on 1 secret, shown at +10 ms; no 20-secret target without 20 secrets.
    assert {t["other"]: set(t["by_rtt"]) for t in res["targets"]} == {o: {"0", "10"} for o in ("curl", "boto3", "aws-cli")}
    by = {(r["contender"], r["count"], r["rtt_ms"]): r["wall"]["median"] for r in res["results"]}
    for t in res["targets"]:
        assert t["judged_rtt"] == 0 and isinstance(t["met"], bool) and t["note"]
        assert t["ratio"] == pytest.approx(by[("lambda-secrets", 1, 0)] / by[(t["other"], 1, 0)])
        assert t["met"] == (t["ratio"] <= t["limit"])
    cases = {(r["wrapper"], r["count"], r["rtt_ms"]) for r in res["init"]}
    assert cases == {(False, 0, 0)} | {(True, n, t) for n in (1, 2) for t in (0, 10)}
    for r in res["init"]:
        assert r["init_ms"]["n"] == 1 and r["init_ms"]["median"] > 0
        assert (r["overhead_ms"] is None) == (not r["wrapper"])
    what = {(s["contender"], s["what"]) for s in res["sizes"]}
    assert ("lambda-secrets", "static binary (stripped)") in what
    assert {"curl", "boto3", "aws-cli"} <= {c for c, _ in what}
    assert all(s["bytes"] > 0 for s in res["sizes"])
    facts = res["meta"]["facts"]
    assert facts["cores"] and facts["lambda_secrets"] and facts["lambda_secrets_sha256"]
    assert len(res["meta"]["load_before"]) == 3


def test_the_floor_is_reported(small_run):
    """The floor contender (bench/floor) in every cell, its targets, and the "× floor" columns."""
    _, res, paths = small_run
    by = {(r["contender"], r["count"], r["rtt_ms"]): r for r in res["results"]}
    got = {t["target"]: t for t in res["floor_targets"]}
    assert set(got) == {"wall ≤ 1.15× floor, 1 secret, +0 ms RTT", "wall ≤ 1.05× floor, 1 secret, +10 ms RTT",
                        "CPU ≤ floor + 0.5 ms, 1 secret, +0 ms RTT"}
    for t in got.values():
        ref, floor = by[("lambda-secrets", 1, t["rtt_ms"])], by[("floor", 1, t["rtt_ms"])]
        if t["target"].startswith("CPU"):
            assert t["ratio"] == pytest.approx(ref["cpu"]["median"] - floor["cpu"]["median"])
        else:
            assert t["ratio"] == pytest.approx(ref["wall"]["median"] / floor["wall"]["median"])
        assert t["met"] == (t["ratio"] <= t["limit"])
    md = paths["md"].read_text()
    assert "## Against the floor" in md and "| × floor (wall) | × floor (CPU) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| lambda-secrets | 2 | 10 ms |"))
    r, f = by[("lambda-secrets", 2, 10)], by[("floor", 2, 10)]
    assert row.endswith(f"| {r['wall']['median'] / f['wall']['median']:.2f} | "
                        f"{r['cpu']['median'] / f['cpu']['median']:.2f} |")


def test_the_terminal_table_matches_the_json(small_run):
    p, res, _ = small_run
    by = {(r["label"], r["count"], r["rtt_ms"]): r for r in res["results"]}
    seen = 0
    section = None
    for line in p.stdout.splitlines():
        m = re.match(r"^(\d+) secrets?, \+(\d+) ms RTT$", line)
        if m:
            section = (int(m.group(1)), int(m.group(2)))
            continue
        m = re.match(r"^  (.+?)\s+(\d+)\s+([\d.]+) ms\s+([\d.]+) ms\s+([\d.]+) ms\s+([\d.]+) ms\s+(\S+ MiB|-)\s+(.*)$", line)
        if m and section:
            r = by[(m.group(1), *section)]
            assert int(m.group(2)) == r["wall"]["n"]
            assert float(m.group(4)) == pytest.approx(r["wall"]["median"], rel=0.01, abs=0.01)
            if r["contender"] == "lambda-secrets":
                assert m.group(8) == "reference"
            else:
                ref = by[("lambda-secrets", *section)]["wall"]["median"]
                assert float(m.group(8).rstrip("x")) == pytest.approx(r["wall"]["median"] / ref, rel=0.01, abs=0.01)
            seen += 1
    assert seen == len(res["results"])


def test_markdown_and_svg(small_run):
    _, res, paths = small_run
    md = paths["md"].read_text()
    head = next(line for line in md.splitlines() if line.startswith("| median wall ms"))
    assert head.count("|") == 2 + 4  # a label column and 2 counts x 2 RTTs
    for label in {r["label"] for r in res["results"]}:
        assert f"| {label} |" in md
    assert "## Targets" in md and "## Footprint" in md and "## Lambda init duration" in md
    svg = ET.parse(paths["svg"]).getroot()
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    charted = [r for r in res["results"] if r["contender"] != "runtime-alone"]
    assert len(titles) == len(charted)


def test_the_runtime_hash_matches_sha256():
    """bench-runtime's own SHA-256 (it has no dependencies) against hashlib, across block boundaries."""
    spec = importlib.util.spec_from_file_location("lambda_secrets_bench", BENCH)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    rt = harness.build_runtime()
    values = ["", "abc", "a" * 55, "a" * 56, "a" * 64, "ü€ \t" * 40, "x" * 1000]
    out = subprocess.run([rt, "--sha256", *values], capture_output=True, text=True, check=True).stdout.split()
    assert out == [hashlib.sha256(v.encode()).hexdigest() for v in values]


def write_contender(tmp_path, name, body):
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(0o755)
    return script


LIAR = '''
import os, sys
import boto3
args = sys.argv[1:]
split = args.index("--")
pairs = [p.split("=", 1) for p in args[:split]]
client = boto3.client("secretsmanager")
for name, secret_id in pairs:
    os.environ[name] = client.get_secret_value(SecretId=secret_id)["SecretString"]
last = pairs[-1][0]
os.environ[last] = os.environ[last][:-1] + ("A" if os.environ[last][-1] != "A" else "B")  # one character off
os.execvp(args[split + 1], args[split + 1:])
'''

LAZY = '''
import os, sys
args = sys.argv[1:]
os.execvp(args[args.index("--") + 1], args[args.index("--") + 1:])  # injects nothing
'''


@pytest.mark.parametrize("name, body, says", [("liar", LIAR, "SECRET_02 has the wrong value"),
                                              ("lazy", LAZY, "SECRET_00 missing")])
def test_a_contender_with_wrong_values_fails_the_whole_run(binary, tmp_path, name, body, says):
    script = write_contender(tmp_path, name, body)
    out = tmp_path / "result.json"
    p = run_bench(binary, "--contenders", "lambda-secrets", "--add-contender", f"{name}={script}",
                  "--counts", "3", "--rtt", "0", "--runs", "2", "--init-runs", "0", "--baseline-runs", "1",
                  "--json", str(out), timeout=120)
    assert p.returncode != 0, f"the harness accepted {name}:\n{p.stdout[-2000:]}"
    assert f"{name} (3 secrets, +0 ms RTT) exited with 1 during verification" in p.stderr, p.stderr[-3000:]
    assert "did not receive the expected values" in p.stderr
    assert says in p.stderr, p.stderr[-3000:]
    assert not out.exists(), "no result may be written when a contender is wrong"
    assert p.stdout == "", "no table may be printed when a contender is wrong"


# ---------------------------------------------------------------- the Parameter Store cells (--ssm)

SSM_SMALL = ["--contenders", "runtime-alone,lambda-secrets,curl,boto3,aws-cli", "--counts", "none", "--ssm",
             "--parameters", "1,2", "--mixed", "2+2", "--rtt", "0", "--runs", "2", "--runs-medium", "1",
             "--runs-slow", "1", "--rss-runs", "1", "--init-runs", "0", "--baseline-runs", "2"]


@pytest.fixture(scope="module")
def ssm_run(binary, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-ssm")
    paths = {k: out / f"result.{k}" for k in ("json", "md")}
    p = run_bench(binary, *SSM_SMALL, "--json", str(paths["json"]), "--markdown", str(paths["md"]))
    assert p.returncode == 0, f"the harness failed (rc {p.returncode}):\n{p.stderr[-4000:]}\n{p.stdout[-2000:]}"
    return p, json.loads(paths["json"].read_text()), paths


def test_the_parameter_cells_run_and_verify(ssm_run):
    """Every contender that reads Parameter Store gets the parameter cells; the mixed cell and its two
    halves go to the contenders that read both services (not curl: one request, one service). Each
    cell passed its verification run (bench-runtime checked every value by sha256) and was timed."""
    _, res, _ = ssm_run
    assert res["results"] == [] and res["config"]["ssm"] == {"parameters": [1, 2], "mixed": [2, 2],
                                                              "parameter_type": "SecureString"}
    cells = {(r["contender"], r["secrets"], r["parameters"]): r for r in res["ssm_results"]}
    both = {(0, 1), (0, 2), (2, 0), (2, 2)}
    want = {(c, 0, p) for c in ("curl", "aws-cli") for p in (1, 2)}
    want |= {(c, *w) for c in ("runtime-alone", "lambda-secrets", "boto3") for w in both}
    assert set(cells) == want
    runs = {"runtime-alone": 2, "lambda-secrets": 2, "curl": 2, "boto3": 1, "aws-cli": 1}
    for (name, _, _), r in cells.items():
        assert r["rtt_ms"] == 0 and r["wall"]["n"] == runs[name] == len(r["samples"]["cpu"])
        assert 0 < r["wall"]["min"] <= r["wall"]["median"] <= r["wall"]["max"] and r["cpu"]["median"] > 0


def test_the_parameter_cells_make_the_calls_they_should(ssm_run):
    """Calls per timed or RSS run, counted by the server: one GetParameters for up to 10 parameters
    (lambda-secrets, curl, boto3), one per variable for the CLI wrapper; secrets as in the Secrets
    Manager cells (2 secrets: one BatchGetSecretValue); the mixed cell makes both."""
    _, res, _ = ssm_run
    want = {"GetParameters": 0, "BatchGetSecretValue": 0}
    for r in res["ssm_results"]:
        if r["contender"] == "runtime-alone":
            continue
        runs = len(r["samples"]["wall"]) + len(r["samples"]["rss_mib"])
        if r["parameters"]:
            want["GetParameters"] += runs * (r["parameters"] if r["contender"] == "aws-cli" else 1)
        if r["secrets"]:
            want["BatchGetSecretValue"] += runs
    assert res["server_baseline"]["requests"] == want


def test_the_parameter_targets_and_report(ssm_run):
    """The three targets of the Parameter Store cells are evaluated from this run's medians (the
    verdict only follows the ratio: no timing is compared here), and every cell is in the report."""
    p, res, paths = ssm_run
    by = {(r["contender"], r["secrets"], r["parameters"]): r["wall"]["median"] for r in res["ssm_results"]}
    targets = {t["target"]: t for t in res["ssm_targets"]}
    curl = targets["lambda-secrets ≤ 0.4× curl, 1 parameter"]
    assert curl["ratio"] == pytest.approx(by[("lambda-secrets", 0, 1)] / by[("curl", 0, 1)])
    mixed = targets["lambda-secrets, 2 secrets + 2 parameters ≤ 1.2× the slower half alone"]
    assert mixed["ratio"] == pytest.approx(
        by[("lambda-secrets", 2, 2)] / max(by[("lambda-secrets", 2, 0)], by[("lambda-secrets", 0, 2)]))
    assert len(targets) == 2  # no 10-parameter cell, so no scaling target
    for t in res["ssm_targets"]:
        assert t["met"] == (t["ratio"] <= t["limit"]) and t["note"]
    assert {m["contender"] for m in res["ssm_mixed"]} == {"lambda-secrets", "boto3"}
    md = paths["md"].read_text()
    assert "## Parameter Store cells" in md and "### Parameter Store targets" in md
    assert sum(1 for line in md.splitlines() if re.match(r"^\| .+ \| \d+ \| \d+ \| 0 ms \|", line)) == len(by)
    assert "Parameter Store cells (--ssm)" in p.stdout


PARAM_LIAR = '''
import os, sys
import boto3
args = sys.argv[1:]
split = args.index("--")
pairs = [p.split("=", 1) for p in args[:split]]
names = [r[4:] for _, r in pairs if r.startswith("ssm:")]
if names:
    got = {p["Name"]: p["Value"] for p in
           boto3.client("ssm").get_parameters(Names=names, WithDecryption=True)["Parameters"]}
    for var, ref in pairs:
        os.environ[var] = got[ref[4:]]
last = pairs[-1][0]
os.environ[last] = os.environ[last][:-1] + ("A" if os.environ[last][-1] != "A" else "B")  # one character off
os.execvp(args[split + 1], args[split + 1:])
'''


@pytest.mark.parametrize("name, body, says", [("liar", PARAM_LIAR, "PARAM_01 has the wrong value"),
                                              ("lazy", LAZY, "PARAM_00 missing")])
def test_a_wrong_parameter_fails_the_whole_run(binary, tmp_path, name, body, says):
    script = write_contender(tmp_path, name, body)
    out = tmp_path / "result.json"
    p = run_bench(binary, "--contenders", "lambda-secrets", "--add-contender", f"{name}={script}", "--counts",
                  "none", "--ssm", "--parameters", "2", "--mixed", "none", "--rtt", "0", "--runs", "2",
                  "--init-runs", "0", "--baseline-runs", "1", "--json", str(out), timeout=120)
    assert p.returncode != 0, f"the harness accepted {name}:\n{p.stdout[-2000:]}"
    assert f"{name} (2 parameters, +0 ms RTT) exited with 1 during verification" in p.stderr, p.stderr[-3000:]
    assert says in p.stderr, p.stderr[-3000:]
    assert not out.exists() and p.stdout == ""
