"""lambda-secrets as AWS_LAMBDA_EXEC_WRAPPER in front of the real Python runtime interface client.

layer/emulator/runtime_api.py starts `WRAPPER PYTHON -m awslambdaric handler.handler` as a managed
runtime's bootstrap does, and serves the Runtime API; layer/emulator/handler.py answers with the
sha256 of each variable it sees. A failed fetch must look to Lambda like a runtime that exited
during init: no GET /next, no init/error post, and the exit code in the result (Runtime.ExitError).
"""

import hashlib
import json

import pytest


def wrapper_run(emulate, binary, ric_python, task_root, env, *options):
    return emulate([ric_python, "-m", "awslambdaric", "handler.handler"], env,
                   "--wrapper", binary, "--task-root", str(task_root), *options)


def test_handler_sees_the_secrets_through_the_wrapper(h, emulate, binary, ric_python, task_root):
    password = h.sentinel()
    s1 = h.seed("emu-whole")
    s2 = h.seed("emu-json", json.dumps({"password": password, "user": "app"}))
    env = h.env({"API_TOKEN": s1.name, "DB_PASSWORD": f"{s2.name}:password"})
    names = ["API_TOKEN", "DB_PASSWORD", "LAMBDA_SECRETS", "AWS_LAMBDA_EXEC_WRAPPER"]
    e = wrapper_run(emulate, binary, ric_python, task_root, env,
                    "--count", "2", "--event", json.dumps({"names": names}))
    assert e.rc == 0, e
    assert e.result["init_ms"] > 0, e
    assert e.result["exit_code"] is None and e.result["init_error"] is None, e
    for body in e.bodies():
        assert body["sha256"]["API_TOKEN"] == h.sha(s1.value)
        assert body["sha256"]["DB_PASSWORD"] == h.sha(password)
        assert body["sha256"]["LAMBDA_SECRETS"] == h.sha(env["LAMBDA_SECRETS"]), "options reach the runtime unchanged"
        assert body["sha256"]["AWS_LAMBDA_EXEC_WRAPPER"] == h.sha(binary)
        assert body["pid"] == e.result["pid"], "wrapper and runtime must be one process (exec)"
        assert body["remaining_ms"] > 0
    assert len({inv["request_id"] for inv in e.invocations}) == 2


def test_handler_sees_a_parameter_next_to_a_secret(h, emulate, binary, ric_python, task_root):
    from support.motoctl import allow

    token = h.sentinel()
    name = "/" + h.name("emu-param")
    with h.moto.auth_off():
        h.moto.client("ssm").put_parameter(Name=name, Value=token, Type="SecureString")
    s = h.seed("emu-with-param")
    reader = h.make_user(h.name("emu-reader").replace("/", "-"),
                         allow("ssm:GetParameters", "*"), allow("secretsmanager:GetSecretValue", "*"))
    env = h.env({"API_TOKEN": s.name, "DB_TOKEN": f"ssm:{name}"}, creds=reader,
                AWS_ENDPOINT_URL_SSM=h.moto.endpoint)
    e = wrapper_run(emulate, binary, ric_python, task_root, env,
                    "--event", json.dumps({"names": ["API_TOKEN", "DB_TOKEN"]}))
    assert e.rc == 0, e
    (body,) = e.bodies()
    assert body["sha256"]["API_TOKEN"] == h.sha(s.value)
    assert body["sha256"]["DB_TOKEN"] == h.sha(token)
    assert body["pid"] == e.result["pid"]


def test_without_the_wrapper_the_handler_sees_no_secret(h, emulate, ric_python, task_root):
    s = h.seed("emu-nowrap")
    env = h.env({"API_TOKEN": s.name})
    e = emulate([ric_python, "-m", "awslambdaric", "handler.handler"], env, "--task-root", str(task_root))
    assert e.rc == 0, e
    assert e.result["init_ms"] > 0
    (body,) = e.bodies()
    assert "API_TOKEN" not in body["names"]
    assert "LAMBDA_SECRETS" in body["names"]


