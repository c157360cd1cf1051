"""The deadline: a server that stalls (before the headers, in the middle of the body, in the TLS
handshake) or answers too slowly never holds the process past LAMBDA_SECRETS_TIMEOUT_MS plus a
margin, and then nothing is started. These are the only tests here that look at a clock, and only as
an upper bound far below the length of the stall (runner.assert_within_deadline).

Each attempt gets a share of the time left (src/retry.rs), so one stalled request does not use up
the deadline: a stall that hits one request only is survived by the next attempt.
"""

import pytest

from support.faultsm import BATCH, GET
from support.runner import assert_no_command, assert_within_deadline, expect_env, lines_with

from .common import fault_env, refs_for

DEADLINE_MS = 1500

STALLS = {
    "stall-before-headers": {"fault": "stall_headers"},
    "stall-in-body": {"fault": "stall_body"},
    "stall-in-body-nearly-done": {"fault": "stall_body", "fraction": 0.95},
    "slow-answer": {"fault": "slow", "seconds": 30},
}


def stall(f, name, **sel):
    if name == "stall-in-tls-handshake":
        f.stall_handshakes(1000)
    else:
        f.fault(**STALLS[name], **sel)


def within_deadline(r):
    assert_within_deadline(r, DEADLINE_MS)


@pytest.mark.parametrize("name", [*STALLS, "stall-in-tls-handshake"])
def test_stalled_server_is_69_at_the_deadline(h, fsm, values, name):
    vals = values(1)
    f = fsm(vals)
    stall(f, name, op=GET)
    r = h.run_cmd(fault_env(h, f, refs_for(vals, "STALLED"), LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS)))
    assert r.rc == 69, r
    within_deadline(r)
    assert_no_command(r)
    (line,) = [line for line in r.lines if ": error: " in line]
    assert "STALLED0 from secret fault/s0: RequestFailed" in line and "timed out" in line, line
    assert "attempt" in line, line
    assert f.count(GET) <= 3


@pytest.mark.parametrize("name", [*STALLS, "stall-in-tls-handshake"])
def test_stalled_batch_is_69_at_the_deadline(h, fsm, values, name):
    vals = values(5)
    f = fsm(vals)
    stall(f, name)
    r = h.run_cmd(fault_env(h, f, refs_for(vals), LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS)))
    assert r.rc == 69, r
    within_deadline(r)
    assert_no_command(r)
    errors = [line for line in r.lines if ": error: " in line]
    assert len(errors) == 5, r
    # The batch's attempt timed out after its share of the time, the fallback calls stalled too:
    # each secret's line says its request timed out.
    for i, line in enumerate(errors):
        assert f"V{i} from secret fault/s{i}: " in line and "RequestFailed" in line, line
        assert "timed out" in line, line


def test_many_stalled_requests_in_parallel_end_at_the_deadline(h, fsm, values):
    # More secrets than threads: the calls still queued when the deadline passes are not made.
    vals = values(12)
    f = fsm(vals)
    f.fault("stall_headers", op=GET)
    r = h.run_cmd(fault_env(h, f, refs_for(vals), LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS),
                            LAMBDA_SECRETS_BATCH="never", LAMBDA_SECRETS_CONCURRENCY="8"))
    assert r.rc == 69, r
    within_deadline(r)
    assert_no_command(r)
    assert len([line for line in r.lines if ": error: " in line]) == 12, r


@pytest.mark.parametrize("name", [*STALLS, "stall-in-tls-handshake"])
def test_one_stalled_request_is_survived(h, fsm, values, name):
    # The service can answer before the deadline, only not on the first connection: the runtime
    # starts with its secret.
    vals = values(1)
    f = fsm(vals)
    if name == "stall-in-tls-handshake":
        f.stall_handshakes(1)
    else:
        f.fault(**STALLS[name], op=GET, times=1)
    r = h.run_cmd(fault_env(h, f, refs_for(vals), names=["V0"], LAMBDA_SECRETS_TIMEOUT_MS="4000"))
    assert r.rc == 0, r
    expect_env(r, {"V0": list(vals.values())[0]})
    assert f.outcomes(GET)[-1] == "ok"
    assert f.count(GET) == (1 if name == "stall-in-tls-handshake" else 2)


def test_one_stalled_batch_is_survived_by_falling_back(h, fsm, values):
    # Regression: a stalled batch was retried as a batch, so two thirds of the deadline could be
    # gone before the fallback started. Now its one attempt gets its share of the time left (a
    # third), and the GetSecretValue calls run in what remains (README, "Fetching").
    vals = values(5)
    f = fsm(vals)
    f.fault("stall_headers", op=BATCH)
    r = h.run_cmd(fault_env(h, f, refs_for(vals), names=[f"V{i}" for i in range(5)],
                            LAMBDA_SECRETS_TIMEOUT_MS="4000"))
    assert r.rc == 0, r
    expect_env(r, {f"V{i}": v for i, v in enumerate(vals.values())})
    assert f.outcomes(BATCH) == ["stall_headers"]
    assert f.count(GET) == 5


def test_retries_stop_at_the_deadline(h, fsm, values):
    # Throttled on every request with 20 attempts allowed: the deadline, not the attempts, ends it.
    vals = values(1)
    f = fsm(vals)
    f.fault("throttle", op=GET)
    r = h.run_cmd(fault_env(h, f, refs_for(vals, "LATE"), AWS_MAX_ATTEMPTS="20",
                            LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS)))
    assert r.rc == 69, r
    within_deadline(r)
    assert_no_command(r)
    n = f.count(GET)
    assert 1 <= n < 20, n
    (line,) = [line for line in r.lines if ": error: " in line]
    assert "LATE0 from secret fault/s0: ThrottlingException" in line, line
    assert line.endswith(f"(LAMBDA_SECRETS_TIMEOUT_MS ran out after {n} attempt{'s' if n > 1 else ''})"), line


def test_a_slow_answer_inside_the_deadline_is_waited_for(h, fsm, values):
    vals = values(1)
    f = fsm(vals)
    f.fault("slow", op=GET, seconds=0.4)
    r = h.run_cmd(fault_env(h, f, refs_for(vals), names=["V0"]))
    assert r.rc == 0, r
    expect_env(r, {"V0": list(vals.values())[0]})
    assert f.outcomes(GET) == ["slow"]
    assert lines_with(r, "injected 1 variable", "1 request,"), r
