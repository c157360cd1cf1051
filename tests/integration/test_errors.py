"""Exit codes 78 (configuration), 65 (data) and 69 (unavailable) from real failing inputs.

Each case also checks that the command did not start (envreport prints nothing then) and, for errors
that the README places before any network call, that Secrets Manager got no request.
"""

import json

import pytest

from support.runner import assert_no_command, assert_within_deadline, expect_env, lines_with, requests_made


@pytest.fixture(scope="module")
def plain(h):
    return h.seed("err-plain")


@pytest.fixture(scope="module")
def doc(h):
    return h.seed("err-doc", '{"user": "app", "password": "%s"}' % h.sentinel())


# ---------------------------------------------------------------- 78: LAMBDA_SECRETS itself


MALFORMED = {
    "truncated": '{"A": "x"',
    "string": '"prod/db"',
    "number": "42",
    "ref-is-number": '{"A": 5}',
    "ref-is-null": '{"A": null}',
    "empty-secret-id": '{"A": ""}',
    "only-colons": '{"A": ":::"}',
    "too-many-fields": '{"A": "x:k:AWSCURRENT:v:extra"}',
    "object-without-secret-id": '{"A": {"json_key": "k"}}',
    "object-unknown-field": '{"A": {"secret_id": "x", "jsonkey": "k"}}',
    "object-optional-not-bool": '{"A": {"secret_id": "x", "optional": "yes"}}',
    "stage-and-id": '{"A": "x::AWSPREVIOUS:01234567-89ab-cdef-0123-456789abcdef"}',
    "stage-and-id-object": '{"A": {"secret_id": "x", "version_stage": "AWSCURRENT", '
                           '"version_id": "01234567-89ab-cdef-0123-456789abcdef"}}',
    "stage-and-id-optional": '{"A": {"secret_id": "x", "version_stage": "AWSCURRENT", '
                             '"version_id": "01234567-89ab-cdef-0123-456789abcdef", "optional": true}}',
    "duplicate-key": '{"A": "x", "B": "y", "A": "z"}',
    "array-with-json-key": '["x:key"]',
    "array-object-with-json-key": '[{"secret_id": "x", "json_key": "key"}]',
    "array-of-number": "[1]",
    "array-of-array": '[["x"]]',
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_lambda_secrets_is_78_before_any_request(h, text):
    r = h.run_cmd(h.env(text))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "LAMBDA_SECRETS"), r  # a global error names LAMBDA_SECRETS


RESERVED = ["AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_EXECUTION_ENV",
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_FORMAT", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN",
            "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LAMBDA_SECRETS", "LAMBDA_SECRETS_LOG",
            "LAMBDA_SECRETS_ANYTHING"]
INVALID_NAMES = ["1ABC", "BAD-NAME", "A B", "A=B", "É", ""]


@pytest.mark.parametrize("target", RESERVED + INVALID_NAMES)
def test_refused_target_is_78_before_any_request(h, plain, target):
    r = h.run_cmd(h.env({"GOOD_ONE": plain.name, target: plain.name}))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    if target.strip():
        assert lines_with(r, "error", target), r


def test_unusual_but_valid_targets_are_accepted(h, plain):
    refs = {"_private": plain.name, "x": plain.name, "AWS_XRAY_CONTEXT_MISSING": plain.name,
            "AWS_LAMBDAX": plain.name, "LAMBDA_SECRET": plain.name}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {k: plain.value for k in refs})


BAD_OPTIONS = {
    "concurrency-zero": ("LAMBDA_SECRETS_CONCURRENCY", "0"),
    "concurrency-negative": ("LAMBDA_SECRETS_CONCURRENCY", "-1"),
    "concurrency-word": ("LAMBDA_SECRETS_CONCURRENCY", "eight"),
    "timeout-word": ("LAMBDA_SECRETS_TIMEOUT_MS", "5s"),
    "timeout-negative": ("LAMBDA_SECRETS_TIMEOUT_MS", "-100"),
    "batch-mode": ("LAMBDA_SECRETS_BATCH", "sometimes"),
    "log-level": ("LAMBDA_SECRETS_LOG", "verbose"),
    "max-attempts-zero": ("AWS_MAX_ATTEMPTS", "0"),
    "max-attempts-word": ("AWS_MAX_ATTEMPTS", "three"),
}


