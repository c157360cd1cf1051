"""Start, stop and drive moto: the strict-IAM launcher (moto_strict.py) over HTTPS, or a stock
moto_server over plain HTTP (the layer publishing tests)."""

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from .runner import stop_process

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"


def policy(*statements):
    """An IAM policy document (JSON text)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@dataclass(frozen=True)
class Creds:
    key: str
    secret: str
    token: str | None = None

    def env(self):
        e = {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token:
            e["AWS_SESSION_TOKEN"] = self.token
        return e

    def as_container(self):
        return {"AccessKeyId": self.key, "SecretAccessKey": self.secret, "Token": self.token}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (when this returns)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """One launcher process; `endpoint` is https://localhost:PORT, trusted through `ca`.
    With `pki=None, strict=False`: a stock moto_server on http://127.0.0.1:PORT."""

    def __init__(self, pki, log_path, strict=True):
        self.strict = strict
        self.ca = pki["ca"] if pki else None
        self.port = free_port()
        self.endpoint = f"https://localhost:{self.port}" if pki else f"http://127.0.0.1:{self.port}"
        self._ssl = ssl.create_default_context(cafile=self.ca) if pki else None
        env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
        self._log = open(log_path, "wb")
        server = [str(HERE / "moto_strict.py")] if strict else ["-m", "moto.server"]
        tls = ["-c", pki["cert"], "-k", pki["key"]] if pki else []
        self.proc = subprocess.Popen(
            [sys.executable, *server, "-H", "127.0.0.1", "-p", str(self.port), *tls],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )
        self._auth = False
        self._wait_ready()

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto launcher exited with {self.proc.returncode}; see {self._log.name}")
            try:
                self._call("/__counts" if self.strict else "/moto-api/data.json")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        stop_process(self.proc)
        self._log.close()

    # -- plain HTTPS calls to the launcher's own endpoints
    def _call(self, path, data=None, content_type="application/json"):
        req = urllib.request.Request(self.endpoint + path, data=data, method="POST" if data is not None else "GET")
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=self._ssl, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def counts(self):
        """Requests per operation since the last reset, plus "batch_sizes"."""
        return self._call("/__counts")

    def reset_counts(self):
        self._call("/__counts/reset", b"")

    def set_auth(self, on):
        """Enforce SigV4 + IAM (on) or not (off) from the next request on."""
        self._call("/moto-api/reset-auth", b"0" if on else b"inf", "text/plain")
        self._auth = on

    @contextmanager
    def auth_off(self):
        """Seed or set up with enforcement off, then restore the previous state."""
        previous = self._auth
        self.set_auth(False)
        try:
            yield
        finally:
            self.set_auth(previous)

    def client(self, service, key="testing", secret="testing", token=None, region=REGION):
        """A boto3 client against the launcher (explicit CA: this machine's AWS_CA_BUNDLE is ignored)."""
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region, verify=self.ca,
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
