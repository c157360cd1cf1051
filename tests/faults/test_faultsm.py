"""The fault server itself (support/faultsm.py), Secrets Manager side, seen from a plain Python client:
each fault does what it says, the selectors pick the requests they say, quotas are token buckets,
counts are right, and the standalone process the benchmark and the storm use starts, answers and
reports. Its SSM side is in test_faultsm_ssm.py, through boto3."""

import base64
import http.client
import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from support.faultsm import BATCH, GET, arn_of

FAULTSM = Path(__file__).resolve().parent.parent / "support" / "faultsm.py"


class Client:
    """One keep-alive connection, signed-looking requests (the server does not check signatures)."""

    def __init__(self, server, ca, key="AKIDFAULTTEST", timeout=5):
        host, port = server.url.split("//", 1)[1].rsplit(":", 1)
        if server.url.startswith("https"):
            ctx = ssl.create_default_context(cafile=ca)
            self.conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=timeout)
        else:
            self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.key = key

    def headers(self, op, signed=True):
        h = {"X-Amz-Target": f"secretsmanager.{op}", "Content-Type": "application/x-amz-json-1.1"}
        if signed:
            h["Authorization"] = f"AWS4-HMAC-SHA256 Credential={self.key}/20260101/us-east-1/secretsmanager/aws4_request"
        return h

    def call(self, op, body, signed=True):
        self.conn.request("POST", "/", json.dumps(body), self.headers(op, signed))
        resp = self.conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()

    def close(self):
        self.conn.close()


@pytest.fixture
def client(pki):
    clients = []

    def make(server, **kw):
        c = Client(server, pki["ca"], **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def test_wire_format_over_https(fsm, client, h):
    a, b = h.sentinel(), h.sentinel().encode() + b"\x00\xff"
    h.registry.add(base64.b64encode(b).decode())
    f = fsm({"w/a": a, "w/b": b})
    assert f.url.startswith("https://localhost:")
    c = client(f)
    status, headers, data = c.call(GET, {"SecretId": "w/a"})
    assert status == 200 and headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-requestid"].startswith("faultsm-")
    reply = json.loads(data)
    assert reply["SecretString"] == a and reply["ARN"] == arn_of("w/a") and reply["Name"] == "w/a"
    status, _, data = c.call(BATCH, {"SecretIdList": [arn_of("w/a"), "w/b", "w/missing"]})
    reply = json.loads(data)
    assert status == 200 and [v["Name"] for v in reply["SecretValues"]] == ["w/a", "w/b"]
    assert "SecretBinary" in reply["SecretValues"][1]
    assert reply["Errors"] == [{"SecretId": "w/missing", "ErrorCode": "ResourceNotFoundException",
                                "Message": "Secrets Manager can't find the specified secret."}]
    status, _, data = c.call(GET, {"SecretId": "w/missing"})
    assert status == 400 and json.loads(data)["__type"] == "ResourceNotFoundException"
    assert f.counts() == {GET: 2, BATCH: 1}
    assert f.snapshot()["by_key"] == {"AKIDFAULTTEST": {GET: {"ok": 2}, BATCH: {"ok": 1}}}


def test_plain_http(fsm, client, h):
    f = fsm({"w/a": h.sentinel()}, tls=False)
    assert f.url.startswith("http://127.0.0.1:")
    assert client(f).call(GET, {"SecretId": "w/a"})[0] == 200


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_connection_faults(fsm, client, h, tls):
    f = fsm({"w/a": h.sentinel()}, tls=tls)
    f.fault("reset", op=GET, times=1)
    with pytest.raises(ConnectionResetError):
        client(f).call(GET, {"SecretId": "w/a"})
    f.fault("close", op=GET, times=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)):
        client(f).call(GET, {"SecretId": "w/a"})
    f.fault("truncate", op=GET, times=1)
    with pytest.raises((http.client.IncompleteRead, ssl.SSLError)):
        client(f).call(GET, {"SecretId": "w/a"})
    assert f.outcomes(GET) == ["reset", "close", "truncate"]