@pytest.mark.parametrize("var,value", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_option_value_is_78(h, plain, var, value):
    r = h.run_cmd(h.env({"P": plain.name}, **{var: value}))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", var), r


@pytest.mark.parametrize("var,value", [("LAMBDA_SECRETS_BATCH", "NEVER"), ("LAMBDA_SECRETS_LOG", "Warn"),
                                       ("LAMBDA_SECRETS_CONCURRENCY", "1"), ("LAMBDA_SECRETS_TIMEOUT_MS", "3000"),
                                       ("AWS_MAX_ATTEMPTS", "1")])
def test_good_option_values_are_accepted(h, plain, var, value):
    r = h.run_cmd(h.env({"P": plain.name}, names=["P"], **{var: value}))
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value})


def test_no_region_is_78(h, plain):
    r = h.run_cmd(h.env({"P": plain.name}, AWS_REGION=None, AWS_DEFAULT_REGION=None))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "region"), r


def test_no_region_needed_when_every_reference_is_an_arn(h, plain, doc):
    refs = {"P": plain.arn, "U": f"{doc.arn}:user"}
    r = h.run_cmd(h.env(refs, names=list(refs), AWS_REGION=None, AWS_DEFAULT_REGION=None))
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value, "U": "app"})


@pytest.mark.parametrize("mode", ["never", "always"])
def test_resource_not_found_is_78(h, plain, mode):
    missing = h.name("missing")
    r = h.run_cmd(h.env({"P": plain.name, "MISSING_ONE": missing}, LAMBDA_SECRETS_BATCH=mode))
    assert r.rc == 78, r
    assert_no_command(r)
    assert lines_with(r, "MISSING_ONE", missing, "ResourceNotFoundException"), r


def test_missing_version_id_is_78(h, plain):
    ref = f"{plain.name}:::01234567-89ab-cdef-0123-456789abcdef"
    r = h.run_cmd(h.env({"OLD": ref}))
    assert r.rc == 78, r
    assert lines_with(r, "OLD", "ResourceNotFoundException"), r


def test_array_form_two_secrets_with_the_same_key_is_78_after_fetching(h):
    s1 = h.seed("dupkey1", '{"SHARED_KEY": "%s", "ONLY_ONE": "a"}' % h.sentinel())
    s2 = h.seed("dupkey2", '{"SHARED_KEY": "%s"}' % h.sentinel())
    r = h.run_cmd(h.env([s1.name, s2.name]))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) >= 1, r
    assert lines_with(r, "error", "SHARED_KEY"), r


def test_object_and_array_producing_the_same_variable_is_78(h):
    # Object form: "a key repeated in the JSON text" is the only way; two different keys cannot collide.
    s = h.seed("dupobj")
    r = h.run_cmd(h.env('{"SAME": "%s", "SAME": "%s"}' % (s.name, s.arn)))
    assert r.rc == 78, r
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "SAME"), r


# ---------------------------------------------------------------- 78: endpoint and TLS configuration


def test_ca_bundle_missing_file_is_78(h, plain, tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    r = h.run_cmd(h.env({"P": plain.name}, AWS_CA_BUNDLE=missing))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r
    assert lines_with(r, "error", "AWS_CA_BUNDLE"), r


def test_fips_with_an_endpoint_url_is_78(h, plain):
    r = h.run_cmd(h.env({"P": plain.name}, AWS_USE_FIPS_ENDPOINT="true"))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r


@pytest.mark.parametrize("url", ["ftp://localhost:21/", "not a url", "https://"])
def test_bad_endpoint_url_is_78(h, plain, url):
    r = h.run_cmd(h.env({"P": plain.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=url))
    assert r.rc == 78, r
    assert_no_command(r)
    assert requests_made(r) == 0, r


def test_global_endpoint_url(h, plain):
    env = h.env({"P": plain.name}, names=["P"], AWS_ENDPOINT_URL_SECRETS_MANAGER=None,
                AWS_ENDPOINT_URL=h.moto.endpoint)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value})
    assert r.count("GetSecretValue") == 1, r


