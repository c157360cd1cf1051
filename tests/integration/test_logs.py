"""Logging (README, "Output"): the one success line, levels, AWS_LAMBDA_LOG_FORMAT=JSON, SnapStart."""

import datetime
import json
import re

import pytest

from support.runner import lines_with

TEXT_LINE = re.compile(r"^lambda-secrets: (error|warn|info|debug): \S")


@pytest.fixture(scope="module")
def pair(h):
    return h.seed("log-a"), h.seed("log-b", '{"k": "%s"}' % h.sentinel())


def refs(pair):
    a, b = pair
    return {"LOG_A": a.name, "LOG_K": f"{b.name}:k", "LOG_B": f"{b.name}:::"}  # b: one secret, two refs


def test_default_level_prints_exactly_one_line_on_success(h, pair):
    r = h.run_cmd(h.env(refs(pair), names=["LOG_A"]))
    assert r.rc == 0, r
    (line,) = r.lines
    assert line.startswith("lambda-secrets: info: injected 3 variables from 2 secrets"), r
    assert re.search(r"\b1 request", line), r  # one BatchGetSecretValue
    assert re.search(r"\b\d+(\.\d+)? ?ms\b", line), r
    assert r.stdout.count("\n") == 1 and r.child is not None, r  # stdout: only the command's output


@pytest.mark.parametrize("env", [{"LAMBDA_SECRETS_LOG": "error"}, {"LAMBDA_SECRETS_LOG": "warn"},
                                 {"LAMBDA_SECRETS_LOG": "WARN"}, {"AWS_LAMBDA_LOG_LEVEL": "ERROR"},
                                 {"AWS_LAMBDA_LOG_LEVEL": "FATAL"}, {"AWS_LAMBDA_LOG_LEVEL": "warn"}],
                         ids=lambda e: "-".join(f"{k}={v}" for k, v in e.items()))
def test_quieter_levels_print_nothing_on_success(h, pair, env):
    r = h.run_cmd(h.env(refs(pair), **env))
    assert r.rc == 0, r
    assert r.stderr == "", r


@pytest.mark.parametrize("env", [{"LAMBDA_SECRETS_LOG": "debug"}, {"LAMBDA_SECRETS_LOG": "DEBUG"},
                                 {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, {"AWS_LAMBDA_LOG_LEVEL": "TRACE"},
                                 {"AWS_LAMBDA_LOG_LEVEL": "ERROR", "LAMBDA_SECRETS_LOG": "debug"}],
                         ids=lambda e: "-".join(f"{k}={v}" for k, v in e.items()))
def test_debug_level(h, pair, env):
    r = h.run_cmd(h.env(refs(pair), **env))
    assert r.rc == 0, r
    assert len(r.lines) > 1, r
    assert all(TEXT_LINE.match(line) for line in r.lines), r
    assert any(line.startswith("lambda-secrets: debug: ") for line in r.lines), r
    assert lines_with(r, "lambda-secrets: info: injected 3 variables from 2 secrets"), r


def test_lambda_secrets_log_wins_over_aws_lambda_log_level(h, pair):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_LOG_LEVEL="ERROR", LAMBDA_SECRETS_LOG="info"))
    assert r.rc == 0, r
    assert len(r.lines) == 1, r


def test_errors_are_printed_at_the_error_level(h, pair):
    missing = h.name("log-missing")
    r = h.run_cmd(h.env({**refs(pair), "LOG_GONE": missing}, LAMBDA_SECRETS_LOG="error"))
    assert r.rc == 78, r
    assert r.lines, r
    assert all(line.startswith("lambda-secrets: error: ") for line in r.lines), r
    assert lines_with(r, "LOG_GONE", missing, "ResourceNotFoundException"), r


def parse_json_lines(r):
    out = []
    for line in r.stderr.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        ts = obj["timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", ts), ts
        datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        assert obj["level"] in {"ERROR", "WARN", "INFO", "DEBUG"}, obj
        assert isinstance(obj["message"], str) and obj["message"], obj
        out.append(obj)
    return out


def test_json_format_success(h, pair):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_LOG_FORMAT="JSON"))
    assert r.rc == 0, r
    (obj,) = parse_json_lines(r)
    assert obj["level"] == "INFO"
    assert "injected 3 variables from 2 secrets" in obj["message"], obj


def test_json_format_at_debug(h, pair):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="TRACE"))
    assert r.rc == 0, r
    objs = parse_json_lines(r)
    assert len(objs) > 1 and any(o["level"] == "DEBUG" for o in objs), r


def test_json_format_errors(h, pair):
    missing = h.name("log-json-missing")
    r = h.run_cmd(h.env({**refs(pair), "LOG_GONE": missing, "LOG_NOKEY": f"{pair[1].name}:nokey"},
                        AWS_LAMBDA_LOG_FORMAT="JSON"))
    assert r.rc == 78, r
    objs = parse_json_lines(r)
    errors = [o for o in objs if o["level"] == "ERROR"]
    assert any("LOG_GONE" in json.dumps(o) and missing in json.dumps(o) for o in errors), r
    assert any("LOG_NOKEY" in json.dumps(o) for o in errors), r


def test_json_format_for_a_configuration_error(h):
    r = h.run_cmd(h.env('{"A": ', AWS_LAMBDA_LOG_FORMAT="JSON"))
    assert r.rc == 78, r
    objs = parse_json_lines(r)
    assert objs and all(o["level"] == "ERROR" for o in objs), r


def test_text_format_is_the_default_and_explicit(h, pair):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_LOG_FORMAT="Text"))
    assert r.rc == 0, r
    (line,) = r.lines
    assert TEXT_LINE.match(line), r


@pytest.mark.parametrize("fmt", ["Text", "JSON"])
def test_snapstart_warns_about_captured_values(h, pair, fmt):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_INITIALIZATION_TYPE="snap-start", AWS_LAMBDA_LOG_FORMAT=fmt))
    assert r.rc == 0, r
    if fmt == "JSON":
        warnings = [o["message"] for o in parse_json_lines(r) if o["level"] == "WARN"]
    else:
        warnings = [line for line in r.lines if line.startswith("lambda-secrets: warn: ")]
    assert any(re.search("snap", w, re.IGNORECASE) for w in warnings), r


def test_no_snapstart_warning_on_demand(h, pair):
    r = h.run_cmd(h.env(refs(pair), AWS_LAMBDA_INITIALIZATION_TYPE="on-demand"))
    assert r.rc == 0, r
    assert len(r.lines) == 1, r
