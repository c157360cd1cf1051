"""Retries, error classification and the wire format, against a scripted endpoint (support/fakesm.py)
for replies moto cannot produce. The fake does not check signatures; moto-based tests do."""

import threading
import time

import pytest

from support.fakesm import FakeSecretsManager, arn_of, error
from support.runner import assert_no_command, expect_env, lines_with


@pytest.fixture
def fake(h, pki):
    servers = []

    def make(secrets, respond=None, tls=True):
        server = FakeSecretsManager(secrets, respond, pki if tls else None)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def fake_env(h, fake_server, secrets, names=(), **extra):
    extra.setdefault("LAMBDA_SECRETS_TIMEOUT_MS", "8000")
    return h.env(secrets, names=names, AWS_ENDPOINT_URL_SECRETS_MANAGER=fake_server.url, **extra)


def fail_first(times, reply, op="GetSecretValue"):
    return lambda o, body, n: reply if o == op and n <= times else None


def test_request_shape(h, fake):
    a, b, c = h.sentinel(), h.sentinel(), h.sentinel()
    f = fake({"fake/a": a, "fake/b": b, "fake/c": c})
    refs = {"A": "fake/a", "B": arn_of("fake/b"), "C": "fake/c::AWSPREVIOUS"}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"A": a, "B": b, "C": c})
    ops = sorted(op for op, _, _ in f.requests)
    assert ops == ["BatchGetSecretValue", "GetSecretValue"], ops
    for op, body, headers in f.requests:
        assert headers.get("x-amz-target") == f"secretsmanager.{op}"
        assert headers.get("content-type") == "application/x-amz-json-1.1"
        auth = headers.get("authorization", "")
        assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={h.creds.key}/"), auth
        assert "/us-east-1/secretsmanager/aws4_request" in auth, auth
        assert headers.get("x-amz-security-token") == h.creds.token
        if op == "BatchGetSecretValue":
            assert sorted(body["SecretIdList"]) == sorted(["fake/a", arn_of("fake/b")]), body
            assert "Filters" not in body and "MaxResults" not in body, body
        else:
            assert body == {"SecretId": "fake/c", "VersionStage": "AWSPREVIOUS"}, body


def test_batch_reply_in_another_order_is_matched_by_secret(h, fake):
    vals = {f"fake/o{i}": h.sentinel() for i in range(4)}

    def reversed_batch(op, body, n):
        if op == "BatchGetSecretValue":
            status, headers, payload = f.default(op, body)
            payload["SecretValues"].reverse()
            return status, headers, payload
        return None

    f = fake(vals, reversed_batch)
    refs = {f"O{i}": (arn_of(name) if i % 2 else name) for i, name in enumerate(vals)}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {f"O{i}": v for i, v in enumerate(vals.values())})


@pytest.mark.parametrize("status", [400, 500], ids=["http-400", "http-500"])
def test_internal_service_error_is_retried_whatever_its_status(h, fake, status):
    v = h.sentinel()
    f = fake({"fake/ise": v}, fail_first(1, error("InternalServiceError", status)))
    r = h.run_cmd(fake_env(h, f, {"V": "fake/ise"}, names=["V"]))
    assert r.rc == 0, r
    expect_env(r, {"V": v})
    assert f.count("GetSecretValue") == 2


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalFailure", "ServiceUnavailable"])
def test_transient_codes_are_retried(h, fake, code):
    v = h.sentinel()
    f = fake({"fake/t": v}, fail_first(2, error(code, 400 if code == "ThrottlingException" else 503)))
    r = h.run_cmd(fake_env(h, f, {"V": "fake/t"}, names=["V"]))
    assert r.rc == 0, r
    expect_env(r, {"V": v})
    assert f.count("GetSecretValue") == 3
    assert lines_with(r, "injected 1 variable", "3 request"), r


def test_http_5xx_without_a_code_is_retried(h, fake):
    v = h.sentinel()
    f = fake({"fake/5xx": v}, fail_first(1, (502, {}, b"<html>bad gateway</html>")))
    r = h.run_cmd(fake_env(h, f, {"V": "fake/5xx"}, names=["V"]))
    assert r.rc == 0, r
    expect_env(r, {"V": v})
    assert f.count("GetSecretValue") == 2


def test_still_failing_after_the_last_attempt_is_69(h, fake):
    f = fake({"fake/down": h.sentinel()}, fail_first(99, error("ServiceUnavailable", 503)))
    r = h.run_cmd(fake_env(h, f, {"DOWN": "fake/down"}))
    assert r.rc == 69, r
    assert_no_command(r)
    assert f.count("GetSecretValue") == 3  # AWS_MAX_ATTEMPTS defaults to 3
    assert lines_with(r, "DOWN", "fake/down", "ServiceUnavailable"), r


