"""boto3_fetch.py VAR=SECRET_ID... -- COMMAND [ARGS...]

What a Python team would write: a boto3 Secrets Manager client with the default credential,
region and endpoint resolution; one GetSecretValue for one secret, BatchGetSecretValue for more
(as lambda-secrets does); then put the values into the environment and os.execvp the command.
"""

import os
import sys

import boto3

args = sys.argv[1:]
split = args.index("--")
wanted = [p.split("=", 1) for p in args[:split]]
command = args[split + 1:]

client = boto3.client("secretsmanager")
by_id = {}
if len(wanted) == 1:
    by_id[wanted[0][1]] = client.get_secret_value(SecretId=wanted[0][1])["SecretString"]
else:
    ids = sorted({i for _, i in wanted})
    for start in range(0, len(ids), 20):
        out = client.batch_get_secret_value(SecretIdList=ids[start:start + 20])
        if out.get("Errors"):
            sys.exit(f"boto3_fetch: {len(out['Errors'])} secrets failed")
        for v in out["SecretValues"]:
            by_id[v["Name"]] = v["SecretString"]
for name, secret_id in wanted:
    os.environ[name] = by_id[secret_id]
os.execvp(command[0], command)