def test_service_endpoint_url_wins_over_the_global_one(h, plain):
    env = h.env({"P": plain.name}, names=["P"], AWS_ENDPOINT_URL=f"https://localhost:{h.closed_port()}")
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value})


def test_endpoint_with_ip_address(h, plain):
    env = h.env({"P": plain.name}, names=["P"],
                AWS_ENDPOINT_URL_SECRETS_MANAGER=h.moto.endpoint.replace("localhost", "127.0.0.1"))
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value})


def test_tls_without_the_test_ca_fails_69(h, plain):
    # Trust roots are compiled in: moto's test certificate is not trusted without AWS_CA_BUNDLE...
    r = h.run_cmd(h.env({"P": plain.name}, AWS_CA_BUNDLE=None, LAMBDA_SECRETS_TIMEOUT_MS="2000"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert requests_made(r) == 0, r


def test_ssl_cert_file_and_dir_are_not_read(h, plain, pki):
    # ...and SSL_CERT_FILE / SSL_CERT_DIR do not change that.
    r = h.run_cmd(h.env({"P": plain.name}, AWS_CA_BUNDLE=None, SSL_CERT_FILE=pki["ca"],
                        SSL_CERT_DIR=str(h.tmp), LAMBDA_SECRETS_TIMEOUT_MS="2000"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert requests_made(r) == 0, r


def test_ca_bundle_is_used_even_when_ssl_cert_file_points_elsewhere(h, plain):
    r = h.run_cmd(h.env({"P": plain.name}, names=["P"], SSL_CERT_FILE="/nonexistent/ca.pem"))
    assert r.rc == 0, r
    expect_env(r, {"P": plain.value})


# ---------------------------------------------------------------- 65: data


def test_json_key_missing_is_65(h, doc):
    r = h.run_cmd(h.env({"DB_HOST": f"{doc.name}:host"}))
    assert r.rc == 65, r
    assert_no_command(r)
    (line,) = lines_with(r, "DB_HOST")
    assert doc.name in line and "host" in line, r


@pytest.mark.parametrize("text", ['%s', '{"password": "%s"', '["%s"]', '"%s"', '{"a": 1} {"b": "%s"}'],
                         ids=["plain-text", "truncated-json", "json-array", "json-string", "two-documents"])
def test_secret_not_a_json_object_is_65(h, text):
    s = h.seed("notjson", text % h.sentinel())
    r = h.run_cmd(h.env({"DB_PASSWORD": f"{s.name}:password"}))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, "DB_PASSWORD", s.name), r


def test_binary_secret_with_a_json_key_is_65(h):
    s = h.seed("binkey", binary=b'{"k": "' + h.sentinel().encode() + b'"}')
    r = h.run_cmd(h.env({"BIN_KEY": f"{s.name}:k"}))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, "BIN_KEY", s.name), r


@pytest.mark.parametrize("key", ["1BAD", "BAD-KEY", "AWS_REGION", "LAMBDA_SECRETS_LOG", "_HANDLER", ""],
                         ids=["digit", "dash", "AWS_REGION", "own-option", "_HANDLER", "empty"])
def test_array_form_key_that_is_not_an_allowed_name_is_65(h, key):
    s = h.seed("arrbad", json.dumps({"GOOD_KEY": h.sentinel(), key: h.sentinel()}))
    r = h.run_cmd(h.env([s.name]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, s.name), r
    if key:
        assert lines_with(r, s.name, key), r


@pytest.mark.parametrize("text", ['%s', '["%s"]', '{"A": "%s"'], ids=["plain", "array", "truncated"])
def test_array_form_secret_not_a_json_object_is_65(h, text):
    s = h.seed("arrnotjson", text % h.sentinel())
    r = h.run_cmd(h.env([s.name]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, s.name), r


def test_array_form_binary_secret_is_65(h):
    s = h.seed("arrbin", binary=b'{"BIN_KEY": "' + h.sentinel().encode() + b'"}')
    r = h.run_cmd(h.env([s.name]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, s.name), r


@pytest.fixture(scope="module")
def nul_secrets(h):
    whole = h.seed("nulwhole", h.sentinel() + "\x00tail")
    keyed = h.seed("nulkey", '{"k": "%s\\u0000tail", "o": {"x": "\\u0000"}}' % h.sentinel())
    with h.moto.auth_off():
        stored = h.moto.client("secretsmanager").get_secret_value(SecretId=whole.arn)["SecretString"]
    if "\x00" not in stored:
        pytest.skip("moto does not store a NUL byte in SecretString")
    return whole, keyed


def test_value_with_a_nul_byte_is_65(h, nul_secrets):
    whole, keyed = nul_secrets
    for ref in [whole.name, f"{keyed.name}:k"]:
        r = h.run_cmd(h.env({"NUL_VALUE": ref}))
        assert r.rc == 65, r
        assert_no_command(r)
        assert lines_with(r, "NUL_VALUE", ref.split(":")[0]), r


def test_escaped_nul_inside_a_compact_json_value_is_not_a_nul_byte(h, nul_secrets):
    # "Compact JSON text" keeps the escape as written: \u0000 stays six characters.
    _, keyed = nul_secrets
    r = h.run_cmd(h.env({"OBJ": f"{keyed.name}:o"}, names=["OBJ"]))
    assert r.rc == 0, r
    expect_env(r, {"OBJ": '{"x":"\\u0000"}'})


def test_array_form_value_with_a_nul_byte_is_65(h, nul_secrets):
    _, keyed = nul_secrets
    s = h.seed("arrnul", '{"NUL_ARR": "%s\\u0000"}' % h.sentinel())
    r = h.run_cmd(h.env([s.name]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, s.name), r


# ---------------------------------------------------------------- 69: unavailable


def test_closed_port_with_one_attempt_is_69_at_once(h, plain):
    url = f"https://localhost:{h.closed_port()}"
    # "At once": a refused connection with one attempt does not wait for the deadline, made long
    # here (20 s) so that half of it is a generous bound.
    r = h.run_cmd(h.env({"NET_P": plain.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=url, AWS_MAX_ATTEMPTS="1",
                        LAMBDA_SECRETS_TIMEOUT_MS="20000"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert r.elapsed < 10, r
    assert lines_with(r, "error", "NET_P", plain.name), r


def test_closed_port_with_retries_is_69_within_the_deadline(h, plain):
    url = f"https://localhost:{h.closed_port()}"
    other = h.seed("err-other")
    r = h.run_cmd(h.env({"NET_P": plain.name, "NET_Q": other.arn}, AWS_ENDPOINT_URL_SECRETS_MANAGER=url,
                        LAMBDA_SECRETS_TIMEOUT_MS="1500"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert_within_deadline(r, 1500)
    assert lines_with(r, "NET_P", plain.name), r  # every failing secret is reported
    assert lines_with(r, "NET_Q", other.arn), r


def test_a_server_that_never_answers_is_69_at_the_deadline(h, plain, hanging_port):
    url = f"https://localhost:{hanging_port}"
    r = h.run_cmd(h.env({"P": plain.name}, AWS_ENDPOINT_URL_SECRETS_MANAGER=url, LAMBDA_SECRETS_TIMEOUT_MS="1200"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert r.elapsed >= 1.0, r  # it did wait for an answer (a lower bound: load only adds to it)
    assert_within_deadline(r, 1200)
