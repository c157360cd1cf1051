"""The fault server's SSM Parameter Store side (support/faultsm.py), seen through boto3, whose model
(botocore's data/ssm/2014-11-06/service-2.json) parses every reply: GetParameters with names,
selectors and ARNs, GetParametersByPath with paging, each fault on both operations, the quota they
share, and the record of what each request named. No binary runs here, so the values are plain
markers (`value:<name>`), not sentinels: a failed comparison may show them."""

import datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from support.faultsm import BY_PATH, GET, PARAMS, SSM_READS, ssm_arn

OTHER_ACCOUNT_ARN = "arn:aws:ssm:us-east-1:210987654321:parameter/shared/token"


@pytest.fixture
def ssm(pki):
    """ssm(server, **config) -> a boto3 SSM client for it: no retries, the test CA."""
    def make(server, **config):
        return boto3.client(
            "ssm", endpoint_url=server.url, region_name="us-east-1", verify=pki["ca"],
            aws_access_key_id="AKIDSSMTEST", aws_secret_access_key="not-checked",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config))
    return make


@pytest.fixture
def params():
    """Parameters of every kind: /app/db/* (3), /app/nested/deep, host, a versioned one with a label,
    and one shared from another account (reachable by its ARN only)."""
    return {
        "/app/db/host": "value:/app/db/host",
        "/app/db/password": {"value": "value:/app/db/password", "type": "SecureString"},
        "/app/db/hosts": {"value": "a,b,c", "type": "StringList"},
        "/app/nested/deep": "value:/app/nested/deep",
        "host": "value:host",
        "/app/flags": {"versions": ["flags-v1", "flags-v2", "flags-v3"], "labels": {"live": 2}},
        OTHER_ACCOUNT_ARN: "value:shared",
    }


def value_of(spec, version=None):
    if isinstance(spec, dict):
        versions = spec.get("versions") or [spec["value"]]
        return versions[(version or len(versions)) - 1]
    return spec


def test_get_parameters(fsm, ssm, params):
    f = fsm({}, params)
    names = ["/app/db/password", "host", "/app/db/hosts", "/app/flags:1", "/app/flags:live",
             ssm_arn("/app/db/host"), OTHER_ACCOUNT_ARN + ":1", "/app/missing", "/app/flags:9", "/app/flags:nolabel",
             ]
    reply = ssm(f).get_parameters(Names=names, WithDecryption=True)
    assert reply["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"].startswith("faultsm-")
    got = {(p["Name"], p.get("Selector")): p for p in reply["Parameters"]}
    assert [p["Name"] for p in reply["Parameters"]] == sorted(p["Name"] for p in reply["Parameters"])
    assert set(got) == {("/app/db/password", None), ("host", None), ("/app/db/hosts", None), ("/app/flags", ":1"),
                        ("/app/flags", ":live"), (ssm_arn("/app/db/host"), None), (OTHER_ACCOUNT_ARN, ":1")}
    assert reply["InvalidParameters"] == ["/app/missing", "/app/flags:9", "/app/flags:nolabel"]
    secure = got[("/app/db/password", None)]
    assert secure["Type"] == "SecureString" and secure["Value"] == value_of(params["/app/db/password"])
    assert secure["Version"] == 1 and secure["ARN"] == ssm_arn("/app/db/password") and secure["DataType"] == "text"
    assert isinstance(secure["LastModifiedDate"], datetime.datetime)
    assert got[("/app/db/hosts", None)]["Type"] == "StringList"
    assert got[("host", None)]["ARN"] == "arn:aws:ssm:us-east-1:123456789012:parameter/host"
    assert got[("/app/flags", ":1")]["Value"] == value_of(params["/app/flags"], 1)
    assert got[("/app/flags", ":live")]["Value"] == value_of(params["/app/flags"], 2)
    assert got[("/app/flags", ":live")]["Version"] == 2
    # Asked by ARN, named by ARN; the shared parameter is not reachable by its bare name.
    assert got[(ssm_arn("/app/db/host"), None)]["Value"] == value_of(params["/app/db/host"])
    assert got[(OTHER_ACCOUNT_ARN, ":1")]["ARN"] == OTHER_ACCOUNT_ARN
    assert ssm(f).get_parameters(Names=["/shared/token"])["InvalidParameters"] == ["/shared/token"]
    assert f.requests(PARAMS) == [names, ["/shared/token"]]
    assert f.calls[0].body == {"Names": names, "WithDecryption": True}
    assert f.calls[0].headers["x-amz-target"] == "AmazonSSM.GetParameters"


