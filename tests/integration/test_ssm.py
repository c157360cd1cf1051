"""Parameter Store references (README, "SSM Parameter Store references") against moto over HTTPS
with authentication on: the three value types, selectors, JSON keys, GetParameters in tens, path
expansion with paging, mixed with secrets, errors and exit codes, and nothing partial.

Every seeded value carries a sentinel; the Runner fails a test whose output shows one.
"""

import uuid

import pytest

from support.motoctl import ACCOUNT, REGION, allow
from support.runner import assert_no_command, expect_env, lines_with


@pytest.fixture(scope="module")
def reader(h):
    """A principal that may read every parameter and secret of the account."""
    return h.make_user(
        f"it-ssm-{uuid.uuid4().hex[:8]}",
        allow("ssm:GetParameters", "*"),
        allow("ssm:GetParametersByPath", "*"),
        allow("secretsmanager:GetSecretValue", "*"),
        allow("secretsmanager:BatchGetSecretValue", "*"),
    )


def put(h, name, value, type_="String", **kw):
    """Create or overwrite a parameter; returns its version."""
    assert h.registry.find(value), "a seeded parameter value must carry a sentinel"
    with h.moto.auth_off():
        return h.moto.client("ssm").put_parameter(Name=name, Value=value, Type=type_, Overwrite=True, **kw)[
            "Version"
        ]


def base(hint):
    return f"/it/{hint}/{uuid.uuid4().hex[:8]}"


def env(h, reader, refs, names=(), **extra):
    return h.env(refs, names=names, creds=reader, **{"AWS_ENDPOINT_URL_SSM": h.moto.endpoint, **extra})


def test_string_stringlist_and_securestring_are_injected_as_stored(h, reader):
    b = base("types")
    plain, listed, secure = h.sentinel(), f"{h.sentinel()},b,c", h.sentinel()
    put(h, f"{b}/host", plain)
    put(h, f"{b}/list", listed, "StringList")
    put(h, f"{b}/pw", secure, "SecureString")
    secret = h.seed("ssm-mixed")
    refs = {"HOST": f"ssm:{b}/host", "LIST": f"ssm:{b}/list", "PW": f"ssm:{b}/pw", "S": secret.name}
    r = h.run_cmd(env(h, reader, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"HOST": plain, "LIST": listed, "PW": secure, "S": secret.value})
    assert r.count("GetParameters") == 1, r
    assert r.count("GetSecretValue") == 1, r
    assert lines_with(r, "injected 4 variables from 1 secret and 3 parameters, 2 requests"), r


def test_version_and_label_selectors(h, reader):
    name = base("sel") + "/token"
    first, second = h.sentinel(), h.sentinel()
    put(h, name, first)
    put(h, name, second)
    with h.moto.auth_off():
        h.moto.client("ssm").label_parameter_version(Name=name, ParameterVersion=1, Labels=["old"])
    refs = {"V1": f"ssm:{name}:1", "OLD": f"ssm:{name}:old", "NOW": f"ssm:{name}"}
    r = h.run_cmd(env(h, reader, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"V1": first, "OLD": first, "NOW": second})
    # One name with three selectors: three calls, so that each reply is unambiguous.
    assert r.count("GetParameters") == 3, r


def test_check_prints_name_and_resolved_version(h, reader):
    name = base("check") + "/db"
    put(h, name, h.sentinel())
    put(h, name, h.sentinel())
    r = h.run(["--check"], env(h, reader, {"A": f"ssm:{name}:1", "B": f"ssm:{name}"}))
    assert r.rc == 0, r
    assert r.stdout.splitlines() == [f"A\tssm:{name}\t1", f"B\tssm:{name}\t2"], r


