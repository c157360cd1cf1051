"""No secret value in any output, at any level, text or JSON, on success and on failure.

The runner checks every run anyway; this module drives the paths most likely to leak (parse errors
that quote their input, missing keys, NUL bytes, bad keys, denials, --check) at every level, and
proves the detector itself can fail.
"""

import base64
import json

import pytest

from support.motoctl import ARN_PREFIX, allow
from support.sentinels import SentinelRegistry

LEVELS = ["error", "warn", "info", "debug"]
FORMATS = ["Text", "JSON"]


def test_detector_catches_a_planted_sentinel():
    reg = SentinelRegistry()
    s = reg.new()
    raw = b"\x00\xff" + reg.new().encode()
    reg.add(base64.b64encode(raw).decode())
    reg.check("nothing to see here\nlambda-secrets: info: injected 1 variables", "stderr")  # clean: passes
    for fake_output in [f"lambda-secrets: error: bad JSON near '{s}'", f'{{"message": "x {s[:20]}"}}',
                        f"value={s.split('-', 1)[1]}", base64.b64encode(raw).decode(), f"{s.lower()}"]:
        with pytest.raises(pytest.fail.Exception) as caught:
            reg.check(fake_output, "stderr")
        message = str(caught.value)
        assert "stderr" in message
        assert s not in message and s.split("-", 1)[1] not in message and fake_output not in message


def test_runner_fails_a_run_whose_output_carries_a_value(h):
    # End to end: the command itself prints the injected value; the runner must refuse that output.
    s = h.seed("redact-printenv")
    for stream, command in [("stdout", ["printenv", "LEAKY"]), ("stderr", ["sh", "-c", 'echo "$LEAKY" >&2'])]:
        with pytest.raises(pytest.fail.Exception) as caught:
            h.run(command, h.env({"LEAKY": s.name}))
        message = str(caught.value)
        assert stream in message and "SENTINEL-" not in message


def test_detector_knows_every_sentinel_the_harness_made(h):
    s = h.seed("redact-self")
    assert h.registry.find(f"... {s.value} ...")


@pytest.fixture(scope="module")
def leaky(h):
    """Secrets whose failure messages would be tempted to quote the value."""
    x = {}
    x["ok"] = h.seed("redact-ok", '{"k": "%s", "n": {"deep": "%s"}}' % (h.sentinel(), h.sentinel()))
    x["bin"] = h.seed("redact-bin", binary=b"\x01\x02" + h.sentinel().encode())
    x["notjson"] = h.seed("redact-notjson", '{"password": "%s", oops' % h.sentinel())
    x["plain"] = h.seed("redact-plain", "%s not json at all" % h.sentinel())
    x["nokey"] = h.seed("redact-nokey", '{"other": "%s"}' % h.sentinel())
    x["nul"] = h.seed("redact-nul", '{"k": "%s\\u0000%s"}' % (h.sentinel(), h.sentinel()))
    x["badkeys"] = h.seed("redact-badkeys", json.dumps({"GOOD": h.sentinel(), "bad-key": h.sentinel()}))
    x["denied"] = h.seed("redact-denied")
    x["creds"] = h.make_user(
        f"it-redact-{x['ok'].name.rsplit('/', 1)[1]}",
        allow("secretsmanager:GetSecretValue", [f"{ARN_PREFIX}it/redact-*"]),
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": x["denied"].arn},
        allow("secretsmanager:BatchGetSecretValue", "*"),
    )
    return x


def scenarios(x):
    return {
        "success": ({"OK": f"{x['ok'].name}:k", "DEEP": f"{x['ok'].name}:n", "BIN": x["bin"].name,
                     "WHOLE": x["ok"].arn}, 0),
        "data-errors": ({"NOTJSON": f"{x['notjson'].name}:password", "PLAIN": f"{x['plain'].name}:k",
                         "NOKEY": f"{x['nokey'].name}:password", "NUL": f"{x['nul'].name}:k",
                         "BINKEY": f"{x['bin'].name}:k", "OK": f"{x['ok'].name}:k"}, 65),
        "array-errors": ([x["badkeys"].name, x["notjson"].name, x["plain"].name], 65),
        "denied": ({"DENIED": x["denied"].name, "NOKEY": f"{x['nokey'].name}:password",
                    "OPTIONAL": {"secret_id": f"{x['plain'].name}", "json_key": "k", "optional": True}}, 77),
        "optional-only": ({"OK": f"{x['ok'].name}:k",
                           "OPT1": {"secret_id": x["notjson"].name, "json_key": "k", "optional": True},
                           "OPT2": {"secret_id": x["nul"].name, "json_key": "k", "optional": True}}, 0),
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_no_value_in_any_output(h, leaky, level, fmt):
    for name, (secrets, rc) in scenarios(leaky).items():
        for mode in ["auto", "never"]:
            env = h.env(secrets, creds=leaky["creds"], LAMBDA_SECRETS_LOG=level, AWS_LAMBDA_LOG_FORMAT=fmt,
                        LAMBDA_SECRETS_BATCH=mode)
            r = h.run_cmd(env)  # the runner fails the test if a sentinel shows up
            assert r.rc == rc, (name, mode, r)
            c = h.run(["--check"], env)
            assert c.rc == rc, (name, mode, c)
