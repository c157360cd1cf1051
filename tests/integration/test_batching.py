"""Fetching (README, "Fetching"): when BatchGetSecretValue is used, de-duplication, and the fallback.

Requests are counted by the launcher (GET /__counts), so each test asserts the exact calls made.
"""

import pytest

from support.runner import expect_env, lines_with


def seed_many(h, hint, n):
    return [h.seed(f"{hint}{i}") for i in range(n)]


def test_two_current_secrets_use_one_batch_call(h):
    a, b = seed_many(h, "batch2-", 2)
    r = h.run_cmd(h.env({"A": a.name, "B": b.arn}, names=["A", "B"]))
    assert r.rc == 0, r
    expect_env(r, {"A": a.value, "B": b.value})
    assert r.count("BatchGetSecretValue") == 1, r
    assert r.count("GetSecretValue") == 0, r
    assert r.counts["batch_sizes"] == [2], r


def test_twenty_five_secrets_use_two_batch_calls(h):
    secrets = seed_many(h, "batch25-", 25)
    refs = {f"S{i:02d}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {f"S{i:02d}": s.value for i, s in enumerate(secrets)})
    assert r.count("BatchGetSecretValue") == 2, r
    assert r.count("GetSecretValue") == 0, r
    assert sorted(r.counts["batch_sizes"]) == [5, 20], r
    assert lines_with(r, "injected 25 variables from 25 secrets"), r


# One secret: which calls read it, by LAMBDA_SECRETS_BATCH and by whether the caller may batch.
ONE_SECRET = {
    "auto-uses-get": ("auto", False, {"GetSecretValue": 1, "BatchGetSecretValue": 0}),
    "always-batches-even-one": ("always", False, {"GetSecretValue": 0, "BatchGetSecretValue": 1}),
    "ALWAYS-any-case": ("ALWAYS", False, {"GetSecretValue": 0, "BatchGetSecretValue": 1}),
    "always-refused-falls-back": ("always", True, {"GetSecretValue": 1, "BatchGetSecretValue": 1}),
}


@pytest.mark.parametrize("mode,nobatch,calls", ONE_SECRET.values(), ids=ONE_SECRET.keys())
def test_one_secret(h, mode, nobatch, calls):
    s = h.seed("one")
    r = h.run_cmd(h.env({"ONE": s.name}, names=["ONE"], creds=h.nobatch if nobatch else None,
                        LAMBDA_SECRETS_BATCH=mode))
    assert r.rc == 0, r
    expect_env(r, {"ONE": s.value})
    assert {op: r.count(op) for op in calls} == calls, r
    if calls["BatchGetSecretValue"] and not nobatch:
        assert r.counts["batch_sizes"] == [1], r


def test_batch_never(h):
    secrets = seed_many(h, "never-", 3)
    refs = {f"N{i}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs, names=list(refs), LAMBDA_SECRETS_BATCH="never"))
    assert r.rc == 0, r
    expect_env(r, {f"N{i}": s.value for i, s in enumerate(secrets)})
    assert r.count("GetSecretValue") == 3, r
    assert r.count("BatchGetSecretValue") == 0, r


def test_version_pinned_reference_always_uses_get_secret_value(h):
    a, b, c = seed_many(h, "pinned-", 3)
    old = h.sentinel()
    c_prev_text = c.value
    h.put_value(c, old)
    refs = {"A": a.name, "B": b.name, "C_PREV": f"{c.name}::AWSPREVIOUS", "C_ID": f"{c.name}:::{c.version_id}"}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"A": a.value, "B": b.value, "C_PREV": c_prev_text, "C_ID": c_prev_text})
    assert r.count("BatchGetSecretValue") == 1, r
    assert r.counts["batch_sizes"] == [2], r
    assert r.count("GetSecretValue") == 2, r  # (c, AWSPREVIOUS) and (c, version id) are two versions


def test_version_pinned_reference_with_batch_always(h):
    s = h.seed("pinned-always")
    r = h.run_cmd(h.env({"P": f"{s.name}:::{s.version_id}"}, names=["P"], LAMBDA_SECRETS_BATCH="always"))
    assert r.rc == 0, r
    expect_env(r, {"P": s.value})
    assert r.count("GetSecretValue") == 1, r
    assert r.count("BatchGetSecretValue") == 0, r