@pytest.mark.parametrize("attempts", [1, 2])
def test_aws_max_attempts(h, fake, attempts):
    f = fake({"fake/max": h.sentinel()}, fail_first(99, error("InternalFailure", 500)))
    r = h.run_cmd(fake_env(h, f, {"V": "fake/max"}, AWS_MAX_ATTEMPTS=str(attempts)))
    assert r.rc == 69, r
    assert f.count("GetSecretValue") == attempts


def test_retries_stop_at_the_deadline(h, fake):
    f = fake({"fake/slow": h.sentinel()}, fail_first(999, error("ThrottlingException")))
    r = h.run_cmd(fake_env(h, f, {"V": "fake/slow"}, AWS_MAX_ATTEMPTS="20", LAMBDA_SECRETS_TIMEOUT_MS="1500"))
    assert r.rc == 69, r
    assert r.elapsed < 1.5 + 2, r


CODES = {
    "AccessDeniedException": 77, "DecryptionFailure": 77, "ExpiredTokenException": 77,
    "InvalidSignatureException": 77, "UnrecognizedClientException": 77,
    "ResourceNotFoundException": 78, "InvalidRequestException": 78, "InvalidParameterException": 78,
    "SomethingNewException": 69,
}


@pytest.mark.parametrize("code,rc", CODES.items(), ids=CODES.keys())
def test_error_codes_fail_at_once_with_their_exit_code(h, fake, code, rc):
    f = fake({"fake/e": h.sentinel()}, fail_first(99, error(code, request_id="fake-req-7f3a")))
    r = h.run_cmd(fake_env(h, f, {"ERR_VAR": "fake/e"}))
    assert r.rc == rc, r
    assert_no_command(r)
    assert f.count("GetSecretValue") == 1  # not retried
    (line,) = lines_with(r, "ERR_VAR")
    assert "fake/e" in line and code in line and "request id fake-req-7f3a" in line, r


@pytest.mark.parametrize("how,code", [
    ("header", "AccessDeniedException"),
    ("code", "AccessDeniedException"),
    ("__type", "com.amazonaws.secretsmanager#AccessDeniedException"),
    ("__type", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
], ids=["x-amzn-errortype", "code-field", "namespace", "url-suffix"])
def test_error_code_shapes(h, fake, how, code):
    f = fake({"fake/shape": h.sentinel()}, fail_first(99, error(code, how=how)))
    r = h.run_cmd(fake_env(h, f, {"SHAPE": "fake/shape"}))
    assert r.rc == 77, r
    (line,) = lines_with(r, "SHAPE")
    assert "AccessDeniedException" in line and "#" not in line and "coral" not in line, r


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException"])
def test_refused_batch_falls_back_at_once_to_get(h, fake, code):
    vals = {f"fake/fb{i}": h.sentinel() for i in range(3)}
    f = fake(vals, fail_first(99, error(code), op="BatchGetSecretValue"))
    refs = {f"FB{i}": name for i, name in enumerate(vals)}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {f"FB{i}": v for i, v in enumerate(vals.values())})
    assert f.count("BatchGetSecretValue") == 1  # not retried
    assert f.count("GetSecretValue") == 3


def batch_with_error(code):
    """BatchGetSecretValue reports fake/x1 in Errors[]; GetSecretValue answers normally."""
    def respond(op, body, n):
        if op != "BatchGetSecretValue":
            return None
        status, headers, payload = f_holder[0].default(op, body)
        payload["SecretValues"] = [e for e in payload["SecretValues"] if e["Name"] != "fake/x1"]
        payload["Errors"].append({"SecretId": "fake/x1", "ErrorCode": code, "Message": "scripted"})
        return status, headers, payload
    f_holder = []
    return respond, f_holder


def test_batch_access_denied_entry_is_retried_with_get_and_can_succeed(h, fake):
    # Cross-account reads: BatchGetSecretValue may refuse what GetSecretValue allows.
    vals = {"fake/x0": h.sentinel(), "fake/x1": h.sentinel()}
    respond, holder = batch_with_error("AccessDeniedException")
    f = fake(vals, respond)
    holder.append(f)
    r = h.run_cmd(fake_env(h, f, {"X0": "fake/x0", "X1": "fake/x1"}, names=["X0", "X1"]))
    assert r.rc == 0, r
    expect_env(r, {"X0": vals["fake/x0"], "X1": vals["fake/x1"]})
    assert f.count("BatchGetSecretValue") == 1
    assert [b["SecretId"] for op, b, _ in f.requests if op == "GetSecretValue"] == ["fake/x1"]


@pytest.mark.parametrize("code,rc", [("ResourceNotFoundException", 78), ("DecryptionFailure", 77),
                                     ("InvalidRequestException", 78)])
