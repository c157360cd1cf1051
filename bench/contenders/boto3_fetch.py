"""boto3_fetch.py VAR=REF... -- COMMAND [ARGS...]

What a Python team would write: boto3 clients with the default credential, region and endpoint
resolution; then put the values into the environment and os.execvp the command. A REF is a Secrets
Manager secret id, or `ssm:NAME` for a Parameter Store parameter (read decrypted). Secrets: one
GetSecretValue for one secret, BatchGetSecretValue for more (as lambda-secrets does). Parameters:
get_parameters with up to 10 names a call, WithDecryption. With both, the secrets are fetched first,
then the parameters, one after the other, as a plain script does.
"""

import os
import sys

import boto3

args = sys.argv[1:]
split = args.index("--")
wanted = [p.split("=", 1) for p in args[:split]]
command = args[split + 1:]

secret_ids = sorted({r for _, r in wanted if not r.startswith("ssm:")})
parameter_names = sorted({r[4:] for _, r in wanted if r.startswith("ssm:")})
by_ref = {}
if secret_ids:
    client = boto3.client("secretsmanager")
    if len(secret_ids) == 1:
        by_ref[secret_ids[0]] = client.get_secret_value(SecretId=secret_ids[0])["SecretString"]
    else:
        for start in range(0, len(secret_ids), 20):
            out = client.batch_get_secret_value(SecretIdList=secret_ids[start:start + 20])
            if out.get("Errors"):
                sys.exit(f"boto3_fetch: {len(out['Errors'])} secrets failed")
            for v in out["SecretValues"]:
                by_ref[v["Name"]] = v["SecretString"]
if parameter_names:
    ssm = boto3.client("ssm")
    for start in range(0, len(parameter_names), 10):
        out = ssm.get_parameters(Names=parameter_names[start:start + 10], WithDecryption=True)
        if out.get("InvalidParameters"):
            sys.exit(f"boto3_fetch: parameters not found: {out['InvalidParameters']}")
        for p in out["Parameters"]:
            by_ref["ssm:" + p["Name"]] = p["Value"]
for name, ref in wanted:
    os.environ[name] = by_ref[ref]
os.execvp(command[0], command)
