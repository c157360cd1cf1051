"""Array-form names that would take over the process (README, "`LAMBDA_SECRETS`"): whoever can write
a secret expanded in the array form chooses the variable names, so names that change how a process
starts, where the SDKs send requests or whom they trust are refused (65), naming the secret and the
key, never the value; the object form may still set them. Regression tests for the hostile review's
finding that a secret's keys set LD_PRELOAD, NODE_OPTIONS, PATH, AWS_ENDPOINT_URL, HTTPS_PROXY,
AWS_CA_BUNDLE and AWS_CONTAINER_CREDENTIALS_FULL_URI.
"""

import json

import pytest

from support.runner import assert_no_command, expect_env, lines_with

HOSTILE = [
    "LD_PRELOAD",
    "NODE_OPTIONS",
    "PATH",
    "AWS_ENDPOINT_URL",
    "HTTPS_PROXY",
    "https_proxy",
    "AWS_CA_BUNDLE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "PYTHONPATH",
    "JAVA_TOOL_OPTIONS",
    "SSL_CERT_FILE",
    "BASH_ENV",
]


@pytest.mark.parametrize("key", HOSTILE)
def test_a_hostile_key_in_an_array_form_secret_is_65(h, key):
    s = h.seed("hostile", json.dumps({"FINE": h.sentinel(), key: h.sentinel()}))
    r = h.run_cmd(h.env([s.name], names=["FINE", key]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, f"{key} from secret {s.name}", f'key "{key}" cannot be a variable'), r.lines


def test_the_object_form_may_still_name_them(h):
    s = h.seed("hostile-named", json.dumps({"v": h.sentinel()}))
    refs = {"NODE_OPTIONS": f"{s.name}:v", "HTTPS_PROXY": f"{s.name}:v"}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r


def test_ordinary_keys_that_look_alike_are_allowed(h):
    values = {"MY_PATH": h.sentinel(), "NODE": h.sentinel(), "AWSOME": h.sentinel(), "Path": h.sentinel()}
    s = h.seed("lookalike", json.dumps(values))
    r = h.run_cmd(h.env([s.name], names=list(values)))
    assert r.rc == 0, r
    expect_env(r, values)
