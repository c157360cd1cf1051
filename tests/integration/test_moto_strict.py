"""The strict launcher itself (tests/support/moto_strict.py), through boto3: if these fail, the binary's
permission tests prove nothing."""

import json
import ssl
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support.motoctl import ACCOUNT, ARN_PREFIX, REGION, Creds, allow


@pytest.fixture(scope="module")
def world(h):
    w = {}
    w["one"] = h.seed("strict-one")
    w["two"] = h.seed("strict-two")
    w["two_extra"] = h.seed("strict-two-extra", name=w["two"].name + "-extra")
    w["three"] = h.seed("strict-three")
    w["ghost"] = h.name("strict-ghost")
    w["creds"] = h.make_user(
        f"it-strict-{w['one'].name.rsplit('/', 1)[1]}",
        allow("secretsmanager:getsecretvalue", [w["one"].arn, f"{ARN_PREFIX}{w['two'].name}-??????",
                                                f"{ARN_PREFIX}{w['ghost']}-??????"]),
        allow("secretsmanager:BatchGetSecretValue", "*"),
    )
    return w


def sm(h, creds):
    return h.moto.client("secretsmanager", creds.key, creds.secret, creds.token)


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]


def test_resource_level_grants(h, world):
    c = sm(h, world["creds"])
    for sid in [world["one"].name, world["one"].arn, world["one"].partial_arn, world["two"].name]:
        assert c.get_secret_value(SecretId=sid)["Name"] in (world["one"].name, world["two"].name)
    for sid in [world["three"].name, world["two_extra"].name, h.name("strict-nothere")]:
        code, meta = code_of(lambda: c.get_secret_value(SecretId=sid))
        assert code == "AccessDeniedException" and meta["HTTPStatusCode"] == 400
        assert meta.get("RequestId")
    assert code_of(lambda: c.get_secret_value(SecretId=world["ghost"]))[0] == "ResourceNotFoundException"


def test_batch_per_secret_check(h, world):
    c = sm(h, world["creds"])
    ids = [world["one"].name, world["two"].name, world["three"].name, world["ghost"]]
    out = c.batch_get_secret_value(SecretIdList=ids)
    assert sorted(v["Name"] for v in out["SecretValues"]) == sorted([world["one"].name, world["two"].name])
    assert {e["SecretId"]: e["ErrorCode"] for e in out["Errors"]} == {
        world["three"].name: "AccessDeniedException", world["ghost"]: "ResourceNotFoundException"}


def test_batch_needs_its_own_action(h, world):
    code, meta = code_of(lambda: sm(h, h.nobatch).batch_get_secret_value(SecretIdList=[world["one"].name]))
    assert code == "AccessDeniedException" and meta["HTTPStatusCode"] == 400


def test_explicit_deny_wins(h, world):
    creds = h.make_user(f"it-strict-deny-{world['one'].name.rsplit('/', 1)[1]}",
                        allow("secretsmanager:*", "*"),
                        {"Effect": "Deny", "Action": "secretsmanager:Get*", "Resource": world["one"].arn})
    c = sm(h, creds)
    assert code_of(lambda: c.get_secret_value(SecretId=world["one"].name))[0] == "AccessDeniedException"
    assert c.get_secret_value(SecretId=world["two"].name)


def test_auth_errors_are_aws_json(h, world):
    good = world["creds"]
    for creds, want in [(Creds(good.key, "x" * 40), "InvalidSignatureException"),
                        (Creds("AKIAIOSFODNN7EXAMPLE", "x" * 40), "UnrecognizedClientException"),
                        (Creds(h.creds.key, h.creds.secret, "bad-token"), "UnrecognizedClientException")]:
        code, meta = code_of(lambda: sm(h, creds).get_secret_value(SecretId=world["one"].name))
        assert code == want and meta["HTTPStatusCode"] == 400
        assert meta["HTTPHeaders"]["content-type"].startswith("application/x-amz-json")
        assert meta.get("RequestId")


def test_counts_endpoint(h, world):
    h.moto.reset_counts()
    c = sm(h, world["creds"])
    c.get_secret_value(SecretId=world["one"].name)
    c.batch_get_secret_value(SecretIdList=[world["one"].name, world["two"].name])
    code_of(lambda: sm(h, h.nobatch).batch_get_secret_value(SecretIdList=[world["one"].name]))
    assert h.moto.counts() == {"GetSecretValue": 1, "BatchGetSecretValue": 2, "batch_sizes": [2, 1]}
    h.moto.reset_counts()
    assert h.moto.counts() == {"batch_sizes": []}


def test_reset_auth_body_must_be_text_plain(h):
    # A pitfall of moto's reset-auth endpoint: the harness always sends Content-Type: text/plain.
    ctx = ssl.create_default_context(cafile=h.ca)
    req = urllib.request.Request(h.moto.endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, context=ctx) as resp:
        assert json.loads(resp.read())["status"] == "ok"


# ---------------------------------------------------------------- SSM Parameter Store
# Stock moto authorizes every SSM call against "*"; the launcher evaluates parameter ARNs the way AWS
# does (see the comment block "SSM Parameter Store resources" in tests/support/moto_strict.py).

PARAMETER_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"


