"""HTTPS_PROXY / NO_PROXY, read as curl reads them (README, "Options", proxies)."""

import pytest

from support.proxy import ConnectProxy
from support.runner import assert_no_command, clean_env, expect_env


@pytest.fixture
def proxy():
    p = ConnectProxy()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def secret(h):
    return h.seed("proxy")


@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy"])
def test_https_proxy_is_used(h, proxy, secret, var):
    r = h.run_cmd(h.env({"P": secret.name}, names=["P"], **{var: proxy.url}))
    assert r.rc == 0, r
    expect_env(r, {"P": secret.value})
    assert proxy.targets, "the proxy saw no request"
    assert set(proxy.targets) == {("CONNECT", f"localhost:{h.moto.port}")}, proxy.targets


@pytest.mark.parametrize("no_proxy", ["localhost", "*", "example.com, localhost"])
@pytest.mark.parametrize("var", ["NO_PROXY", "no_proxy"])
def test_no_proxy_bypasses_the_proxy(h, proxy, secret, var, no_proxy):
    r = h.run_cmd(h.env({"P": secret.name}, names=["P"], HTTPS_PROXY=proxy.url, **{var: no_proxy}))
    assert r.rc == 0, r
    expect_env(r, {"P": secret.value})
    assert proxy.targets == []


def test_http_proxy_alone_is_not_used_for_https(h, proxy, secret):
    r = h.run_cmd(h.env({"P": secret.name}, names=["P"], HTTP_PROXY=proxy.url, http_proxy=proxy.url))
    assert r.rc == 0, r
    expect_env(r, {"P": secret.value})
    assert proxy.targets == []


def test_unreachable_proxy_is_69(h, secret):
    r = h.run_cmd(h.env({"P": secret.name}, HTTPS_PROXY=f"http://127.0.0.1:{h.closed_port()}",
                        LAMBDA_SECRETS_TIMEOUT_MS="1500"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert r.counts.get("GetSecretValue", 0) == 0, r


# ---------------------------------------------------------------- default endpoints, seen through the proxy


@pytest.fixture
def recorder():
    p = ConnectProxy(tunnel=False)  # records the CONNECT target, answers 502: nothing leaves the machine
    yield p
    p.stop()


ENDPOINTS = {
    "default": ({"AWS_REGION": "us-east-1"}, "it/x", "secretsmanager.us-east-1.amazonaws.com:443"),
    "default-region-var": ({"AWS_REGION": None, "AWS_DEFAULT_REGION": "ap-southeast-2"}, "it/x",
                           "secretsmanager.ap-southeast-2.amazonaws.com:443"),
    "fips": ({"AWS_USE_FIPS_ENDPOINT": "true"}, "it/x", "secretsmanager-fips.us-east-1.amazonaws.com:443"),
    "china": ({"AWS_REGION": "cn-north-1"}, "it/x", "secretsmanager.cn-north-1.amazonaws.com.cn:443"),
    "arn-region": ({"AWS_REGION": "us-east-1"}, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf",
                   "secretsmanager.eu-west-1.amazonaws.com:443"),
    "arn-china": ({}, "arn:aws-cn:secretsmanager:cn-northwest-1:111122223333:secret:x-AbCdEf",
                  "secretsmanager.cn-northwest-1.amazonaws.com.cn:443"),
    "ignore-configured": ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
                           "AWS_ENDPOINT_URL_SECRETS_MANAGER": "https://localhost:1"}, "it/x",
                          "secretsmanager.us-east-1.amazonaws.com:443"),
}


@pytest.mark.parametrize("extra,secret_id,host", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_default_endpoint(h, recorder, extra, secret_id, host):
    env = h.env({"P": secret_id}, AWS_ENDPOINT_URL_SECRETS_MANAGER=None, HTTPS_PROXY=recorder.url,
                AWS_MAX_ATTEMPTS="1", LAMBDA_SECRETS_TIMEOUT_MS="2000")
    r = h.run_cmd(clean_env(extra, env))
    assert r.rc == 69, r
    assert_no_command(r)
    assert recorder.targets and set(recorder.targets) == {("CONNECT", host)}, recorder.targets
