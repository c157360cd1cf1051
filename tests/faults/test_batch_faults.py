"""BatchGetSecretValue under faults: a batch refused for throttling (by a fault or by the server's
token-bucket quota) or for access, failing for any retryable reason (a reset, a 5xx, a malformed
reply, a stalled attempt) or with a call-level DecryptionFailure falls back at once to
GetSecretValue per secret, without retrying the batch (README, "Fetching"); per-secret Errors[]
entries are fetched again when they can succeed.
Counts and outcomes, never durations."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from support.faultsm import BATCH, GET
from support.runner import assert_no_command, expect_env, lines_with

from .common import fault_env, refs_for


def five(fsm, values, **kw):
    vals = values(5)
    return fsm(vals, **kw), vals


def run(h, f, vals, **extra):
    names = [f"V{i}" for i in range(len(vals))]
    return h.run_cmd(fault_env(h, f, refs_for(vals), names=names, **extra))


def expect_all(r, vals):
    expect_env(r, {f"V{i}": v for i, v in enumerate(vals.values())})


def gets(f):
    return sorted(c.body["SecretId"] for c in f.calls if c.op == GET)


@pytest.mark.parametrize("rule", [
    {"fault": "throttle"},
    {"fault": "throttle", "retry_after_ms": 1500},
    {"fault": "error", "code": "AccessDeniedException"},
], ids=["throttled", "throttled-retry-after", "access-denied"])
def test_refused_batch_falls_back_at_once(h, fsm, values, rule):
    f, vals = five(fsm, values)
    f.fault(op=BATCH, **rule)
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.count(BATCH) == 1  # not retried, and x-amz-retry-after not waited for
    assert gets(f) == sorted(vals)
    assert lines_with(r, "injected 5 variables", "6 requests", "batch fell back to GetSecretValue"), r


def test_batch_quota_exhausted_falls_back(h, fsm, values):
    # A bucket of 1 that hardly refills: the first start batches, the second is throttled by the
    # quota and reads its secrets one by one.
    f, vals = five(fsm, values, quotas={BATCH: (0.001, 1)})
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.counts() == {BATCH: 1}
    f.reset_stats()
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.snapshot()["stats"] == {BATCH: {"quota": 1}, GET: {"ok": 5}}
    assert lines_with(r, "batch fell back"), r


def test_concurrent_starts_share_the_batch_quota(h, fsm, values):
    # Twelve starts at once against a bucket of 4 batches: 4 batch, 8 fall back, all 12 start.
    f, vals = five(fsm, values, quotas={BATCH: (0.001, 4)})
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda _: run(h, f, vals), range(12)))
    for r in results:
        assert r.rc == 0, r
        expect_all(r, vals)
    assert f.snapshot()["stats"] == {BATCH: {"ok": 4, "quota": 8}, GET: {"ok": 40}}
    assert sum(1 for r in results if lines_with(r, "batch fell back")) == 8


@pytest.mark.parametrize("fault", ["reset", "truncate", "invalid_json", "status"])
def test_transient_batch_fault_falls_back_at_once(h, fsm, values, fault):
    # Regression: a batch that failed for a retryable reason used to be retried as a batch.
    f, vals = five(fsm, values)
    f.fault(fault, op=BATCH, times=1)
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.outcomes(BATCH) == [fault]
    assert gets(f) == sorted(vals)
    assert lines_with(r, "batch fell back to GetSecretValue"), r


def test_batch_failing_with_a_5xx_falls_back_without_retrying(h, fsm, values):
    f, vals = five(fsm, values)
    f.fault("error", op=BATCH, code="InternalServiceError", status=500)
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.count(BATCH) == 1
    assert gets(f) == sorted(vals)


def test_call_level_decryption_failure_falls_back_so_each_secret_gets_its_answer(h, fsm, values):
    # Regression: a top-level DecryptionFailure failed every secret of the batch, although AWS
    # documents it for BatchGetSecretValue and the other secrets would read fine.
    f, vals = five(fsm, values)
    f.fault("error", op=BATCH, code="DecryptionFailure")
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.count(BATCH) == 1
    assert gets(f) == sorted(vals)


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceError", "AccessDeniedException"])
def test_batch_entry_errors_are_fetched_again_with_get(h, fsm, values, code):
    f, vals = five(fsm, values)
    again = list(vals)[1:3]
    f.fault("entry_error", op=BATCH, code=code, secrets=again)
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.count(BATCH) == 1
    assert gets(f) == sorted(again)


@pytest.mark.parametrize("code,rc", [("DecryptionFailure", 77), ("ResourceNotFoundException", 78),
                                     ("InvalidRequestException", 78)])
def test_final_batch_entry_error_is_that_secrets_failure(h, fsm, values, code, rc):
    f, vals = five(fsm, values)
    bad = list(vals)[4]
    f.fault("entry_error", op=BATCH, code=code, secrets=[bad])
    r = h.run_cmd(fault_env(h, f, refs_for(vals)))
    assert r.rc == rc, r
    assert_no_command(r)
    assert f.counts() == {BATCH: 1}
    (line,) = [line for line in r.lines if ": error: " in line]
    assert f"V4 from secret {bad}: {code}" in line, line


def test_throttled_batch_then_throttled_gets_are_retried(h, fsm, values):
    f, vals = five(fsm, values)
    f.fault("throttle", op=BATCH)
    for name in vals:
        f.fault("throttle", op=GET, secret=name, times=1)
    r = run(h, f, vals)
    assert r.rc == 0, r
    expect_all(r, vals)
    assert f.snapshot()["stats"] == {BATCH: {"throttle": 1}, GET: {"throttle": 5, "ok": 5}}
    assert gets(f) == sorted(list(vals) * 2)


def test_throttled_batch_then_failing_gets_start_nothing(h, fsm, values):
    f, vals = five(fsm, values)
    f.fault("throttle", op=BATCH)
    f.fault("status", op=GET, status=503)
    r = run(h, f, vals)
    assert r.rc == 69, r
    assert_no_command(r)
    assert f.counts() == {BATCH: 1, GET: 15}
    assert len([line for line in r.lines if ": error: " in line]) == 5, r