def test_json_key_on_a_parameter(h, reader):
    name = base("json") + "/config"
    port = h.sentinel()
    put(h, name, f'{{"port": "{port}", "n": 5432}}', "SecureString")
    refs = {
        "PORT": {"parameter": name, "json_key": "port"},
        "N": {"parameter": name, "json_key": "n"},
        "GONE": {"parameter": name, "json_key": "missing", "optional": True},
    }
    r = h.run_cmd(env(h, reader, refs, names=["PORT", "N", "GONE"]))
    assert r.rc == 0, r
    expect_env(r, {"PORT": port, "N": "5432", "GONE": None})
    assert lines_with(r, "GONE from parameter", "no top-level key", "optional: left out"), r
    r = h.run_cmd(env(h, reader, {"X": {"parameter": name, "json_key": "missing"}}))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, f"X from parameter {name}", 'no top-level key "missing"'), r


def test_get_parameters_in_tens(h, reader):
    b = base("tens")
    values = {f"P{i:02d}": h.sentinel() for i in range(23)}
    for k, v in values.items():
        put(h, f"{b}/{k}", v)
    refs = {k: f"ssm:{b}/{k}" for k in values}
    r = h.run_cmd(env(h, reader, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, values)
    assert r.count("GetParameters") == 3, r
    assert lines_with(r, "injected 23 variables from 23 parameters, 3 requests"), r


def test_array_form_expands_a_json_parameter_and_a_path_with_paging(h, reader):
    b = base("path")
    values = {f"KEY_{i:02d}": h.sentinel() for i in range(13)}
    for k, v in values.items():
        put(h, f"{b}/app/{k}", v, "SecureString" if k.endswith("1") else "String")
    put(h, f"{b}/app/nested/DEEPER", h.sentinel())  # not directly under the path
    doc = h.sentinel()
    put(h, f"{b}/doc", f'{{"FROM_JSON": "{doc}"}}')
    refs = [f"ssm:{b}/app/", {"parameter": f"{b}/doc"}]
    names = [*values, "FROM_JSON", "DEEPER", "nested"]
    r = h.run_cmd(env(h, reader, refs, names=names))
    assert r.rc == 0, r
    expect_env(r, {**values, "FROM_JSON": doc, "DEEPER": None, "nested": None})
    # 13 parameters take two pages of at most 10.
    assert r.count("GetParametersByPath") == 2, r
    assert r.count("GetParameters") == 1, r
    check = h.run(["--check"], env(h, reader, refs))
    assert check.rc == 0, check
    assert f"KEY_00\tssm:{b}/app/KEY_00\t1" in check.stdout.splitlines(), check


@pytest.mark.parametrize("leaf", ["LD_PRELOAD", "NODE_OPTIONS", "AWS_ENDPOINT_URL", "https_proxy", "bad-name"])
def test_a_path_leaf_that_may_not_be_a_variable_is_65(h, reader, leaf):
    b = base("leaf")
    put(h, f"{b}/OK", h.sentinel())
    put(h, f"{b}/{leaf}", h.sentinel())
    r = h.run_cmd(env(h, reader, [f"ssm:{b}/"], names=["OK"]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, f"{leaf} from parameter {b}/{leaf}", "cannot be a variable"), r


def test_an_empty_path_is_65_unless_optional(h, reader):
    b = base("empty")
    r = h.run_cmd(env(h, reader, [f"ssm:{b}/"]))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, f"from parameter path {b}/", "expands to nothing"), r
    r = h.run_cmd(env(h, reader, [{"parameter": f"{b}/", "optional": True}]))
    assert r.rc == 0, r
    assert lines_with(r, "optional: left out"), r


def test_missing_parameter_version_and_label_are_78_naming_each(h, reader):
    b = base("missing")
    put(h, f"{b}/there", h.sentinel())
    refs = {
        "THERE": f"ssm:{b}/there",
        "GONE": f"ssm:{b}/gone",
        "NO_VERSION": f"ssm:{b}/there:9",
        "NO_LABEL": f"ssm:{b}/there:nolabel",
    }
    r = h.run_cmd(env(h, reader, refs, names=list(refs)))
    assert r.rc == 78, r
    assert_no_command(r)
    for var, name in [("GONE", f"{b}/gone"), ("NO_VERSION", f"{b}/there"), ("NO_LABEL", f"{b}/there")]:
        assert lines_with(r, f"{var} from parameter {name}: ParameterNotFound (request id "), r
    assert not lines_with(r, "THERE from"), r
    # Optional: warned about, the rest proceeds.
    opt = {"THERE": f"ssm:{b}/there", "GONE": {"parameter": f"{b}/gone", "optional": True}}
    r = h.run_cmd(env(h, reader, opt, names=["THERE", "GONE"]))
    assert r.rc == 0, r
    assert lines_with(r, "GONE from parameter", "optional: left out"), r


def test_denied_parameters_are_77_and_nothing_starts(h):
    only_secrets = h.make_user(
        f"it-ssm-denied-{uuid.uuid4().hex[:8]}", allow("secretsmanager:GetSecretValue", "*")
    )
    b = base("denied")
    put(h, f"{b}/x", h.sentinel())
    secret = h.seed("ssm-denied")
    r = h.run_cmd(env(h, only_secrets, {"S": secret.name, "X": f"ssm:{b}/x"}, names=["S", "X"]))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, f"X from parameter {b}/x: AccessDenied"), r.lines


