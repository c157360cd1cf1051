"""Regression tests for the transport-layer findings of a hostile review of the release binary.

Each test names its finding. They run the release binary against moto, against the scripted
loopback servers of support/hostile.py, or with curl on this machine as the oracle for proxies.
Only loopback addresses and `.invalid` names (RFC 6761) are used.
"""

import email.utils
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from support.hostile import ScriptedServer, http_reply
from support.pki import make_pki
from support.proxy import ConnectProxy
from support.runner import assert_no_command, lines_with, requests_made


@pytest.fixture(scope="module")
def secret(h):
    return h.seed("hostile")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """A second, unrelated CA and its server certificate."""
    return make_pki(tmp_path_factory.mktemp("pki-other"))


@pytest.fixture
def recorder():
    p = ConnectProxy(tunnel=False)
    yield p
    p.stop()


@pytest.fixture
def listener():
    """A loopback port that accepts connections and records whether any came."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(0.2)
    yield s
    s.close()


def accepted(sock):
    try:
        conn, _ = sock.accept()
    except OSError:
        return False
    conn.close()
    return True


def scripted(request, **kwargs):
    server = ScriptedServer(**kwargs)
    request.addfinalizer(server.stop)
    return server


# ---------------------------------------------------------------- 1: SOCKS proxies


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "socks4", "SOCKS5H"])
def test_f1_socks_proxy_is_refused_78_before_any_request(h, secret, listener, scheme):
    r = h.run_cmd(h.env({"P": secret.name}, HTTPS_PROXY=f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "HTTPS_PROXY", "SOCKS"), r
    assert not accepted(listener), "the SOCKS proxy was contacted"


def test_f1_socks_refusal_comes_before_the_credentials_endpoint_and_is_json(h, secret, creds_server, listener):
    env = h.env({"P": secret.name}, AWS_CONTAINER_CREDENTIALS_FULL_URI=creds_server.url,
                AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token, AWS_LAMBDA_LOG_FORMAT="JSON",
                https_proxy=f"socks5h://user:pw-hostile-1@127.0.0.1:{listener.getsockname()[1]}")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(var)
    r = h.run_cmd(env)
    assert r.rc == 78, r
    assert creds_server.requests == [], "the credentials endpoint was called before the refusal"
    assert "pw-hostile-1" not in r.stderr, r
    for line in r.lines:
        assert json.loads(line)["level"] == "ERROR", r


# ---------------------------------------------------------------- 5: TLS failures


def test_f5_unknown_issuer_is_said_plainly_and_not_retried(h, secret, pki, request):
    # The compiled-in roots do not know the test CA: what a TLS-inspecting proxy looks like.
    server = scripted(request, cert=pki["cert"], key=pki["key"])
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url,
                        AWS_CA_BUNDLE=None, LAMBDA_SECRETS_TIMEOUT_MS="3000"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert server.connections == 1, (server.connections, r)
    (line,) = lines_with(r, "P from secret")
    assert "certificate not trusted (unknown issuer) for 127.0.0.1" in line, r
    assert "set AWS_CA_BUNDLE if a proxy inspects TLS" in line, r
    assert "invalid data" not in line, r


def test_f5_another_ca_of_the_same_name_is_not_retried(h, secret, pki, other_pki, request):
    server = scripted(request, cert=pki["cert"], key=pki["key"])
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url,
                        AWS_CA_BUNDLE=other_pki["ca"], LAMBDA_SECRETS_TIMEOUT_MS="3000"))
    assert r.rc == 69, r
    assert server.connections == 1, (server.connections, r)
    assert lines_with(r, "P from secret", "RequestFailed: TLS: the certificate of 127.0.0.1"), r


def test_f5_leaf_only_bundle_is_unknown_issuer_not_retried(h, secret, pki, request):
    server = scripted(request, cert=pki["cert"], key=pki["key"])
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url,
                        AWS_CA_BUNDLE=pki["cert"], LAMBDA_SECRETS_TIMEOUT_MS="3000"))
    assert r.rc == 69, r
    assert server.connections == 1, (server.connections, r)
    assert lines_with(r, "P from secret", "certificate not trusted (unknown issuer)"), r


def test_f5_wrong_host_name_is_said_plainly_and_not_retried(h, secret, pki, request):
    # The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too.
    server = scripted(request, cert=pki["cert"], key=pki["key"], host="127.0.0.2")
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url,
                        LAMBDA_SECRETS_TIMEOUT_MS="3000"))
    assert r.rc == 69, r
    assert server.connections == 1, (server.connections, r)
    assert lines_with(r, "P from secret", "not valid for the name 127.0.0.2"), r


GARBAGE_PEM = "-----BEGIN CERTIFICATE-----\nTUlJQmdhcmJhZ2Vub3RhY2VydGlmaWNhdGVhdGFsbA==\n-----END CERTIFICATE-----\n"


def test_f5_unparsable_certificate_in_the_bundle_is_78_before_any_request(h, secret, pki, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(open(pki["ca"]).read() + GARBAGE_PEM)
    r = h.run_cmd(h.env({"P": secret.name}, AWS_CA_BUNDLE=str(bundle)))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "AWS_CA_BUNDLE", "certificate 2 cannot be parsed"), r


# ---------------------------------------------------------------- 6: server text in log lines


FORGED = "lambda-secrets: error: FORGED"


def test_f6_xml_request_id_cannot_forge_a_line(h, secret, request):
    rid = "r" * 20000 + "\n" + FORGED + "\x07"
    body = f"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    server = scripted(request, reply=http_reply(403, body.encode()))
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url))
    assert r.rc == 77, r
    assert len(r.lines) == 1, r.lines[:3]
    (line,) = r.lines
    assert line.startswith("lambda-secrets: error: P from secret"), line[:200]
    assert "\x07" not in r.stderr and "FORGED" not in r.stderr, line[:200]
    assert len(line) < 1000, len(line)


def test_f6_header_request_id_is_cleaned_and_capped(h, secret, request):
    rid = b"id\tTAB" + b"x" * 30000  # httparse refuses other control bytes itself
    body = b'{"__type":"AccessDeniedException","message":"no"}'
    server = scripted(request, reply=http_reply(400, body, [(b"x-amzn-RequestId", rid)]))
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url))
    assert r.rc == 77, r
    (line,) = r.lines
    assert "\t" not in line, line[:200]
    assert len(line) < 1000, len(line)
    assert "(request id idTABxxx" in line, line[:200]


# ---------------------------------------------------------------- 7: proxies as curl reads them


def curl_used_proxy(proxy, port, env):
    proxy.targets.clear()
    subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2", f"https://127.0.0.1:{port}/"],
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}, check=False)
    return bool(proxy.targets)


PROXY_CASES = {
    "lower-no-proxy-first": {"NO_PROXY": "example.com", "no_proxy": "127.0.0.1", "http_proxy": "P", "https_proxy": "P"},
    "empty-upper-no-proxy": {"NO_PROXY": "", "no_proxy": "127.0.0.1", "HTTPS_PROXY": "P"},
    "empty-lower-no-proxy": {"no_proxy": "", "NO_PROXY": "127.0.0.1", "HTTPS_PROXY": "P"},
    "lower-proxy-first": {"https_proxy": "P", "HTTPS_PROXY": "http://127.0.0.1:9"},
    "empty-lower-proxy": {"https_proxy": "", "HTTPS_PROXY": "P"},
    "all-proxy-upper": {"ALL_PROXY": "P"},
    "all-proxy-lower": {"all_proxy": "P"},
    "scheme-proxy-before-all-proxy": {"HTTPS_PROXY": "http://127.0.0.1:9", "all_proxy": "P"},
    "upper-http-proxy-ignored": {"HTTP_PROXY": "P"},
    "cidr-8": {"no_proxy": "127.0.0.0/8", "HTTPS_PROXY": "P"},
    "cidr-24": {"no_proxy": "127.0.0.0/24", "HTTPS_PROXY": "P"},
    "cidr-other": {"no_proxy": "127.0.1.0/24", "HTTPS_PROXY": "P"},
    "cidr-zero-bits": {"no_proxy": "127.0.0.0/0", "HTTPS_PROXY": "P"},
    "space-separated": {"no_proxy": "example.com 127.0.0.1", "HTTPS_PROXY": "P"},
    "star-in-a-list": {"no_proxy": "example.com,*", "HTTPS_PROXY": "P"},
    "star-with-blanks": {"no_proxy": " * ", "HTTPS_PROXY": "P"},
    "star": {"no_proxy": "*", "HTTPS_PROXY": "P"},
    "name-does-not-match-ip": {"no_proxy": "localhost", "HTTPS_PROXY": "P"},
    "scheme-less-proxy": {"HTTPS_PROXY": "HOSTPORT"},
}


@pytest.mark.parametrize("case", PROXY_CASES.values(), ids=PROXY_CASES.keys())
def test_f7_proxy_choice_matches_curl(h, secret, recorder, case):
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine")
    port = h.closed_port()
    hostport = recorder.url.split("://", 1)[1]
    env = {k: {"P": recorder.url, "HOSTPORT": hostport}.get(v, v) for k, v in case.items()}
    curl = curl_used_proxy(recorder, port, env)
    recorder.targets.clear()
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{port}",
                        AWS_MAX_ATTEMPTS="1", LAMBDA_SECRETS_TIMEOUT_MS="2000", **env))
    assert r.rc == 69, r
    ours = bool(recorder.targets)
    assert ours == curl, f"curl {'used' if curl else 'bypassed'} the proxy, lambda-secrets {'used' if ours else 'bypassed'} it: {r!r}"


# ---------------------------------------------------------------- 8: passwords in URLs


@pytest.mark.parametrize("var,url", [
    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://user:pw-hostile-8@example.com/creds"),
    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://user:pw-hostile-8@[::1]junk/creds"),
    ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://user:pw-hostile-8@localhost:1/"),
    ("AWS_ENDPOINT_URL", "https://u:pw/hostile-8@localhost:1/"),
    ("HTTPS_PROXY", "ftp://user:pw-hostile-8@127.0.0.1:1"),
])
def test_f8_user_information_is_never_printed(h, secret, var, url):
    env = h.env({"P": secret.name}, **{var: url})
    if var.startswith("AWS_CONTAINER"):
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(k)
    if var == "AWS_ENDPOINT_URL":
        env.pop("AWS_ENDPOINT_URL_SECRETS_MANAGER")
    r = h.run_cmd(env)
    assert r.rc == 78, r
    assert lines_with(r, "error", var), r
    assert "pw" not in r.stderr and "hostile-8" not in r.stderr, r


# ---------------------------------------------------------------- 9: files read within bounds


def container_env(h, secret, url, **extra):
    env = h.env({"P": secret.name}, AWS_CONTAINER_CREDENTIALS_FULL_URI=url, **extra)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k)
    return env


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return str(path)


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"A" * (2 << 20))
    return str(path)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "too-large", "directory"])
def test_f9_token_file_that_is_not_a_small_regular_file_is_77_at_once(h, secret, creds_server, fifo, big_file,
                                                                      tmp_path, kind):
    path = {"fifo": fifo, "dev-zero": "/dev/zero", "too-large": big_file, "directory": str(tmp_path)}[kind]
    env = container_env(h, secret, creds_server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=path,
                        LAMBDA_SECRETS_TIMEOUT_MS="1000")
    r = h.run_cmd(env, timeout=8)
    assert r.rc == 77, r
    assert creds_server.requests == [], r
    assert lines_with(r, "error", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), r


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "too-large"])
def test_f9_ca_bundle_that_is_not_a_small_regular_file_is_78_at_once(h, secret, fifo, big_file, kind):
    path = {"fifo": fifo, "dev-zero": "/dev/zero", "too-large": big_file}[kind]
    r = h.run_cmd(h.env({"P": secret.name}, AWS_CA_BUNDLE=path, LAMBDA_SECRETS_TIMEOUT_MS="1000"), timeout=8)
    assert r.rc == 78, r
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "AWS_CA_BUNDLE"), r


# ---------------------------------------------------------------- 10: a closed stdout


@pytest.mark.parametrize("arg", ["--help", "--version"])
def test_f10_closed_pipe_is_not_an_abort(binary, arg):
    read, write = os.pipe()
    os.close(read)
    try:
        p = subprocess.run([binary, arg], stdout=write, stderr=subprocess.PIPE, timeout=10, env={"PATH": "/usr/bin:/bin"})
    finally:
        os.close(write)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert b"panicked" not in p.stderr, p.stderr


# ---------------------------------------------------------------- 11: text after an IPv6 address


@pytest.mark.parametrize("url", ["http://[::1]junk/", "https://[::1]x:443/", "https://[not-v6]/", "https://::1/"])
def test_f11_bad_ipv6_authority_is_78(h, secret, url):
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=url))
    assert r.rc == 78, r
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "AWS_ENDPOINT_URL_SECRETS_MANAGER"), r


# ---------------------------------------------------------------- 12: clock skew


@pytest.mark.parametrize("code", ["InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired"])
def test_f12_clock_skew_is_measured_from_the_date_header(h, secret, request, code):
    def reply():
        date = email.utils.formatdate(time.time() + 432, usegmt=True)  # 7 min 12 s ahead
        body = json.dumps({"__type": code, "message": "Signature expired"}).encode()
        return http_reply(400, body, [(b"Date", date.encode())])

    server = scripted(request, reply=reply)
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url))
    assert r.rc == 77, r
    (line,) = lines_with(r, "P from secret", code)
    assert re.search(r"the clock is 7 min 1[0-3] s behind the server's", line), line
    assert "check the secret access key, and the system clock" in line, line


def test_f12_a_clock_that_agrees_is_said_too(h, secret, request):
    def reply():
        date = email.utils.formatdate(time.time(), usegmt=True)
        return http_reply(400, b'{"__type":"InvalidSignatureException"}', [(b"Date", date.encode())])

    server = scripted(request, reply=reply)
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url))
    assert r.rc == 77, r
    assert lines_with(r, "P from secret", "the clock agrees with the server's Date header"), r


# ---------------------------------------------------------------- 13: where and why a request failed


def test_f13_dns_failure_names_the_host(h, secret):
    t0 = time.monotonic()
    try:
        socket.getaddrinfo("secretsmanager.invalid", 443)
    except socket.gaierror:
        pass
    else:
        pytest.skip("this machine resolves .invalid names")
    if time.monotonic() - t0 > 2:
        pytest.skip("name resolution here is slow to fail")
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER="https://secretsmanager.invalid",
                        AWS_MAX_ATTEMPTS="1"))
    assert r.rc == 69, r
    (line,) = lines_with(r, "P from secret")
    assert "RequestFailed: DNS resolution failed for secretsmanager.invalid:443" in line, line


def test_f13_refused_connection_names_the_host_and_port(h, secret):
    port = h.closed_port()
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{port}",
                        AWS_MAX_ATTEMPTS="1"))
    assert r.rc == 69, r
    assert lines_with(r, "P from secret", f"RequestFailed: connection refused by 127.0.0.1:{port}"), r


def test_f13_refused_proxy_connection_names_the_proxy(h, secret):
    port, proxy_port = h.closed_port(), h.closed_port()
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{port}",
                        HTTPS_PROXY=f"http://127.0.0.1:{proxy_port}", AWS_MAX_ATTEMPTS="1"))
    assert r.rc == 69, r
    assert lines_with(r, "P from secret", f"through the proxy at 127.0.0.1:{proxy_port}"), r


@pytest.fixture
def full_backlog():
    """A loopback port whose accept queue is full: the kernel drops further SYNs, so a connection
    attempt hangs in connect() as it does towards a black-holed address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.2)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        hangs = False
    except (socket.timeout, TimeoutError):
        hangs = True
    except OSError:
        hangs = False
    probe.close()
    yield port if hangs else None
    for c in fillers:
        c.close()
    server.close()


def test_f13_connect_timeout_names_the_host_and_gives_the_vpc_hint(h, secret, full_backlog):
    if full_backlog is None:
        pytest.skip("this kernel does not leave a connection hanging on a full accept queue")
    r = h.run_cmd(h.env({"P": secret.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{full_backlog}",
                        AWS_MAX_ATTEMPTS="1", LAMBDA_SECRETS_TIMEOUT_MS="1500"))
    assert r.rc == 69, r
    (line,) = lines_with(r, "P from secret")
    assert f"connecting to 127.0.0.1:{full_backlog} timed out" in line, line
    assert "NAT gateway or an interface VPC endpoint for secretsmanager" in line, line
