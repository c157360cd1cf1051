"""Behaviour where the contract leaves room and the README documents a choice (README, "Choices where the
contract leaves room")."""

import json

from support.runner import expect_env


def wrapper_script(h, name):
    """An exec wrapper in the style of an OpenTelemetry one: marks the environment, then execs."""
    path = h.tmp / name
    path.write_text('#!/bin/sh\nexport NEXT_WRAPPER_RAN=yes\nexec "$@"\n')
    path.chmod(0o755)
    return str(path)


def test_next_wrapper_runs_between_us_and_the_command(h):
    s = h.seed("nextwrap")
    w = wrapper_script(h, "otel-like")
    r = h.run_cmd(h.env({"P": s.name}, names=["P", "NEXT_WRAPPER_RAN"], LAMBDA_SECRETS_NEXT_WRAPPER=w), "--flag")
    assert r.rc == 0, r
    assert r.child["argv"][1:] == ["--flag"], r
    assert r.child["pid"] == r.pid  # the wrapper execs too: still one process
    expect_env(r, {"P": s.value, "NEXT_WRAPPER_RAN": "yes"})


def test_next_wrapper_is_honoured_with_nothing_to_fetch(h):
    w = wrapper_script(h, "otel-like-2")
    env = {"ENVREPORT_NAMES": "NEXT_WRAPPER_RAN", "LAMBDA_SECRETS_NEXT_WRAPPER": w, "LAMBDA_SECRETS": "{}",
           "LAMBDA_SECRETS_CONCURRENCY": "0"}  # options other than the wrapper are still not read
    r = h.run(["envreport"], env)
    assert r.rc == 0, r
    expect_env(r, {"NEXT_WRAPPER_RAN": "yes"})


def test_explicit_awscurrent_stage_is_pinned_and_never_batched(h):
    a, b = h.seed("pin-a"), h.seed("pin-b")
    refs = {"A": f"{a.name}::AWSCURRENT", "B": f"{b.name}::AWSCURRENT"}
    r = h.run_cmd(h.env(refs, names=["A", "B"]))
    assert r.rc == 0, r
    assert r.count("BatchGetSecretValue") == 0 and r.count("GetSecretValue") == 2, r
    expect_env(r, {"A": a.value, "B": b.value})


def test_large_max_attempts_is_accepted_like_the_sdks(h):
    s = h.seed("attempts")
    r = h.run_cmd(h.env({"P": s.name}, names=["P"], AWS_MAX_ATTEMPTS="50"))
    assert r.rc == 0, r
    expect_env(r, {"P": s.value})


def test_empty_field_in_an_object_reference_is_refused(h):
    r = h.run_cmd(h.env(json.dumps({"P": {"secret_id": "x", "json_key": ""}})))
    assert r.rc == 78, r
    assert "P" in r.stderr and "leave it out" in r.stderr, r
