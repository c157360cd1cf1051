"""Value rules (README, "`LAMBDA_SECRETS`"): what each kind of reference injects into the command's environment."""

import base64
import json

from support.runner import expect_env, lines_with


def test_whole_secret_string(h):
    s = h.seed("whole")
    r = h.run_cmd(h.env({"DB_PASSWORD": s.name}, names=["DB_PASSWORD"]))
    assert r.rc == 0, r
    expect_env(r, {"DB_PASSWORD": s.value})


def test_whole_json_secret_is_injected_verbatim(h):
    # No JSON_KEY: the whole SecretString, white space and all, even when it is JSON.
    text = '{\n  "user": "app",\n  "password" : "%s"\n}\n' % h.sentinel()
    s = h.seed("wholejson", text)
    r = h.run_cmd(h.env({"CONFIG": s.name}, names=["CONFIG"]))
    assert r.rc == 0, r
    expect_env(r, {"CONFIG": text})


def test_unicode_multiline_and_large_values(h):
    odd = "é 日本 🎉\nline two\twith tab = and 'quotes' \"double\" $HOME `cmd` " + h.sentinel()
    big = h.sentinel() + "x" * 60000 + h.sentinel()
    s1, s2 = h.seed("unicode", odd), h.seed("big", big)
    r = h.run_cmd(h.env({"ODD": s1.name, "BIG": s2.name}, names=["ODD", "BIG"]))
    assert r.rc == 0, r
    expect_env(r, {"ODD": odd, "BIG": big})


def test_json_key_values(h):
    s1, s2 = h.sentinel(), h.sentinel()
    text = (
        '{\n  "str": "%s",\n'
        '  "esc": "line1\\nline2 \\u00e9 \\"q\\"",\n'
        '  "num": 1.50,\n'
        '  "exp": 1E+3,\n'
        '  "neg": -0,\n'
        '  "obj": { "zeta" : [1, 2 ,\t{"k": "%s with  spaces"}],\n  "alpha":null , "esc":"a\\u0041\\t" },\n'
        '  "arr": [ true , false ],\n'
        '  "t": true,\n'
        '  "n": null,\n'
        '  "empty": ""\n}'
    ) % (s1, s2)
    json.loads(text)  # the fixture itself is valid JSON
    s = h.seed("jsonkeys", text)
    refs = {name.upper(): f"{s.name}:{name}" for name in
            ["str", "esc", "num", "exp", "neg", "obj", "arr", "t", "n", "empty"]}
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {
        "STR": s1,                                  # a string value: as is (JSON escapes decoded)
        "ESC": 'line1\nline2 é "q"',
        "NUM": "1.50",                              # numbers keep their spelling
        "EXP": "1E+3",
        "NEG": "-0",
        # other values: compact JSON text as written in the secret (order, spelling and escapes kept)
        "OBJ": '{"zeta":[1,2,{"k":"%s with  spaces"}],"alpha":null,"esc":"a\\u0041\\t"}' % s2,
        "ARR": "[true,false]",
        "T": "true",
        "N": "null",
        "EMPTY": "",
    })


def test_secret_binary_is_injected_base64_as_the_api_returns_it(h):
    raw = b"\x00\x01\xfe\xff" + h.sentinel().encode() + b"\n\x80"  # length not a multiple of 3
    assert len(raw) % 3 != 0
    s = h.seed("binary", binary=raw)
    r = h.run_cmd(h.env({"CERT": s.name}, names=["CERT"]))
    assert r.rc == 0, r
    expect_env(r, {"CERT": base64.b64encode(raw).decode()})


def test_array_form_expands_every_top_level_key(h):
    a, b = h.sentinel(), h.sentinel()
    s1 = h.seed("arr1", '{"APP_STR": "%s", "APP_NUM": 1.50, "APP_OBJ": {"b" : 1, "a" : [ 2 , "x y" ]}, '
                        '"APP_NULL": null, "APP_T": false}' % a)
    s2 = h.seed("arr2", '{ "APP_OTHER" : "%s" }' % b)
    names = ["APP_STR", "APP_NUM", "APP_OBJ", "APP_NULL", "APP_T", "APP_OTHER"]
    r = h.run_cmd(h.env([s1.name, s2.arn], names=names))
    assert r.rc == 0, r
    expect_env(r, {"APP_STR": a, "APP_NUM": "1.50", "APP_OBJ": '{"b":1,"a":[2,"x y"]}',
                   "APP_NULL": "null", "APP_T": "false", "APP_OTHER": b})
    assert lines_with(r, "injected 6 variables from 2 secrets"), r


def test_array_form_object_reference_and_version_stage(h):
    old, new = h.sentinel(), h.sentinel()
    s = h.seed("arrver", '{"ARR_V": "%s"}' % old)
    h.put_value(s, '{"ARR_V": "%s"}' % new)
    r = h.run_cmd(h.env([{"secret_id": s.name, "version_stage": "AWSPREVIOUS"}], names=["ARR_V"]))
    assert r.rc == 0, r
    expect_env(r, {"ARR_V": old})