def test_stalls_end_at_the_client_timeout(fsm, client, h):
    # Each connection is made with a generous timeout, so that a slow handshake on a loaded machine is
    # not mistaken for the stall; only the stalled read gets a short one, and the stall is endless.
    f = fsm({"w/a": h.sentinel()})

    def connected(c):
        c.conn.connect()
        c.conn.sock.settimeout(0.3)
        return c

    f.fault("stall_headers", op=GET, times=1)
    with pytest.raises(TimeoutError):
        connected(client(f, timeout=30)).call(GET, {"SecretId": "w/a"})
    f.fault("stall_body", op=GET, times=1)
    c = client(f, timeout=30)
    c.conn.request("POST", "/", json.dumps({"SecretId": "w/a"}), c.headers(GET))
    resp = c.conn.getresponse()  # the headers come
    assert resp.status == 200 and int(resp.getheader("Content-Length")) > 0
    c.conn.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        resp.read()  # the body never ends
    assert f.outcomes(GET) == ["stall_headers", "stall_body"]
    f.stall_handshakes(1)
    with pytest.raises((TimeoutError, socket.timeout)):
        client(f, timeout=0.3).call(GET, {"SecretId": "w/a"})
    assert f.handshake_stalls == 0  # that connection took the stall
    assert client(f).call(GET, {"SecretId": "w/a"})[0] == 200  # the next connection is fine
    assert f.count(GET) == 3


def test_reply_faults(fsm, client, h):
    value = h.sentinel()
    f = fsm({"w/a": value})
    c = client(f)
    f.fault("throttle", op=GET, times=1)
    f.fault("throttle", op=GET, times=1, retry_after_ms=250)
    f.fault("error", op=GET, times=1, code="InternalServiceError", status=500, how="header")
    f.fault("status", op=GET, times=1, status=503)
    f.fault("invalid_json", op=GET, times=1)
    f.fault("content_type", op=GET, times=1, status=502)
    f.fault("slow", op=GET, times=1, seconds=0.05)
    f.fault("clock", op=GET, times=1, code="SignatureDoesNotMatch")
    f.fault("clock", op=GET, times=1, code="RequestExpired")
    got = [c.call(GET, {"SecretId": "w/a"}) for _ in range(10)]
    assert got[0][0] == 400 and json.loads(got[0][2])["__type"] == "ThrottlingException"
    assert "x-amz-retry-after" not in got[0][1]
    assert got[1][1]["x-amz-retry-after"] == "250"
    assert got[2][0] == 500 and got[2][1]["x-amzn-errortype"] == "InternalServiceError"
    assert got[3][0] == 503 and got[3][2] == b""
    assert got[4][0] == 200 and value.encode() in got[4][2]
    with pytest.raises(ValueError):
        json.loads(got[4][2])
    assert got[5][0] == 502 and got[5][1]["content-type"].startswith("text/html")
    assert got[6][0] == 200 and json.loads(got[6][2])["SecretString"] == value
    assert got[7][0] == 403 and b"<Code>SignatureDoesNotMatch</Code>" in got[7][2]
    assert got[8][0] == 400 and json.loads(got[8][2])["__type"] == "RequestExpired"
    assert got[9][0] == 200
    assert f.outcomes(GET) == ["throttle", "throttle", "error", "status", "invalid_json", "content_type",
                               "slow", "clock", "clock", "ok"]


def test_entry_errors(fsm, client, h):
    f = fsm({"w/a": h.sentinel(), "w/b": h.sentinel()})
    f.fault("entry_error", op=BATCH, code="AccessDeniedException", secrets=["w/b"])
    _, _, data = client(f).call(BATCH, {"SecretIdList": ["w/a", "w/b"]})
    reply = json.loads(data)
    assert [v["Name"] for v in reply["SecretValues"]] == ["w/a"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in reply["Errors"]] == [("w/b", "AccessDeniedException")]


def test_selectors(fsm, client, h):
    f = fsm({"w/a": h.sentinel(), "w/b": h.sentinel()}, seed=7)
    f.fault("status", op=GET, secret="w/b", status=500)  # every request for w/b
    f.fault("status", op=GET, nth=(2, 4), status=503)
    rated = f.fault("status", op=BATCH, rate=0.5, status=502)
    c = client(f)
    assert [c.call(GET, {"SecretId": "w/a"})[0] for _ in range(4)] == [200, 503, 200, 503]
    assert c.call(GET, {"SecretId": "w/b"})[0] == 500
    statuses = [c.call(BATCH, {"SecretIdList": ["w/a"]})[0] for _ in range(200)]
    assert 60 < statuses.count(502) == rated.hits < 140
    assert f.counts() == {GET: 5, BATCH: 200}


def test_quotas_are_token_buckets_per_operation(fsm, client, h):
    # A bucket that hardly refills during the test: exactly its burst goes through.
    f = fsm({"w/a": h.sentinel()}, quotas={BATCH: (0.001, 3), GET: (0.001, 5)})
    c = client(f)
    batch = [c.call(BATCH, {"SecretIdList": ["w/a"]}) for _ in range(5)]
    assert [s for s, _, _ in batch] == [200, 200, 200, 400, 400]
    assert json.loads(batch[-1][2]) == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    assert [c.call(GET, {"SecretId": "w/a"})[0] for _ in range(7)] == [200] * 5 + [400] * 2
    assert f.snapshot()["stats"] == {BATCH: {"ok": 3, "quota": 2}, GET: {"ok": 5, "quota": 2}}


