#!/usr/bin/env python3
"""The command lambda-secrets execs in the tests.

Prints one JSON object to stdout: {"pid", "argv", "env": {NAME: sha256 hex of the value, or null}}
for the names listed (comma separated) in ENVREPORT_NAMES. Only hashes: never a value.
With ENVREPORT_STDIN=1 it also reads stdin to the end and adds "stdin": its sha256 hex.
"""

import hashlib
import json
import os
import sys


def main():
    names = [n for n in os.environ.get("ENVREPORT_NAMES", "").split(",") if n]
    env = {}
    for name in names:
        value = os.environb.get(name.encode())
        env[name] = None if value is None else hashlib.sha256(value).hexdigest()
    report = {"pid": os.getpid(), "argv": sys.argv, "env": env}
    if os.environ.get("ENVREPORT_STDIN") == "1":
        report["stdin"] = hashlib.sha256(sys.stdin.buffer.read()).hexdigest()
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