def test_get_parameters_takes_at_most_ten_names(fsm, ssm, params):
    f = fsm({}, params)
    with pytest.raises(ClientError) as e:
        ssm(f).get_parameters(Names=[f"/p{i}" for i in range(11)])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_parameters_by_path_pages(fsm, ssm):
    under = {f"/app/p{i:02d}": f"value:{i}" for i in range(8)}
    f = fsm({}, {**under, "/app/sub/deep": "deep", "/other/x": "x", "/application": "not under /app/"},
            page_size=3)
    pages = list(ssm(f).get_paginator("get_parameters_by_path").paginate(Path="/app/", Recursive=False,
                                                                         WithDecryption=True))
    assert [len(p["Parameters"]) for p in pages] == [3, 3, 2]
    assert [p["Name"] for page in pages for p in page["Parameters"]] == sorted(under)
    assert all("Selector" not in p for page in pages for p in page["Parameters"])
    assert "NextToken" not in pages[-1]
    calls = [c for c in f.calls if c.op == BY_PATH]
    assert [c.ids for c in calls] == [["/app/"]] * 3
    assert "NextToken" not in calls[0].body and all(c.body["NextToken"] for c in calls[1:])
    assert all(c.body["Recursive"] is False and c.body["WithDecryption"] is True for c in calls)
    # MaxResults is honoured below the server's page size, recursion reaches /app/sub/deep.
    client = ssm(f)
    first = client.get_parameters_by_path(Path="/app", MaxResults=2, Recursive=True)
    assert [p["Name"] for p in first["Parameters"]] == ["/app/p00", "/app/p01"]
    names = []
    for page in client.get_paginator("get_parameters_by_path").paginate(Path="/app", Recursive=True):
        names += [p["Name"] for p in page["Parameters"]]
    assert names == sorted([*under, "/app/sub/deep"])
    with pytest.raises(ClientError) as e:
        client.get_parameters_by_path(Path="/app", NextToken="not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"
    assert client.get_parameters_by_path(Path="/nothing/here")["Parameters"] == []


@pytest.mark.parametrize("op", [PARAMS, BY_PATH])
def test_faults_on_both_operations(fsm, ssm, params, op):
    f = fsm({}, params)
    call = (lambda c: c.get_parameters(Names=["host"])) if op == PARAMS else \
        (lambda c: c.get_parameters_by_path(Path="/app/db"))
    f.fault("throttle", op=op, times=1)
    f.fault("error", op=op, times=1)
    f.fault("reset", op=op, times=1)
    f.fault("stall_headers", op=op, times=1)
    f.fault("name_as", op=op, times=1, use="arn")
    client = ssm(f)
    with pytest.raises(ClientError) as e:
        call(client)
    assert e.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        call(client)
    assert e.value.response["Error"]["Code"] == "InternalServerError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        call(client)
    with pytest.raises(ReadTimeoutError):  # the stall is endless; only this read has a short timeout
        call(ssm(f, read_timeout=0.5))
    renamed = call(client)["Parameters"]
    assert renamed and all(p["Name"] == p["ARN"] for p in renamed)
    assert call(client)["Parameters"]
    assert f.outcomes(op) == ["throttle", "error", "reset", "stall_headers", "name_as", "ok"]


def test_invalid_parameters_on_a_200(fsm, ssm, params):
    f = fsm({}, params)
    f.fault("invalid_parameters", op=PARAMS, times=1, names=["host"])
    f.fault("invalid_parameters", op=PARAMS, times=1)
    client = ssm(f)
    reply = client.get_parameters(Names=["host", "/app/db/host"])
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [p["Name"] for p in reply["Parameters"]] == ["/app/db/host"] and reply["InvalidParameters"] == ["host"]
    reply = client.get_parameters(Names=["host", "/app/db/host"])
    assert reply["Parameters"] == [] and reply["InvalidParameters"] == ["host", "/app/db/host"]


def test_paging_faults_pick_a_page(fsm, ssm):
    f = fsm({}, {f"/p/{i}": f"value:{i}" for i in range(5)}, page_size=2)
    f.fault("throttle", op=BY_PATH, nth=[2])
    client = ssm(f)
    first = client.get_parameters_by_path(Path="/p")
    with pytest.raises(ClientError):
        client.get_parameters_by_path(Path="/p", NextToken=first["NextToken"])
    again = client.get_parameters_by_path(Path="/p", NextToken=first["NextToken"])
    assert [p["Name"] for p in again["Parameters"]] == ["/p/2", "/p/3"]
    assert f.outcomes(BY_PATH) == ["ok", "throttle", "ok"]


def test_one_quota_shared_by_both_operations(fsm, ssm, params):
    # A bucket of 3 that hardly refills (0.001/s): 3 calls of either operation, then throttling.
    f = fsm({}, params, quotas={SSM_READS: (0.001, 3)})
    client = ssm(f)
    client.get_parameters(Names=["host"])
    client.get_parameters_by_path(Path="/app/db")
    client.get_parameters(Names=["host"])
    for call in (lambda: client.get_parameters(Names=["host"]), lambda: client.get_parameters_by_path(Path="/app")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert f.snapshot()["stats"] == {PARAMS: {"ok": 2, "quota": 1}, BY_PATH: {"ok": 1, "quota": 1}}
    assert f.snapshot()["by_key"] == {"AKIDSSMTEST": f.snapshot()["stats"]}


def test_both_services_on_one_server(fsm, ssm, params, pki):
    f = fsm({"s/one": "value:s/one"}, params)
    sm = boto3.client("secretsmanager", endpoint_url=f.url, region_name="us-east-1", verify=pki["ca"],
                      aws_access_key_id="AKIDSSMTEST", aws_secret_access_key="not-checked")
    assert sm.get_secret_value(SecretId="s/one")["SecretString"] == "value:s/one"
    assert ssm(f).get_parameters(Names=["host"])["Parameters"][0]["Value"] == value_of(params["host"])
    assert f.counts() == {GET: 1, PARAMS: 1}
    assert [c.service for c in f.calls] == ["secretsmanager", "ssm"]