def test_nothing_to_fetch_execs_at_once(h, emulate, binary, ric_python, task_root):
    env = h.env(None, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    e = wrapper_run(emulate, binary, ric_python, task_root, env)
    assert e.rc == 0, e
    (body,) = e.bodies()
    assert body["pid"] == e.result["pid"]


def assert_init_failed(e, code):
    """What Lambda would see: the runtime never asked for work and the process exited with `code`."""
    assert e.rc == 1, e
    assert e.result["init_ms"] is None, "the runtime must never reach GET /next"
    assert e.invocations == [], e
    assert e.result["init_error"] is None, "lambda-secrets exits; it does not post init/error"
    assert e.result["exit_code"] == code, e
    assert e.result["error_type"] == "Runtime.ExitError", e


def test_missing_secret_fails_init_with_78(h, emulate, binary, ric_python, task_root):
    env = h.env({"API_TOKEN": h.name("emu-missing")})
    e = wrapper_run(emulate, binary, ric_python, task_root, env)
    assert_init_failed(e, 78)
    assert "API_TOKEN" in e.stderr, "the error names the variable"


def test_access_denied_fails_init_with_77(h, emulate, binary, ric_python, task_root):
    s = h.seed("emu-denied")
    nobody = h.make_user(h.name("emu-nobody").replace("/", "-"))  # no policy at all
    env = h.env({"API_TOKEN": s.name}, creds=nobody)
    e = wrapper_run(emulate, binary, ric_python, task_root, env)
    assert_init_failed(e, 77)


def test_no_credentials_fails_init_with_77(h, emulate, binary, ric_python, task_root):
    s = h.seed("emu-nocreds")
    env = h.env({"API_TOKEN": s.name}, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    e = wrapper_run(emulate, binary, ric_python, task_root, env)
    assert_init_failed(e, 77)


# ---------------------------------------------------------------- the emulator itself


def test_emulator_reports_an_init_error_posted_by_the_runtime(emulate, ric_python, task_root):
    e = emulate([ric_python, "-m", "awslambdaric", "nosuchmodule.handler"], {}, "--task-root", str(task_root))
    assert e.rc == 1
    assert e.result["init_ms"] is None
    assert e.result["init_error"]["error_type"] == "Runtime.ImportModuleError", e
    assert e.result["error_type"] == "Runtime.ImportModuleError"


def test_emulator_reports_a_runtime_that_exits_before_next(emulate):
    e = emulate(["sh", "-c", "exit 78"], {})
    assert e.result["exit_code"] == 78 and e.result["error_type"] == "Runtime.ExitError", e
    assert e.result["init_ms"] is None


def test_emulator_reports_init_timeout(emulate):
    e = emulate(["sleep", "30"], {}, "--init-timeout", "0.3")
    assert e.result["error_type"] == "Runtime.InitTimeout", e
    assert e.result["exit_code"] is None


def test_emulator_reports_a_missing_wrapper_as_bootstrap_does(emulate, tmp_path):
    e = emulate(["true"], {}, "--wrapper", str(tmp_path / "nonexistent"))
    assert e.result["exit_code"] == 127 and e.result["error_type"] == "Runtime.ExitError", e


def test_emulator_passes_the_runtime_api_contract(emulate, ric_python, task_root):
    e = emulate([ric_python, "-m", "awslambdaric", "handler.handler"], {}, "--task-root", str(task_root),
                "--count", "3", "--timeout", "20", "--function-name", "fn-x", "--region", "eu-west-1",
                "--event", json.dumps({"names": ["_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME"]}))
    assert e.rc == 0, e
    bodies = e.bodies()
    assert len(bodies) == 3
    for b in bodies:
        assert b["function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:fn-x"
        assert 0 < b["remaining_ms"] <= 20000
        assert b["sha256"]["_HANDLER"] == _sha("handler.handler")
        assert b["sha256"]["LAMBDA_TASK_ROOT"] == _sha(str(task_root))
        assert b["sha256"]["AWS_LAMBDA_FUNCTION_NAME"] == _sha("fn-x")
        assert "AWS_LAMBDA_RUNTIME_API" in b["names"]
    assert [inv["request_id"] for inv in e.invocations] == [b["request_id"] for b in bodies]


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("wrapped", [False, True], ids=["direct", "through-sh-wrapper"])
def test_emulator_measures_init(emulate, ric_python, task_root, tmp_path, wrapped):
    options = ["--task-root", str(task_root)]
    if wrapped:
        w = tmp_path / "wrapper.sh"
        w.write_text('#!/bin/sh\nexec "$@"\n')
        w.chmod(0o755)
        options += ["--wrapper", str(w)]
    e = emulate([ric_python, "-m", "awslambdaric", "handler.handler"], {}, *options)
    assert e.rc == 0, e
    # A number is measured; how large is the benchmark's business (bench/bench.py), not a test's.
    assert isinstance(e.result["init_ms"], (int, float)) and e.result["init_ms"] > 0
