"""The demo behind scripts/demo: see that script's header."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.motoctl import ARN_PREFIX, MotoServer, allow, policy  # noqa: E402
from support.pki import make_pki  # noqa: E402

REPORT = r"""
import os
for name in sorted(os.environ.get("DEMO_NAMES", "").split(",")):
    value = os.environ.get(name)
    print(f"  {name:<12} {'set, ' + str(len(value)) + ' characters' if value is not None else 'missing'}")
"""


def main(binary):
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the children's
    with tempfile.TemporaryDirectory(prefix="lambda-secrets-demo-") as tmp:
        pki = make_pki(tmp)
        moto = MotoServer(pki, os.path.join(tmp, "moto.log"))
        try:
            run(binary, moto, pki)
        finally:
            moto.stop()


def run(binary, moto, pki):
    print(f"local Secrets Manager and Parameter Store (moto) at {moto.endpoint}, TLS from a throw-away CA")
    with moto.auth_off():
        sm = moto.client("secretsmanager")
        sm.create_secret(Name="demo/db", SecretString=json.dumps({"username": "app", "password": "hunter2", "port": 5432}))
        sm.create_secret(Name="demo/api-key", SecretString="k-123456")
        sm.create_secret(Name="demo/other-team", SecretString="not yours")
        ssm = moto.client("ssm")
        ssm.put_parameter(Name="/demo/db/token", Value="t-0000", Type="SecureString")
        ssm.put_parameter(Name="/demo/app/LOG_LEVEL", Value="debug", Type="String")
        ssm.put_parameter(Name="/demo/app/FEATURES", Value="search,export", Type="StringList")
        iam = moto.client("iam")
        iam.create_user(UserName="fn")
        iam.put_user_policy(UserName="fn", PolicyName="secrets", PolicyDocument=policy(
            allow("secretsmanager:GetSecretValue", [ARN_PREFIX + "demo/db-??????", ARN_PREFIX + "demo/api-key-??????"]),
            allow("secretsmanager:BatchGetSecretValue", "*"),
            allow("ssm:GetParameters", "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db/token"),
            allow("ssm:GetParametersByPath", "arn:aws:ssm:us-east-1:123456789012:parameter/demo/app/"),
        ))
        key = iam.create_access_key(UserName="fn")["AccessKey"]
    moto.set_auth(True)
    print("seeded secrets demo/db (JSON), demo/api-key, demo/other-team, and parameters /demo/db/token")
    print("(SecureString), /demo/app/LOG_LEVEL and /demo/app/FEATURES; the function's IAM user may read")
    print("demo/db, demo/api-key, /demo/db/token and the path /demo/app/, and nothing else\n")

    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.endpoint,
        "AWS_ENDPOINT_URL_SSM": moto.endpoint,
        "AWS_CA_BUNDLE": pki["ca"],
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    command = [binary, sys.executable, "-c", REPORT]

    secrets = {"DB_USER": "demo/db:username", "DB_PASSWORD": "demo/db:password", "DB_PORT": "demo/db:port",
               "API_KEY": "demo/api-key"}
    print("$ LAMBDA_SECRETS='" + json.dumps(secrets) + "' lambda-secrets python3 report.py")
    env = dict(base, LAMBDA_SECRETS=json.dumps(secrets), DEMO_NAMES=",".join(secrets))
    first = subprocess.run(command, env=env)
    print(f"exit code {first.returncode}\n")

    denied = dict(secrets, OTHER="demo/other-team")
    print("$ LAMBDA_SECRETS='{..., \"OTHER\": \"demo/other-team\"}' lambda-secrets python3 report.py")
    env = dict(base, LAMBDA_SECRETS=json.dumps(denied), DEMO_NAMES=",".join(denied))
    second = subprocess.run(command, env=env)
    print(f"exit code {second.returncode} (77: permission; the program never started)\n")

    mixed = {"DB_PASSWORD": "demo/db:password", "DB_TOKEN": "ssm:/demo/db/token"}
    print("$ LAMBDA_SECRETS='" + json.dumps(mixed) + "' lambda-secrets python3 report.py")
    env = dict(base, LAMBDA_SECRETS=json.dumps(mixed), DEMO_NAMES=",".join(mixed))
    third = subprocess.run(command, env=env)
    print(f"exit code {third.returncode}\n")

    expand = ["demo/db", "ssm:/demo/app/"]
    names = ["username", "password", "port", "LOG_LEVEL", "FEATURES"]
    print("$ LAMBDA_SECRETS='" + json.dumps(expand) + "' lambda-secrets python3 report.py   # array form: every key")
    env = dict(base, LAMBDA_SECRETS=json.dumps(expand), DEMO_NAMES=",".join(names))
    fourth = subprocess.run(command, env=env)
    print(f"exit code {fourth.returncode}\n")

    print("$ lambda-secrets --check")
    check = subprocess.run([binary, "--check"], env=dict(base, LAMBDA_SECRETS=json.dumps({**secrets, **mixed})))
    print(f"exit code {check.returncode}")
    if (first.returncode, second.returncode, third.returncode, fourth.returncode, check.returncode) != (0, 77, 0, 0, 0):
        sys.exit("demo: unexpected exit codes")


if __name__ == "__main__":
    main(sys.argv[1])
