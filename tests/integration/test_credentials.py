"""Credentials: access-key variables, the container credentials endpoint, and what happens when they fail.

Enforcement is on: moto verifies each SigV4 signature (session token included) against the key it issued.
"""

import socket

import pytest

from support.motoctl import Creds
from support.credserver import ContainerCredentialsServer
from support.runner import assert_no_command, assert_within_deadline, expect_env, lines_with

CONTAINER_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def container_env(h, secrets, url, names=(), **extra):
    env = h.env(secrets, names=names, AWS_CONTAINER_CREDENTIALS_FULL_URI=url, **extra)
    for var in CONTAINER_VARS:
        env.pop(var, None)
    return env


def sm_requests(r):
    return sum(v for k, v in r.counts.items() if k != "batch_sizes")


@pytest.fixture(scope="module")
def two(h):
    return h.seed("creds-a"), h.seed("creds-b")


def test_assumed_role_session_credentials(h, two):
    a, b = two
    assert h.creds.key.startswith("ASIA") and h.creds.token
    r = h.run_cmd(h.env({"A": a.name, "B": b.name}, names=["A", "B"]))
    assert r.rc == 0, r
    expect_env(r, {"A": a.value, "B": b.value})


def test_iam_user_access_keys_without_token(h, two):
    a, _ = two
    assert h.nobatch.key.startswith("AKIA") and h.nobatch.token is None
    r = h.run_cmd(h.env({"A": a.name}, names=["A"], creds=h.nobatch))
    assert r.rc == 0, r
    expect_env(r, {"A": a.value})


def test_no_credentials_is_77_without_any_request(h, two):
    a, _ = two
    env = h.env({"A": a.name})
    for var in CONTAINER_VARS:
        env.pop(var)
    r = h.run_cmd(env)
    assert r.rc == 77, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert lines_with(r, "error", "credentials"), r


def test_wrong_secret_key_is_a_signature_error_77(h, two):
    a, _ = two
    bad = Creds(h.nobatch.key, h.nobatch.secret[:-4] + "AAAA")
    r = h.run_cmd(h.env({"A": a.name}, creds=bad))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, "A", a.name, "InvalidSignatureException"), r
    # The same corrupted key is accepted when moto does not enforce auth: the 77 above came from
    # the signature check, nothing else.
    with h.moto.auth_off():
        ok = h.run_cmd(h.env({"A": a.name}, names=["A"], creds=bad))
    assert ok.rc == 0, ok
    expect_env(ok, {"A": a.value})


def test_unknown_access_key_is_77(h, two):
    a, _ = two
    r = h.run_cmd(h.env({"A": a.name}, creds=Creds("AKIAIOSFODNN7EXAMPLE", "x" * 40)))
    assert r.rc == 77, r
    assert lines_with(r, a.name, "UnrecognizedClientException"), r


def test_wrong_session_token_is_77(h, two):
    a, b = two
    bad = Creds(h.creds.key, h.creds.secret, h.creds.token[:-8] + "AAAAAAAA")
    r = h.run_cmd(h.env({"A": a.name, "B": b.name}, creds=bad))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, "UnrecognizedClientException"), r


def test_missing_session_token_is_77(h, two):
    a, _ = two
    r = h.run_cmd(h.env({"A": a.name}, creds=Creds(h.creds.key, h.creds.secret)))
    assert r.rc == 77, r
    assert_no_command(r)


# ---------------------------------------------------------------- container credentials


def test_container_credentials_with_token_variable(h, two, creds_server):
    a, b = two
    env = container_env(h, {"A": a.name, "B": b.name}, creds_server.url, names=["A", "B"],
                        AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"A": a.value, "B": b.value})
    assert creds_server.requests == [("/creds", creds_server.token)]


def test_container_token_file_is_trimmed(h, two, creds_server, tmp_path):
    a, _ = two
    token_file = tmp_path / "token"
    token_file.write_text(creds_server.token + "\n")
    env = container_env(h, {"A": a.name}, creds_server.url, names=["A"],
                        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"A": a.value})
    assert [auth for _, auth in creds_server.requests] == [creds_server.token]