def test_version_stage_and_version_id(h):
    old, new = h.sentinel(), h.sentinel()
    v1_text, v2_text = '{"k": "%s"}' % old, '{"k": "%s"}' % new
    s = h.seed("versions", v1_text)
    v2 = h.put_value(s, v2_text)
    assert v2 != s.version_id
    refs = {
        "CUR": s.name,
        "CUR_TRAILING": f"{s.name}:::",
        "CUR_ONE_COLON": f"{s.name}:",
        "PREV": f"{s.name}::AWSPREVIOUS:",
        "PREV_NO_TRAILING": f"{s.name}::AWSPREVIOUS",
        "BY_ID": f"{s.name}:::{s.version_id}",
        "CUR_BY_ID": f"{s.name}:::{v2}",
        "KEY_PREV": f"{s.name}:k:AWSPREVIOUS",
        "KEY_CUR": f"{s.name}:k::",
        "ARN_KEY_PREV": f"{s.arn}:k:AWSPREVIOUS:",
        "ARN_BY_ID": f"{s.arn}:::{s.version_id}",
        "OBJ_STAGE": {"secret_id": s.name, "json_key": "k", "version_stage": "AWSPREVIOUS"},
        "OBJ_ID": {"secret_id": s.arn, "version_id": s.version_id},
    }
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {
        "CUR": v2_text, "CUR_TRAILING": v2_text, "CUR_ONE_COLON": v2_text, "PREV": v1_text, "PREV_NO_TRAILING": v1_text,
        "BY_ID": v1_text, "CUR_BY_ID": v2_text, "KEY_PREV": old, "KEY_CUR": new, "ARN_KEY_PREV": old,
        "ARN_BY_ID": v1_text, "OBJ_STAGE": old, "OBJ_ID": v1_text,
    })


def test_full_and_partial_arn(h):
    v = h.sentinel()
    s = h.seed("arns", '{"k": "%s", "n": 7}' % v)
    refs = {
        "FULL": s.arn,
        "PARTIAL": s.partial_arn,
        "FULL_KEY": f"{s.arn}:k",
        "PARTIAL_KEY": f"{s.partial_arn}:k",
        "PARTIAL_NUM": f"{s.partial_arn}:n:",
        "OBJ_ARN": {"secret_id": s.arn, "json_key": "k"},
    }
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"FULL": s.value, "PARTIAL": s.value, "FULL_KEY": v, "PARTIAL_KEY": v,
                   "PARTIAL_NUM": "7", "OBJ_ARN": v})


def test_object_form_references(h):
    v = h.sentinel()
    s = h.seed("objform", '{"password": "%s"}' % v)
    refs = {
        "WHOLE": {"secret_id": s.name},
        "KEYED": {"secret_id": s.name, "json_key": "password", "optional": False},
        "OPT_PRESENT": {"secret_id": s.name, "json_key": "password", "optional": True},
    }
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"WHOLE": s.value, "KEYED": v, "OPT_PRESENT": v})


def test_optional_missing_secret_warns_and_the_rest_proceeds(h):
    s = h.seed("optbase")
    missing = h.name("does-not-exist")
    refs = {
        "PRESENT": s.name,
        "ABSENT": {"secret_id": missing, "optional": True},
        "ABSENT_KEY": {"secret_id": s.name, "json_key": "nope", "optional": True},  # data error: optional too
    }
    r = h.run_cmd(h.env(refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"PRESENT": s.value, "ABSENT": None, "ABSENT_KEY": None})
    assert lines_with(r, "warn", "ABSENT", missing), r
    assert lines_with(r, "warn", "ABSENT_KEY"), r


def test_variable_already_in_the_environment_is_replaced(h):
    s = h.seed("replace")
    env = h.env({"DB_PASSWORD": s.name}, names=["DB_PASSWORD"], DB_PASSWORD="old-value-from-config")
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"DB_PASSWORD": s.value})


def test_other_variables_pass_through_unchanged(h):
    s = h.seed("passthrough")
    secrets = json.dumps({"TOKEN": s.name})
    extra = {
        "OTHER": "keep me = as is\n",
        "EMPTY_ONE": "",
        "LAMBDA_SECRETS_TIMEOUT_MS": "4000",
        "LAMBDA_SECRETS_CONCURRENCY": "4",
        "LAMBDA_SECRETS_BATCH": "auto",
        "LAMBDA_SECRETS_LOG": "INFO",
        "AWS_MAX_ATTEMPTS": "2",
    }
    env = h.env(secrets, **extra)
    names = ["TOKEN", "LAMBDA_SECRETS", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "UNSET_ONE", *extra]
    env["ENVREPORT_NAMES"] = ",".join(names)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {
        "TOKEN": s.value, "LAMBDA_SECRETS": secrets, "UNSET_ONE": None, **extra,
        **{k: env[k] for k in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                               "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL_SECRETS_MANAGER"]},
    })


def test_default_region_is_used_when_aws_region_is_unset(h):
    s = h.seed("defregion")
    env = h.env({"V": s.name}, names=["V"], AWS_REGION=None, AWS_DEFAULT_REGION="us-east-1")
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"V": s.value})


def test_region_comes_from_the_arn(h):
    # The name lives in us-east-1 only; AWS_REGION says eu-west-1. The ARN's region must win for the
    # ARN reference (moto picks the region's backend from the request's signing scope).
    s = h.seed("arnregion")
    env = h.env({"V": s.arn}, names=["V"], AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="eu-west-1")
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"V": s.value})