def test_same_secret_used_by_several_variables_is_fetched_once(h):
    u, p = h.sentinel(), h.sentinel()
    s = h.seed("shared", '{"user": "%s", "password": "%s"}' % (u, p))
    refs = {"DB_USER": f"{s.name}:user", "DB_PASSWORD": f"{s.name}:password", "DB_ALL": s.name,
            "DB_OBJ": {"secret_id": s.name, "json_key": "user"}}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"DB_USER": u, "DB_PASSWORD": p, "DB_ALL": s.value, "DB_OBJ": u})
    assert r.count("GetSecretValue") == 1, r  # one distinct secret: a single GetSecretValue
    assert r.count("BatchGetSecretValue") == 0, r
    assert lines_with(r, "injected 4 variables from 1 secret"), r


def test_shared_secret_plus_another_is_one_batch_of_two(h):
    u = h.sentinel()
    s = h.seed("shared2", '{"user": "%s"}' % u)
    t = h.seed("shared2-other")
    refs = {"U1": f"{s.name}:user", "U2": f"{s.name}:user:", "T": t.name}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"U1": u, "U2": u, "T": t.value})
    assert r.count("BatchGetSecretValue") == 1, r
    assert r.counts["batch_sizes"] == [2], r
    assert r.count("GetSecretValue") == 0, r


def test_concurrency_one_still_fetches_everything(h):
    secrets = seed_many(h, "conc1-", 4)
    refs = {f"C{i}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs, names=list(refs), LAMBDA_SECRETS_BATCH="never", LAMBDA_SECRETS_CONCURRENCY="1"))
    assert r.rc == 0, r
    expect_env(r, {f"C{i}": s.value for i, s in enumerate(secrets)})
    assert r.count("GetSecretValue") == 4, r


@pytest.mark.parametrize("n,batches", [(3, (1,)), (25, (1, 2))], ids=["three", "twenty-five"])
def test_fallback_without_batch_permission(h, n, batches):
    # it-nobatch may GetSecretValue on every secret but lacks secretsmanager:BatchGetSecretValue:
    # the refused batch call is not retried; each secret is read with GetSecretValue instead.
    # With 25 (two chunks), whether the second chunk is still tried after the first refusal is not
    # fixed by the README (either way every secret is then read once with GetSecretValue).
    secrets = seed_many(h, f"fallback{n}-", n)
    refs = {f"F{i:02d}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs, names=list(refs), creds=h.nobatch))
    assert r.rc == 0, r
    expect_env(r, {f"F{i:02d}": s.value for i, s in enumerate(secrets)})
    assert r.count("BatchGetSecretValue") in batches, r
    assert r.count("GetSecretValue") == n, r


def test_request_count_in_success_line(h):
    # The one success line reports the requests made to Secrets Manager (refused batch included).
    secrets = seed_many(h, "reqcount-", 2)
    refs = {f"R{i}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs, names=list(refs), creds=h.nobatch))
    assert r.rc == 0, r
    total = r.count("BatchGetSecretValue") + r.count("GetSecretValue")
    assert total == 3, r
    (line,) = r.lines
    assert "injected 2 variables from 2 secrets" in line, r
    assert f"{total} request" in line, r


def test_references_are_grouped_by_region(h):
    east = [h.seed("region-east") for _ in range(2)]
    west = [h.seed("region-west", region="us-west-2") for _ in range(2)]
    assert all(":us-west-2:" in s.arn for s in west)
    refs = {"E0": east[0].name, "E1": east[1].arn, "W0": west[0].arn, "W1": west[1].partial_arn}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"E0": east[0].value, "E1": east[1].value, "W0": west[0].value, "W1": west[1].value})
    assert r.count("BatchGetSecretValue") == 2, r  # one per region
    assert r.counts["batch_sizes"] == [2, 2], r
    assert r.count("GetSecretValue") == 0, r


def test_one_secret_per_region_uses_get_secret_value(h):
    east, west = h.seed("region1-east"), h.seed("region1-west", region="us-west-2")
    refs = {"E": east.name, "W": west.arn}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"E": east.value, "W": west.value})
    assert r.count("GetSecretValue") == 2, r
    assert r.count("BatchGetSecretValue") == 0, r