def test_container_token_file_wins_over_the_variable(h, two, creds_server, tmp_path):
    a, _ = two
    token_file = tmp_path / "token"
    token_file.write_text(creds_server.token + "\n")
    env = container_env(h, {"A": a.name}, creds_server.url, names=["A"],
                        AWS_CONTAINER_AUTHORIZATION_TOKEN="not-the-token",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"A": a.value})
    assert [auth for _, auth in creds_server.requests] == [creds_server.token]


def test_container_wrong_token_is_77(h, two, creds_server):
    a, _ = two
    env = container_env(h, {"A": a.name}, creds_server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong-token")
    r = h.run_cmd(env)
    assert r.rc == 77, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert creds_server.requests, "the credentials endpoint was not asked"
    assert lines_with(r, "error", "credentials"), r


def test_container_endpoint_unreachable_is_69(h, two):
    a, _ = two
    url = f"http://127.0.0.1:{h.closed_port()}/creds"
    env = container_env(h, {"A": a.name}, url, AWS_CONTAINER_AUTHORIZATION_TOKEN="t",
                        LAMBDA_SECRETS_TIMEOUT_MS="1500")
    r = h.run_cmd(env)
    assert r.rc == 69, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert_within_deadline(r, 1500)


def test_container_endpoint_failing_with_500_is_69(h, two, creds_server):
    a, _ = two
    creds_server.fail = True
    env = container_env(h, {"A": a.name}, creds_server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token,
                        LAMBDA_SECRETS_TIMEOUT_MS="1500")
    r = h.run_cmd(env)
    assert r.rc == 69, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert len(creds_server.requests) >= 1
    assert_within_deadline(r, 1500)


def test_container_full_uri_plain_http_to_a_disallowed_host_is_refused(h, two):
    # README, "Options": a FULL_URI over plain http only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23.
    # Anything else is a bad credentials endpoint, refused before any request: a configuration error (78).
    a, _ = two
    env = container_env(h, {"A": a.name}, "http://example.com/creds", AWS_CONTAINER_AUTHORIZATION_TOKEN="t",
                        LAMBDA_SECRETS_TIMEOUT_MS="1500")
    r = h.run_cmd(env)
    assert r.rc == 78, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert [l for l in lines_with(r, "error") if "credentials" in l or "FULL_URI" in l], r


def _non_loopback_ipv4():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_container_full_uri_plain_http_to_a_non_loopback_address_gets_no_request(h, two):
    ip = _non_loopback_ipv4()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    server = ContainerCredentialsServer(h.container_creds.as_container(), "tok", host=ip)
    try:
        a, _ = two
        env = container_env(h, {"A": a.name}, server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN="tok",
                            LAMBDA_SECRETS_TIMEOUT_MS="1500")
        r = h.run_cmd(env)
        assert r.rc == 78, r
        assert_no_command(r)
        assert server.requests == [], "a plain-http credentials request went to a non-loopback address"
    finally:
        server.stop()


def test_localhost_name_is_an_allowed_full_uri(h, two, creds_server):
    a, _ = two
    url = creds_server.url.replace("127.0.0.1", "localhost")
    env = container_env(h, {"A": a.name}, url, names=["A"], AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"A": a.value})


def test_access_key_variables_come_before_the_container_endpoint(h, two, creds_server):
    a, _ = two
    env = h.env({"A": a.name}, names=["A"], AWS_CONTAINER_CREDENTIALS_FULL_URI=creds_server.url,
                AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"A": a.value})
    assert creds_server.requests == []


def test_container_endpoint_that_never_answers_is_69_at_the_deadline(h, two, hanging_port):
    a, _ = two
    env = container_env(h, {"A": a.name}, f"http://127.0.0.1:{hanging_port}/creds",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN="t", LAMBDA_SECRETS_TIMEOUT_MS="1200")
    r = h.run_cmd(env)
    assert r.rc == 69, r
    assert_no_command(r)
    assert sm_requests(r) == 0, r
    assert r.elapsed >= 1.0, r  # it did wait for an answer (a lower bound: load only adds to it)
    assert_within_deadline(r, 1200)
