// fetch.mjs VAR=SECRET_ID... -- COMMAND [ARGS...]
//
// What a TypeScript team would write (compiled to plain ESM): the AWS SDK for JavaScript v3
// Secrets Manager client with the default credential, region and endpoint resolution; one
// GetSecretValue for one secret, BatchGetSecretValue for more (as lambda-secrets does); then
// start the runtime with the values in its environment. Node has no execve before 22.15/23.11,
// so the runtime is a child (stdio inherited) and its exit status becomes ours.
import { spawnSync } from "node:child_process";
import {
  SecretsManagerClient,
  GetSecretValueCommand,
  BatchGetSecretValueCommand,
} from "@aws-sdk/client-secrets-manager";

const args = process.argv.slice(2);
const split = args.indexOf("--");
if (split < 0 || split === args.length - 1) {
  console.error("fetch.mjs: usage: fetch.mjs VAR=ID... -- COMMAND");
  process.exit(1);
}
const wanted = args.slice(0, split).map((p) => {
  const i = p.indexOf("=");
  return [p.slice(0, i), p.slice(i + 1)];
});
const [command, ...commandArgs] = args.slice(split + 1);

const client = new SecretsManagerClient({});
const byId = new Map();
if (wanted.length === 1) {
  const out = await client.send(new GetSecretValueCommand({ SecretId: wanted[0][1] }));
  byId.set(wanted[0][1], out.SecretString);
} else {
  const ids = [...new Set(wanted.map(([, id]) => id))];
  for (let i = 0; i < ids.length; i += 20) {
    const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids.slice(i, i + 20) }));
    if (out.Errors?.length) {
      console.error(`fetch.mjs: ${out.Errors.length} secrets failed: ${out.Errors.map((e) => e.ErrorCode)}`);
      process.exit(1);
    }
    for (const v of out.SecretValues ?? []) byId.set(v.Name, v.SecretString);
  }
}
const env = { ...process.env };
for (const [name, id] of wanted) {
  if (byId.get(id) === undefined) {
    console.error(`fetch.mjs: ${id} missing from the reply`);
    process.exit(1);
  }
  env[name] = byId.get(id);
}
const r = spawnSync(command, commandArgs, { stdio: "inherit", env });
process.exit(r.status ?? 1);
