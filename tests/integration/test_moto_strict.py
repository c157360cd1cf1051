"""The strict launcher itself (tests/support/moto_strict.py), through boto3: if these fail, the binary's
permission tests prove nothing."""

import json
import ssl
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support.motoctl import ARN_PREFIX, Creds, allow


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
    # The pitfall from test-env.md: the harness always sends Content-Type: text/plain.
    ctx = ssl.create_default_context(cafile=h.ca)
    req = urllib.request.Request(h.moto.endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, context=ctx) as resp:
        assert json.loads(resp.read())["status"] == "ok"
