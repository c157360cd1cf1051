"""The requests on the wire, seen by the fault server: their shape (target, content type, signature
scope, session token, bodies), replies matched by secret whatever their order, error codes in each
shape AWS sends them, how many requests are in flight at once, and connection reuse. Counts and
shapes, never durations."""

import pytest

from support.faultsm import BATCH, GET, arn_of
from support.runner import expect_env, lines_with

from .common import fault_env, refs_for


def test_request_shape(h, fsm, values):
    vals = values(3)
    a, b, c = vals
    f = fsm(vals)
    refs = {"A": a, "B": arn_of(b), "C": f"{c}::AWSPREVIOUS"}
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    # The fault server keeps one version: AWSPREVIOUS is answered with the current value.
    assert r.rc == 0, r
    expect_env(r, {"A": vals[a], "B": vals[b], "C": vals[c]})
    assert sorted(call.op for call in f.calls) == [BATCH, GET]
    for call in f.calls:
        headers = call.headers
        assert headers.get("x-amz-target") == f"secretsmanager.{call.op}"
        assert headers.get("content-type") == "application/x-amz-json-1.1"
        auth = headers.get("authorization", "")
        assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={h.creds.key}/"), auth
        assert "/us-east-1/secretsmanager/aws4_request" in auth, auth
        assert headers.get("x-amz-security-token") == h.creds.token
        if call.op == BATCH:
            assert sorted(call.body["SecretIdList"]) == sorted([a, arn_of(b)]), call.body
            assert "Filters" not in call.body and "MaxResults" not in call.body, call.body
        else:
            assert call.body == {"SecretId": c, "VersionStage": "AWSPREVIOUS"}, call.body


def test_batch_reply_in_another_order_is_matched_by_secret(h, fsm, values):
    vals = values(4)
    f = fsm(vals)
    f.fault("reorder", op=BATCH)
    refs = {f"O{i}": (arn_of(name) if i % 2 else name) for i, name in enumerate(vals)}
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {f"O{i}": v for i, v in enumerate(vals.values())})
    assert f.outcomes() == ["reorder"]


@pytest.mark.parametrize("how,code", [
    ("header", "AccessDeniedException"),
    ("code", "AccessDeniedException"),
    ("__type", "com.amazonaws.secretsmanager#AccessDeniedException"),
    ("__type", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
], ids=["x-amzn-errortype", "code-field", "namespace", "url-suffix"])
def test_error_code_shapes(h, fsm, values, how, code):
    vals = values(1)
    f = fsm(vals)
    f.fault("error", op=GET, code=code, how=how)
    r = h.run_cmd(fault_env(h, f, refs_for(vals, "SHAPE")))
    assert r.rc == 77, r
    assert f.count(GET) == 1
    (line,) = lines_with(r, "SHAPE0")
    assert "AccessDeniedException" in line and "#" not in line and "coral" not in line, r


@pytest.mark.parametrize("concurrency,expected_max", [(2, 2), (8, 6)])
def test_concurrency_bounds_requests_in_flight(h, fsm, values, concurrency, expected_max):
    # Each reply waits until `expected_max` requests are held together (a barrier, not a clock), then
    # a moment more, in which a client going past its bound would send one request too many.
    vals = values(6)
    f = fsm(vals)
    f.fault("gate", op=GET, count=expected_max)
    r = h.run_cmd(fault_env(h, f, refs_for(vals, "PAR"), names=[f"PAR{i}" for i in range(6)],
                            LAMBDA_SECRETS_BATCH="never", LAMBDA_SECRETS_CONCURRENCY=str(concurrency)))
    assert r.rc == 0, r
    expect_env(r, {f"PAR{i}": v for i, v in enumerate(vals.values())})
    assert f.count(GET) == 6
    assert f.snapshot()["max_in_flight"] == expected_max


def test_connections_are_reused(h, fsm, values):
    vals = values(8)
    f = fsm(vals)
    r = h.run_cmd(fault_env(h, f, refs_for(vals, "POOL"), names=[f"POOL{i}" for i in range(8)],
                            LAMBDA_SECRETS_BATCH="never", LAMBDA_SECRETS_CONCURRENCY="2"))
    assert r.rc == 0, r
    assert f.count(GET) == 8
    assert 1 <= f.connections <= 2, f.connections
