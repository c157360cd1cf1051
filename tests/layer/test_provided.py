"""OS-only runtimes (provided.al2023): layer/examples/provided/bootstrap execs /opt/bin/lambda-secrets,
which execs the function's own runtime binary.

The test runs the shipped bootstrap unchanged: the unpacked layer is bind-mounted on /opt in a
private mount namespace, the task root holds bootstrap, handler.py and `my-binary` (a stand-in
runtime: awslambdaric under this Python). The emulator starts ./bootstrap as Lambda does for
provided runtimes (no exec wrapper), and the handler proves the chain
bootstrap -> lambda-secrets -> my-binary -> runtime ran in one process and saw the secrets.
"""

import shutil
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[2] / "layer" / "examples" / "provided" / "bootstrap"


@pytest.fixture
def provided_task(task_root, ric_python):
    shutil.copy(BOOTSTRAP, task_root / "bootstrap")
    (task_root / "bootstrap").chmod(0o755)
    runtime = task_root / "my-binary"
    runtime.write_text(f'#!/bin/sh\nexec "{ric_python}" -m awslambdaric "$_HANDLER"\n')
    runtime.chmod(0o755)
    return task_root


def test_bootstrap_execs_the_layer_binary_from_opt():
    lines = [ln for ln in BOOTSTRAP.read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == ['exec /opt/bin/lambda-secrets ./my-binary "$@"']
    assert BOOTSTRAP.stat().st_mode & 0o111, "the example bootstrap must be executable"


def test_provided_bootstrap_chain(h, emulate, opt_namespace, layer_opt, native_arch, provided_task):
    s = h.seed("provided")
    env = h.env({"API_TOKEN": s.name})
    e = emulate(["./bootstrap"], env, "--task-root", str(provided_task),
                "--event", '{"names": ["API_TOKEN", "AWS_LAMBDA_EXEC_WRAPPER"]}',
                prefix=opt_namespace(layer_opt[native_arch]))
    assert e.rc == 0, e
    (body,) = e.bodies()
    assert body["sha256"]["API_TOKEN"] == h.sha(s.value)
    assert body["sha256"]["AWS_LAMBDA_EXEC_WRAPPER"] is None, "provided runtimes have no exec wrapper"
    assert body["pid"] == e.result["pid"], "bootstrap, lambda-secrets and the runtime must be one process"
    assert e.result["init_ms"] > 0


def test_provided_bootstrap_failed_fetch_fails_init(h, emulate, opt_namespace, layer_opt, native_arch, provided_task):
    env = h.env({"API_TOKEN": h.name("provided-missing")})
    e = emulate(["./bootstrap"], env, "--task-root", str(provided_task), prefix=opt_namespace(layer_opt[native_arch]))
    assert e.result["init_ms"] is None and e.invocations == [], e
    assert e.result["exit_code"] == 78 and e.result["error_type"] == "Runtime.ExitError", e