def test_general_endpoint_variable_serves_both_services(h, reader):
    name = base("endpoint") + "/p"
    value = h.sentinel()
    put(h, name, value)
    secret = h.seed("ssm-endpoint")
    e = env(h, reader, {"P": f"ssm:{name}", "S": secret.name}, names=["P", "S"])
    e.update(AWS_ENDPOINT_URL=h.moto.endpoint, AWS_ENDPOINT_URL_SSM=None, AWS_ENDPOINT_URL_SECRETS_MANAGER=None)
    r = h.run_cmd(e)
    assert r.rc == 0, r
    expect_env(r, {"P": value, "S": secret.value})


def test_ssm_endpoint_variable_is_read_for_ssm_only(h, reader):
    name = base("endpoint2") + "/p"
    put(h, name, h.sentinel())
    secret = h.seed("ssm-endpoint2")
    e = env(h, reader, {"P": f"ssm:{name}", "S": secret.name}, names=["P", "S"], AWS_MAX_ATTEMPTS="1")
    e["AWS_ENDPOINT_URL_SSM"] = f"https://127.0.0.1:{h.closed_port()}"
    r = h.run_cmd(e)
    assert r.rc == 69, r
    assert_no_command(r)
    assert lines_with(r, f"P from parameter {name}: RequestFailed"), r
    assert not lines_with(r, "S from secret"), r


def test_a_bad_ssm_endpoint_is_refused_only_when_parameters_are_used(h, reader):
    secret = h.seed("ssm-endpoint3")
    e = env(h, reader, {"S": secret.name}, names=["S"], AWS_ENDPOINT_URL_SSM="ftp://nowhere")
    r = h.run_cmd(e)
    assert r.rc == 0, r
    e["LAMBDA_SECRETS"] = '{"S": "%s", "P": "ssm:/x"}' % secret.name
    r = h.run_cmd(e)
    assert r.rc == 78, r
    assert lines_with(r, "AWS_ENDPOINT_URL_SSM"), r
    assert r.counts.get("GetSecretValue", 0) == 0 and r.counts.get("GetParameters", 0) == 0, r


@pytest.mark.parametrize(
    "refs, needle",
    [
        ({"A": "ssm:"}, "parameter name is empty"),
        ({"A": "ssm:/app/"}, "is a parameter path"),
        ({"A": "arn:aws:ssm:us-east-1:1:document/x"}, "not a parameter ARN"),
        (["ssm:/app/:3"], "takes no selector"),
        ([{"parameter": "/app/", "json_key": "k"}], "json_key"),
        ({"A": {"parameter": "/p", "secret_id": "s"}}, "not both"),
        ({"A": {"parameter": "/p", "version_id": "v"}}, "are for secrets"),
    ],
)
def test_malformed_parameter_references_are_78_before_any_request(h, reader, refs, needle):
    r = h.run_cmd(env(h, reader, refs))
    assert r.rc == 78, r
    assert_no_command(r)
    assert lines_with(r, "LAMBDA_SECRETS", needle), r
    assert not any(k for k in r.counts if k != "batch_sizes" and r.counts[k]), r


