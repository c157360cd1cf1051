#!/usr/bin/env python3
"""A fast local Secrets Manager over HTTPS for the cold-start benchmark (asyncio, one process).

    fastsm.py --secrets FILE --cert PEM --key PEM [--port 0]

FILE is a JSON object {secret name: SecretString}. The server speaks the awsJson 1.1 wire format of
GetSecretValue and BatchGetSecretValue as the AWS SDKs expect it (X-Amz-Target, the
application/x-amz-json-1.1 content type, x-amzn-RequestId, epoch-seconds dates, the __type error
shape), over HTTP/1.1 with keep-alive and TLS 1.2/1.3 as a real endpoint offers them. Signatures
are not verified (moto does that in the test suite); a request without a SigV4 Authorization header
is refused with MissingAuthenticationTokenException, so a client that forgot to sign is caught.

It prints one JSON line on stdout when listening: {"port": N}. `GET /__stats` (not an AWS path)
answers {"requests": {op: count}, "handling_us": [...]}, the server's own time per request from
the end of the request head to the end of the reply write; `POST /__stats/reset` clears them.
"""

import argparse
import asyncio
import json
import socket
import ssl
import sys
import time
import uuid
from email.utils import formatdate

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
VERSION = "a1b2c3d4-0000-4000-8000-000000000001"
CREATED = 1700000000.123


def arn_of(name):
    return f"{ARN_PREFIX}{name}-AbCdEf"


class Store:
    def __init__(self, secrets):
        self.entries = {}
        for name, value in secrets.items():
            e = {"ARN": arn_of(name), "Name": name, "VersionId": VERSION, "SecretString": value,
                 "VersionStages": ["AWSCURRENT"], "CreatedDate": CREATED}
            for key in (name, arn_of(name), ARN_PREFIX + name):
                self.entries[key] = e
        self.requests = {}
        self.handling_us = []

    def answer(self, op, body):
        """(status, payload dict) for one awsJson call."""
        if op == "GetSecretValue":
            e = self.entries.get(body.get("SecretId"))
            if e is None:
                return 400, not_found()
            return 200, e
        if op == "BatchGetSecretValue":
            ids = body.get("SecretIdList") or []
            if not ids or len(ids) > 20:
                return 400, {"__type": "InvalidParameterException",
                             "message": "SecretIdList must hold 1 to 20 ids."}
            values, errors = [], []
            for secret_id in ids:
                e = self.entries.get(secret_id)
                if e is None:
                    errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                                   "Message": "Secrets Manager can't find the specified secret."})
                else:
                    values.append(e)
            return 200, {"SecretValues": values, "Errors": errors}
        return 400, {"__type": "UnknownOperationException", "message": f"unknown operation {op}"}


def not_found():
    return {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}


def reply(status, payload, content_type="application/x-amz-json-1.1"):
    data = json.dumps(payload, separators=(",", ":")).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    head = (f"HTTP/1.1 {status} {reason}\r\n"
            f"x-amzn-RequestId: {uuid.uuid4()}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n\r\n")
    return head.encode() + data


async def serve_connection(store, reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            t0 = time.perf_counter_ns()
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            length = int(headers.get("content-length") or 0)
            raw = await reader.readexactly(length) if length else b""
            if path.startswith("/__stats"):
                if method == "POST":
                    store.requests, store.handling_us = {}, []
                writer.write(reply(200, {"requests": store.requests, "handling_us": store.handling_us},
                                   "application/json"))
                await writer.drain()
                continue
            op = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
            if method != "POST":
                out = reply(404, {"__type": "UnknownOperationException", "message": f"{method} {path}"})
            elif not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
                out = reply(400, {"__type": "MissingAuthenticationTokenException",
                                  "message": "Missing Authentication Token"})
            else:
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    out = reply(400, {"__type": "SerializationException", "message": "body is not a JSON object"})
                else:
                    store.requests[op] = store.requests.get(op, 0) + 1
                    out = reply(*store.answer(op, body))
            writer.write(out)
            await writer.drain()
            store.handling_us.append(round((time.perf_counter_ns() - t0) / 1000, 1))
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--secrets", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    with open(a.secrets) as f:
        store = Store(json.load(f))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    server = await asyncio.start_server(lambda r, w: serve_connection(store, r, w), "127.0.0.1", a.port,
                                        ssl=ctx, backlog=256)
    for sock in server.sockets:  # accepted connections inherit it (asyncio sets it as well)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