def test_other_batch_entry_errors_are_failures_without_retry(h, fake, code, rc):
    vals = {"fake/x0": h.sentinel(), "fake/x1": h.sentinel()}
    respond, holder = batch_with_error(code)
    f = fake(vals, respond)
    holder.append(f)
    r = h.run_cmd(fake_env(h, f, {"X0": "fake/x0", "X1_VAR": "fake/x1"}))
    assert r.rc == rc, r
    assert_no_command(r)
    assert f.count("GetSecretValue") == 0
    assert lines_with(r, "X1_VAR", "fake/x1", code), r


def test_plain_http_endpoint_is_accepted_when_configured(h, fake):
    v = h.sentinel()
    f = fake({"fake/http": v}, tls=False)
    assert f.url.startswith("http://")
    r = h.run_cmd(fake_env(h, f, {"V": "fake/http"}, names=["V"]))
    assert r.rc == 0, r
    expect_env(r, {"V": v})


def slow_get(delay, stats):
    """GetSecretValue answers after `delay` s; records the most requests in flight at once."""
    lock = threading.Lock()

    def respond(op, body, n):
        if op != "GetSecretValue":
            return None
        with lock:
            stats["now"] = stats.get("now", 0) + 1
            stats["max"] = max(stats.get("max", 0), stats["now"])
        time.sleep(delay)
        with lock:
            stats["now"] -= 1
        return None  # then the default answer
    return respond


@pytest.mark.parametrize("concurrency,expected_max", [(2, 2), (8, 6)])
def test_concurrency_bounds_requests_in_flight(h, fake, concurrency, expected_max):
    vals = {f"fake/par{i}": h.sentinel() for i in range(6)}
    stats = {}
    f = fake(vals, slow_get(0.4, stats))
    refs = {f"PAR{i}": name for i, name in enumerate(vals)}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs), LAMBDA_SECRETS_BATCH="never",
                           LAMBDA_SECRETS_CONCURRENCY=str(concurrency)))
    assert r.rc == 0, r
    expect_env(r, {f"PAR{i}": v for i, v in enumerate(vals.values())})
    assert stats["max"] == expected_max, stats


def test_connections_are_reused(h, fake):
    vals = {f"fake/pool{i}": h.sentinel() for i in range(8)}
    f = fake(vals)
    refs = {f"POOL{i}": name for i, name in enumerate(vals)}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs), LAMBDA_SECRETS_BATCH="never",
                           LAMBDA_SECRETS_CONCURRENCY="2"))
    assert r.rc == 0, r
    assert f.count("GetSecretValue") == 8
    assert len(f.connections) <= 2, f.connections


@pytest.mark.parametrize("reply", [error("ServiceUnavailable", 503), error("DecryptionFailure")],
                         ids=["still-failing", "decryption-failure"])
def test_optional_secret_that_keeps_failing_is_left_out(h, fake, reply):
    good, bad = h.sentinel(), h.sentinel()
    f = fake({"fake/good": good, "fake/bad": bad},
             lambda op, body, n: reply if body.get("SecretId") == "fake/bad" else None)
    refs = {"GOOD": "fake/good", "BAD": {"secret_id": "fake/bad", "optional": True}}
    r = h.run_cmd(fake_env(h, f, refs, names=list(refs), LAMBDA_SECRETS_BATCH="never"))
    assert r.rc == 0, r
    expect_env(r, {"GOOD": good, "BAD": None})
    assert lines_with(r, "warn", "BAD", "fake/bad"), r


@pytest.mark.parametrize("other_code,rc", [("AccessDeniedException", 77), ("ResourceNotFoundException", 78),
                                           (None, 65)], ids=["77", "78", "65"])
def test_unavailable_comes_last(h, fake, other_code, rc):
    # One secret still failing after the last attempt (69), another failing with other_code, or,
    # for None, a missing JSON key (65): the exit code is the first of 77, 78, 65, 69 that applies.
    def respond(op, body, n):
        if body.get("SecretId") == "fake/down":
            return error("ServiceUnavailable", 503)
        if other_code and body.get("SecretId") == "fake/other":
            return error(other_code)
        return None

    f = fake({"fake/down": h.sentinel(), "fake/other": '{"k": "%s"}' % h.sentinel()}, respond)
    refs = {"VAR_DOWN": "fake/down", "VAR_OTHER": "fake/other:missing"}
    r = h.run_cmd(fake_env(h, f, refs, LAMBDA_SECRETS_BATCH="never", AWS_MAX_ATTEMPTS="1"))
    assert r.rc == rc, r
    assert_no_command(r)
    assert lines_with(r, "VAR_DOWN", "fake/down"), r
    assert lines_with(r, "VAR_OTHER", "fake/other"), r