def test_no_region_for_a_parameter_is_78(h, reader):
    e = env(h, reader, {"A": "ssm:/x"}, AWS_REGION=None, AWS_DEFAULT_REGION=None)
    r = h.run_cmd(e)
    assert r.rc == 78, r
    assert lines_with(r, "no region for parameter /x"), r


def test_the_summary_counts_path_parameters(h, reader):
    b = base("count")
    for k in ["A", "B", "C"]:
        put(h, f"{b}/{k}", h.sentinel())
    r = h.run_cmd(env(h, reader, [f"ssm:{b}/"], names=["A", "B", "C"]))
    assert r.rc == 0, r
    assert lines_with(r, "injected 3 variables from 3 parameters, 1 request"), r


def test_the_signature_uses_the_ssm_service_name(h, reader):
    # moto checks SigV4 (auth is on): a request signed for "secretsmanager" would be refused.
    name = base("sig") + "/p"
    value = h.sentinel()
    put(h, name, value)
    r = h.run_cmd(env(h, reader, {"P": f"ssm:{name}"}, names=["P"]))
    assert r.rc == 0, r
    expect_env(r, {"P": value})
    assert ACCOUNT and REGION


def test_region_comes_from_a_parameter_arn(h, reader):
    name = base("region") + "/p"
    value = h.sentinel()
    assert h.registry.find(value)
    with h.moto.auth_off():
        h.moto.client("ssm", region="eu-west-1").put_parameter(Name=name, Value=value, Type="SecureString")
    arn = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter{name}"
    r = h.run_cmd(env(h, reader, {"P": arn}, names=["P"], AWS_REGION="us-east-1"))
    assert r.rc == 0, r
    expect_env(r, {"P": value})
    check = h.run(["--check"], env(h, reader, {"P": f"{arn}:1"}, AWS_REGION="us-east-1"))
    assert check.stdout.splitlines() == [f"P\tssm:{name}\t1"], check
    # The same name in the default region does not exist there.
    r = h.run_cmd(env(h, reader, {"P": f"ssm:{name}"}, AWS_REGION="us-east-1"))
    assert r.rc == 78, r


def test_one_denied_name_is_reported_alone_and_the_others_proceed(h):
    b = base("scoped")
    user = h.make_user(
        f"it-ssm-scoped-{uuid.uuid4().hex[:8]}",
        allow("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{b}/db/*"),
    )
    a, c = h.sentinel(), h.sentinel()
    put(h, f"{b}/db/a", a)
    put(h, f"{b}/db/c", c)
    put(h, f"{b}/other", h.sentinel())
    refs = {"A": f"ssm:{b}/db/a", "C": f"ssm:{b}/db/c", "OTHER": f"ssm:{b}/other"}
    r = h.run_cmd(env(h, user, refs, names=list(refs)))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, f"OTHER from parameter {b}/other: AccessDenied"), r.lines
    assert not lines_with(r, "A from parameter") and not lines_with(r, "C from parameter"), r
    # The refused call of three, then each name alone.
    assert r.count("GetParameters") == 4, r
    refs["OTHER"] = {"parameter": f"{b}/other", "optional": True}
    r = h.run_cmd(env(h, user, refs, names=["A", "C", "OTHER"]))
    assert r.rc == 0, r
    expect_env(r, {"A": a, "C": c, "OTHER": None})
    assert lines_with(r, "OTHER from parameter", "optional: left out"), r


def test_a_path_outside_the_policy_is_77(h):
    b = base("scopedpath")
    user = h.make_user(
        f"it-ssm-path-{uuid.uuid4().hex[:8]}",
        allow("ssm:GetParametersByPath", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{b}/app*"),
    )
    put(h, f"{b}/app/A", h.sentinel())
    put(h, f"{b}/other/B", h.sentinel())
    r = h.run_cmd(env(h, user, [f"ssm:{b}/app/"], names=["A"]))
    assert r.rc == 0, r
    r = h.run_cmd(env(h, user, [f"ssm:{b}/other/"]))
    assert r.rc == 77, r
    assert lines_with(r, f"from parameter path {b}/other/", "AccessDenied"), r
