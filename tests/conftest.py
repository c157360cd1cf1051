"""Session fixtures for the integration tests of lambda-secrets.

One strict-IAM moto launcher over HTTPS per session (tests/support/moto_strict.py), the binary built
once, and a `Harness` (fixture `h`) that seeds secrets with a unique sentinel in every value and runs the
binary with a clean environment, checking every output for leaked values.

Enforcement is ON while tests run; seeding and IAM set-up switch it off briefly (`moto.auth_off()`).
"""

import base64
import json
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.credserver import ContainerCredentialsServer
from support.motoctl import ACCOUNT, ARN_PREFIX, REGION, Creds, MotoServer, allow, free_port, policy
from support.pki import make_pki
from support.runner import Runner, sha
from support.sentinels import SentinelRegistry

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).resolve().parent / "support"


# ---------------------------------------------------------------- the binary


@pytest.fixture(scope="session")
def binary():
    """$LAMBDA_SECRETS_BIN, or `cargo build` once and target/debug/lambda-secrets."""
    given = os.environ.get("LAMBDA_SECRETS_BIN")
    if given:
        path = Path(given).resolve()
        assert path.is_file(), f"LAMBDA_SECRETS_BIN={given} is not a file"
        return str(path)
    build = subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"cargo build failed:\n{build.stderr[-4000:]}", pytrace=False)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    return str(target / "debug" / "lambda-secrets")


