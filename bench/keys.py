"""Array-form expansion at scale (README, "Limits"): secrets holding thousands of keys each, expanded
with `["s0", "s1", ...]`, against a local Secrets Manager (moto over HTTPS). It measures what the
value rules cost once the secrets are fetched, for one or more builds in one interleaved run.

    python3 bench/keys.py BINARY [BINARY...] [--secrets 10] [--keys 6000] [--runs 3]

Each run is a fresh `BINARY --check` (no exec): wall time from spawn to exit. The fetch itself is the
same for every build (one BatchGetSecretValue), so differences between builds are the settling of
keys into variables. A quadratic duplicate check (every key looked up in a list of every key so far)
made 10 secrets of 6,000 keys take seconds; a hash lookup takes microseconds a key.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.motoctl import MotoServer  # noqa: E402
from support.pki import make_pki  # noqa: E402


DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def name_of(secret, key):
    """A variable name unique to (secret, key): a letter for the secret, three base-62 digits."""
    assert secret < 52 and key < 62**3
    first = DIGITS[10 + secret]
    return first + DIGITS[key // 3844] + DIGITS[key // 62 % 62] + DIGITS[key % 62]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--secrets", type=int, default=10)
    ap.add_argument("--keys", type=int, default=6000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lambda-secrets-keys-") as tmp:
        pki = make_pki(tmp)
        moto = MotoServer(pki, os.path.join(tmp, "moto.log"))
        try:
            names = []
            with moto.auth_off():
                sm = moto.client("secretsmanager")
                for s in range(a.secrets):
                    # Four-character keys, distinct across secrets, and empty values: 6,000 of
                    # them stay within Secrets Manager's 64 KiB.
                    doc = {name_of(s, k): "" for k in range(a.keys)}
                    text = json.dumps(doc, separators=(",", ":"))
                    assert len(text) <= 65536, f"{len(text)} bytes: over Secrets Manager's 64 KiB"
                    names.append(sm.create_secret(Name=f"keys/s{s}", SecretString=text)["Name"])
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.endpoint,
                "AWS_CA_BUNDLE": pki["ca"],
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "LAMBDA_SECRETS": json.dumps(names),
                "LAMBDA_SECRETS_TIMEOUT_MS": "60000",
            }
            times = {b: [] for b in a.binaries}
            for _ in range(a.runs):
                for b in a.binaries:
                    start = time.perf_counter()
                    p = subprocess.run([b, "--check"], env=env, capture_output=True, timeout=300)
                    times[b].append(time.perf_counter() - start)
                    lines = p.stdout.decode().count("\n")
                    if p.returncode != 0 or lines != a.secrets * a.keys:
                        sys.exit(f"{b}: exit {p.returncode}, {lines} lines; stderr: {p.stderr.decode()[:500]}")
        finally:
            moto.stop()
    print(f"{a.secrets} secrets x {a.keys} keys = {a.secrets * a.keys} variables, {a.runs} runs each, "
          f"load average {os.getloadavg()[0]:.1f}")
    for b, t in times.items():
        print(f"  {statistics.median(t):8.3f} s median  (min {min(t):.3f}, max {max(t):.3f})  {b}")


if __name__ == "__main__":
    main()
