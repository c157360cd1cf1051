// fetch.mjs VAR=REF... -- COMMAND [ARGS...]
//
// What a TypeScript team would write (compiled to plain ESM): the AWS SDK for JavaScript v3 clients
// with the default credential, region and endpoint resolution; then start the runtime with the
// values in its environment. A REF is a Secrets Manager secret id, or `ssm:NAME` for a Parameter
// Store parameter (read decrypted). Secrets: one GetSecretValue for one secret, BatchGetSecretValue
// for more (as lambda-secrets does). Parameters: GetParameters with up to 10 names a call,
// WithDecryption. With both, the two services are fetched concurrently (Promise.all), as
// lambda-secrets fetches them in parallel. Each client is loaded only when it is needed. Node has
// no execve before 22.15/23.11, so the runtime is a child (stdio inherited) and its exit status
// becomes ours.
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const split = args.indexOf("--");
if (split < 0 || split === args.length - 1) {
  console.error("fetch.mjs: usage: fetch.mjs VAR=REF... -- COMMAND");
  process.exit(1);
}
const wanted = args.slice(0, split).map((p) => {
  const i = p.indexOf("=");
  return [p.slice(0, i), p.slice(i + 1)];
});
const [command, ...commandArgs] = args.slice(split + 1);
const fail = (msg) => {
  console.error(`fetch.mjs: ${msg}`);
  process.exit(1);
};

async function fetchSecrets(ids) {
  const byId = new Map();
  if (ids.length === 0) return byId;
  const { SecretsManagerClient, GetSecretValueCommand, BatchGetSecretValueCommand } = await import(
    "@aws-sdk/client-secrets-manager"
  );
  const client = new SecretsManagerClient({});
  if (ids.length === 1) {
    const out = await client.send(new GetSecretValueCommand({ SecretId: ids[0] }));
    byId.set(ids[0], out.SecretString);
    return byId;
  }
  for (let i = 0; i < ids.length; i += 20) {
    const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids.slice(i, i + 20) }));
    if (out.Errors?.length) fail(`${out.Errors.length} secrets failed: ${out.Errors.map((e) => e.ErrorCode)}`);
    for (const v of out.SecretValues ?? []) byId.set(v.Name, v.SecretString);
  }
  return byId;
}

async function fetchParameters(names) {
  const byName = new Map();
  if (names.length === 0) return byName;
  const { SSMClient, GetParametersCommand } = await import("@aws-sdk/client-ssm");
  const client = new SSMClient({});
  for (let i = 0; i < names.length; i += 10) {
    const out = await client.send(new GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: true }));
    if (out.InvalidParameters?.length) fail(`parameters not found: ${out.InvalidParameters}`);
    for (const p of out.Parameters ?? []) byName.set(p.Name, p.Value);
  }
  return byName;
}

const refs = wanted.map(([, r]) => r);
const secretIds = [...new Set(refs.filter((r) => !r.startsWith("ssm:")))];
const parameterNames = [...new Set(refs.filter((r) => r.startsWith("ssm:")).map((r) => r.slice(4)))];
const [secrets, parameters] = await Promise.all([fetchSecrets(secretIds), fetchParameters(parameterNames)]);

const env = { ...process.env };
for (const [name, r] of wanted) {
  const value = r.startsWith("ssm:") ? parameters.get(r.slice(4)) : secrets.get(r);
  if (value === undefined) fail(`${r} missing from the reply`);
  env[name] = value;
}
const r = spawnSync(command, commandArgs, { stdio: "inherit", env });
process.exit(r.status ?? 1);