@pytest.fixture(scope="module")
def ssm_world(h):
    base = "/" + h.name("strict-ssm")  # /it/strict-ssm/<hex>
    w = {
        "host": f"{base}/prod/db/host",
        "password": f"{base}/prod/db/password",
        "other": f"{base}/prod/other",
        "plain": f"it-strict-plain-{base.rsplit('/', 1)[1]}",  # no leading '/': ARN ...:parameter/<name>
        "db_path": f"{base}/prod/db",
        "prod_path": f"{base}/prod",
    }
    with h.moto.auth_off():
        ssm = h.moto.client("ssm")
        ssm.put_parameter(Name=w["host"], Value=h.sentinel(), Type="String")
        ssm.put_parameter(Name=w["password"], Value=h.sentinel(), Type="SecureString")
        ssm.put_parameter(Name=w["other"], Value=h.sentinel(), Type="String")
        ssm.put_parameter(Name=w["plain"], Value=h.sentinel(), Type="String")
    w["creds"] = h.make_user(
        f"it-strict-ssm-{base.rsplit('/', 1)[1]}",
        allow("ssm:GetParameters", [f"{PARAMETER_ARN}{base}/prod/db/*", f"{PARAMETER_ARN}/{w['plain']}"]),
        allow("ssm:GetParametersByPath", f"{PARAMETER_ARN}{w['db_path']}"),
    )
    return w


def ssm(h, creds):
    return h.moto.client("ssm", creds.key, creds.secret, creds.token)


def names_of(reply):
    return sorted(p["Name"] for p in reply["Parameters"])


def test_ssm_parameter_arns_are_enforced(h, ssm_world):
    w = ssm_world
    c = ssm(h, w["creds"])
    # A role scoped to parameter/.../prod/db/* reads what is under it, by name, by ARN and with a
    # selector (the selector is not part of the resource), and a plain name through parameter/<name>.
    for name in [w["host"], f"{w['host']}:1", f"{PARAMETER_ARN}{w['host']}", w["plain"]]:
        out = c.get_parameters(Names=[name], WithDecryption=True)
        assert len(out["Parameters"]) == 1 and out["InvalidParameters"] == [], name
    out = c.get_parameters(Names=[w["host"], w["password"]], WithDecryption=True)
    assert names_of(out) == sorted([w["host"], w["password"]])
    # An allowed resource that does not exist is InvalidParameters, as on AWS.
    missing = f"{w['db_path']}/missing"
    assert c.get_parameters(Names=[missing])["InvalidParameters"] == [missing]
    # The neighbour outside the scope is refused.
    code, meta = code_of(lambda: c.get_parameters(Names=[w["other"]]))
    assert code == "AccessDeniedException" and meta["HTTPStatusCode"] == 400
    assert meta["HTTPHeaders"]["content-type"].startswith("application/x-amz-json") and meta.get("RequestId")


def test_ssm_get_parameters_with_one_denied_name_is_refused_whole(h, ssm_world):
    w = ssm_world
    c = ssm(h, w["creds"])
    with pytest.raises(ClientError) as e:
        c.get_parameters(Names=[w["host"], w["other"], w["password"]], WithDecryption=True)
    err = e.value.response
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert f"ssm:GetParameters on resource: {PARAMETER_ARN}{w['other']}" in err["Error"]["Message"]
    assert "Parameters" not in err  # nothing of the allowed names comes back


def test_ssm_get_parameters_by_path_is_authorized_against_the_path(h, ssm_world):
    w = ssm_world
    c = ssm(h, w["creds"])
    out = c.get_parameters_by_path(Path=w["db_path"], Recursive=False, WithDecryption=True)
    assert names_of(out) == sorted([w["host"], w["password"]])
    # The parent path is another resource, although the parameters under it are allowed one by one;
    # and the path is evaluated as sent: ".../prod/db/" is not ".../prod/db".
    for path in [w["prod_path"], w["db_path"] + "/"]:
        code, _ = code_of(lambda: c.get_parameters_by_path(Path=path, Recursive=False))
        assert code == "AccessDeniedException", path
    # Each action is authorized on its own: GetParameters on the names gives no GetParametersByPath.
    only_get = h.make_user(f"it-strict-ssm-get-{w['plain'].rsplit('-', 1)[1]}",
                           allow("ssm:GetParameters", f"{PARAMETER_ARN}{w['db_path']}/*"))
    code, _ = code_of(lambda: ssm(h, only_get).get_parameters_by_path(Path=w["db_path"]))
    assert code == "AccessDeniedException"


def test_ssm_deny_on_a_parameter_does_not_stop_its_path(h, ssm_world):
    """AWS's documented consequence of path authorization: a Deny on /a/b does not stop
    GetParametersByPath on /a from returning /a/b."""
    w = ssm_world
    creds = h.make_user(f"it-strict-ssm-deny-{w['plain'].rsplit('-', 1)[1]}",
                        allow("ssm:GetParameter*", f"{PARAMETER_ARN}{w['db_path']}*"),
                        {"Effect": "Deny", "Action": "ssm:GetParameter*", "Resource": f"{PARAMETER_ARN}{w['host']}"})
    c = ssm(h, creds)
    assert code_of(lambda: c.get_parameters(Names=[w["host"]]))[0] == "AccessDeniedException"
    assert names_of(c.get_parameters_by_path(Path=w["db_path"])) == sorted([w["host"], w["password"]])