def test_quota_refills_at_its_rate(fsm, client, h):
    # The bucket's clock is the test's: no sleeping, and no race with a loaded machine.
    f = fsm({"w/a": h.sentinel()}, quotas={BATCH: (5, 1)})
    now = [1000.0]
    bucket = f.buckets[BATCH]
    bucket.clock, bucket.last = (lambda: now[0]), now[0]
    c = client(f)
    assert [c.call(BATCH, {"SecretIdList": ["w/a"]})[0] for _ in range(2)] == [200, 400]
    now[0] += 0.1  # half a token
    assert c.call(BATCH, {"SecretIdList": ["w/a"]})[0] == 400
    now[0] += 0.4  # 2.5 tokens' worth in all, capped at the burst of 1
    assert [c.call(BATCH, {"SecretIdList": ["w/a"]})[0] for _ in range(2)] == [200, 400]


def test_unsigned_request_is_refused(fsm, client, h):
    f = fsm({"w/a": h.sentinel()})
    status, _, data = client(f).call(GET, {"SecretId": "w/a"}, signed=False)
    assert status == 400 and json.loads(data)["__type"] == "MissingAuthenticationTokenException"
    assert f.outcomes(GET) == ["unsigned"]


def test_reorder_connections_and_requests_in_flight(fsm, client, h):
    f = fsm({f"w/{i}": h.sentinel() for i in range(3)})
    f.fault("reorder", op=BATCH, times=1)
    f.fault("slow", op=GET, seconds=0.3)
    c = client(f)
    _, _, data = c.call(BATCH, {"SecretIdList": ["w/0", "w/1", "w/2"]})
    assert [v["Name"] for v in json.loads(data)["SecretValues"]] == ["w/2", "w/1", "w/0"]
    c.call(GET, {"SecretId": "w/0"})  # the same connection
    assert f.connections == 1 and f.snapshot()["max_in_flight"] == 1
    # Three slow requests on three connections at once: the server sees them in flight together.
    import threading
    threads = [threading.Thread(target=client(f).call, args=(GET, {"SecretId": "w/1"})) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert f.connections == 4 and f.count(GET) == 4
    assert f.snapshot()["max_in_flight"] == 3


def test_standalone_process(pki, h):
    value = h.sentinel()
    proc = subprocess.Popen(
        [sys.executable, str(FAULTSM), "--cert", pki["cert"], "--key", pki["key"], "--batch-rate", "0.001",
         "--burst-seconds", "2000", "--secret", f"w/a={value}",
         "--fault", json.dumps({"fault": "status", "op": GET, "nth": [1], "status": 503})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = json.loads(proc.stdout.readline())
        url = line["url"]
        assert url == f"https://localhost:{line['port']}", line
        server = type("S", (), {"url": url})
        c = Client(server, pki["ca"], key="AKIDSTANDALONE")
        assert c.call(GET, {"SecretId": "w/a"})[0] == 503
        assert json.loads(c.call(GET, {"SecretId": "w/a"})[2])["SecretString"] == value
        assert [c.call(BATCH, {"SecretIdList": ["w/a"]})[0] for _ in range(3)] == [200, 200, 400]
        c.conn.request("GET", "/_faultsm/stats")
        stats = json.loads(c.conn.getresponse().read())
        assert stats["by_key"] == {"AKIDSTANDALONE": {GET: {"status": 1, "ok": 1}, BATCH: {"ok": 2, "quota": 1}}}
        assert stats["requests"] == {GET: 2, BATCH: 3} and stats["connections"] == 1
        assert len(stats["handling_us"]) == 4  # the normal answers and the quota refusal: not the fault
        c.conn.request("POST", "/_faultsm/reset", b"")
        c.conn.getresponse().read()
        c.conn.request("GET", "/_faultsm/stats")
        stats = json.loads(c.conn.getresponse().read())
        assert stats["requests"] == {} and stats["handling_us"] == []
        c.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    h.registry.check(proc.stderr.read(), "stderr", "faultsm")


def test_stop_ends_every_stall(fsm, client, h):
    import threading
    f = fsm({"w/a": h.sentinel()})
    f.fault("stall_headers", op=GET)
    errors = []

    def stalled():
        try:
            client(f, timeout=20).call(GET, {"SecretId": "w/a"})
        except Exception as e:  # noqa: BLE001 - any end will do, as long as it ends
            errors.append(e)

    t = threading.Thread(target=stalled)
    t.start()
    while f.count(GET) == 0:
        t.join(0.01)
    f.stop()
    t.join(30)  # ends at once; the bound only keeps a broken stop() from hanging the suite
    assert not t.is_alive() and errors