@pytest.fixture(scope="session")
def crate_version():
    """scripts/version: the one reader of the crate's version."""
    return subprocess.run([ROOT / "scripts" / "version"], capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------- processes the tests start


@pytest.fixture(scope="session")
def bindir(tmp_path_factory):
    """A directory on the binary's PATH with `envreport` (envreport.py with this Python as interpreter)."""
    d = tmp_path_factory.mktemp("bin")
    src = (SUPPORT / "envreport.py").read_text().split("\n", 1)[1]
    script = d / "envreport"
    script.write_text(f"#!{sys.executable}\n{src}")
    script.chmod(0o755)
    return d


@pytest.fixture(scope="session")
def registry():
    return SentinelRegistry()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def moto(pki, tmp_path_factory):
    server = MotoServer(pki, tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@dataclass
class Secret:
    name: str
    arn: str
    version_id: str
    value: object = field(default=None, repr=False)  # str or bytes as seeded; never shown

    @property
    def partial_arn(self):
        return self.arn.rsplit("-", 1)[0]  # the ARN without the random 6-character suffix


class Harness:
    """What a test needs: seeding, principals, the environment for the binary, and `run`."""

    def __init__(self, moto, runner, registry, pki, bindir, tmp):
        self.moto = moto
        self.runner = runner
        self.registry = registry
        self.ca = pki["ca"]
        self.bindir = bindir
        self.tmp = tmp
        self.envreport = str(bindir / "envreport")
        with moto.auth_off():
            iam, sts = moto.client("iam"), moto.client("sts")
            # The function's role, as Lambda's are: trusted by the lambda service (assumed with
            # enforcement off: moto refuses a Service principal while enforcing), may read every secret of the account and batch.
            iam.create_role(
                RoleName="it-fn",
                AssumeRolePolicyDocument=policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "lambda.amazonaws.com"}}),
            )
            iam.put_role_policy(
                RoleName="it-fn", PolicyName="secrets",
                PolicyDocument=policy(
                    allow("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:*"),
                    allow("secretsmanager:BatchGetSecretValue", "*"),
                ),
            )

            def assume(session):
                c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/it-fn", RoleSessionName=session)
                c = c["Credentials"]
                return Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

            self.creds = assume("lambda")  # the main path: assumed-role keys + session token
            self.container_creds = assume("container")  # what the credentials server hands out
        self.nobatch = self.make_user(
            "it-nobatch", allow("secretsmanager:GetSecretValue", f"{ARN_PREFIX}*")
        )
        moto.set_auth(True)

    # -- principals and seeding (enforcement off for the duration)
    def make_user(self, name, *statements):
        with self.moto.auth_off():
            iam = self.moto.client("iam")
            iam.create_user(UserName=name)
            if statements:
                iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
            k = iam.create_access_key(UserName=name)["AccessKey"]
        return Creds(k["AccessKeyId"], k["SecretAccessKey"])

    def sentinel(self):
        return self.registry.new()

    def name(self, hint):
        return f"it/{hint}/{uuid.uuid4().hex[:8]}"

    def seed(self, hint, value=None, binary=None, name=None, region=REGION):
        """Create a secret; `value` (str) or `binary` (bytes) must carry a sentinel (default: one)."""
        if value is None and binary is None:
            value = self.sentinel()
        if binary is not None:
            assert self.registry.find(binary), "a seeded binary value must carry a sentinel"
            self.registry.add(base64.b64encode(binary).decode())
            kwargs = {"SecretBinary": binary}
        else:
            assert self.registry.find(value), "a seeded value must carry a sentinel"
            kwargs = {"SecretString": value}
        with self.moto.auth_off():
            sm = self.moto.client("secretsmanager", region=region)
            out = sm.create_secret(Name=name or self.name(hint), **kwargs)
        return Secret(out["Name"], out["ARN"], out["VersionId"], binary if binary is not None else value)

    def put_value(self, secret, value):
        """A new AWSCURRENT version (the old one becomes AWSPREVIOUS); returns its version id."""
        assert self.registry.find(value)
        with self.moto.auth_off():
            out = self.moto.client("secretsmanager").put_secret_value(SecretId=secret.arn, SecretString=value)
        return out["VersionId"]

    def delete(self, secret):
        """Schedule deletion (the secret then answers InvalidRequestException)."""
        with self.moto.auth_off():
            self.moto.client("secretsmanager").delete_secret(SecretId=secret.arn, RecoveryWindowInDays=7)

    # -- the binary
    def env(self, secrets=None, names=(), creds=None, **extra):
        """Environment for a run against moto: endpoint, CA, region, credentials, LAMBDA_SECRETS.

        `secrets` is a dict/list (JSON-encoded here) or a str used verbatim; `names` are the
        variables envreport hashes. `extra` adds or (with None) removes variables.
        """
        e = {
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.moto.endpoint,
            "AWS_CA_BUNDLE": self.ca,
            "AWS_REGION": REGION,
            **(creds or self.creds).env(),
            "ENVREPORT_NAMES": ",".join(names),
        }
        if secrets is not None:
            e["LAMBDA_SECRETS"] = secrets if isinstance(secrets, str) else json.dumps(secrets)
        e.update(extra)
        return e

    def run(self, args, env=None, timeout=30, input=None):
        return self.runner.run(args, env, timeout=timeout, input=input)

    def run_cmd(self, env, *args, timeout=30, input=None):
        """`lambda-secrets envreport ARGS...`"""
        return self.run(["envreport", *args], env, timeout=timeout, input=input)

    def credentials_server(self, token="container-token-1", creds=None):
        return ContainerCredentialsServer((creds or self.container_creds).as_container(), token)

    @staticmethod
    def closed_port():
        return free_port()

    @staticmethod
    def sha(value):
        return sha(value)


@pytest.fixture(scope="session")
def h(binary, moto, registry, pki, bindir, tmp_path_factory):
    path = f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    runner = Runner(binary, path, registry, moto)
    return Harness(moto, runner, registry, pki, bindir, tmp_path_factory.mktemp("work"))


@pytest.fixture
def creds_server(h):
    """A fresh container credentials server per test (token `container-token-1`)."""
    server = h.credentials_server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_stray_auth_state(request):
    """Enforcement must be on whenever a test that uses the launcher starts."""
    if "h" in request.fixturenames:
        request.getfixturevalue("moto").set_auth(True)
    yield


@pytest.fixture
def hanging_port():
    """A port that accepts TCP connections (kernel backlog) but never reads or answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s.getsockname()[1]
    s.close()
