"""Test handler: reports which environment variables the function received, never their values.

Returns the names of all variables and, for every variable (or only those named in the event's
"names" list), its sha256 hex digest (null when unset), plus the context fields that prove the runtime really ran it under the Runtime API.
The test compares the digest with the digest of the value it stored in Secrets Manager.
"""

import hashlib
import os

INIT_PID = os.getpid()  # recorded at import, i.e. during Lambda's init phase


def _digest(value):
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def handler(event, context):
    names = (event or {}).get("names") if isinstance(event, dict) else None
    wanted = sorted(os.environ) if names is None else names
    return {
        "names": sorted(os.environ),
        "sha256": {n: _digest(os.environ[n]) if n in os.environ else None for n in wanted},
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "init_pid": INIT_PID,
    }
