"""Container images: layer/examples/container/Dockerfile copies bin/lambda-secrets from the layer zip
into the image and makes it the ENTRYPOINT in front of the base image's /lambda-entrypoint.sh.

There is no container engine here, so this checks the Dockerfile's instructions and then runs the
same chain under the emulator: /opt/bin/lambda-secrets (the unpacked layer bind-mounted on /opt)
-> a stand-in for /lambda-entrypoint.sh (tests/layer/lambda-entrypoint.sh: one argument, exports
_HANDLER, execs the runtime) -> awslambdaric -> the example's app.handler, with CMD from the Dockerfile.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "layer" / "examples" / "container"
STANDIN = HERE / "lambda-entrypoint.sh"


def instructions():
    text = re.sub(r"\\\n", " ", (EXAMPLE / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def exec_form(name):
    values = [rest for word, rest in instructions() if word == name]
    assert len(values) == 1, f"exactly one {name} expected"
    return json.loads(values[0])


def test_dockerfile_entrypoint_and_cmd():
    assert exec_form("ENTRYPOINT") == ["/opt/bin/lambda-secrets", "/lambda-entrypoint.sh"]
    assert exec_form("CMD") == ["app.handler"]


def test_dockerfile_copies_the_binary_from_the_layer_zip():
    ins = instructions()
    froms = [rest for word, rest in ins if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS layer")
    assert any(word == "RUN" and "unzip" in rest and "/opt" in rest for word, rest in ins)
    copies = [rest for word, rest in ins if word == "COPY"]
    assert "--from=layer --chmod=0755 /opt/bin/lambda-secrets /opt/bin/lambda-secrets" in copies
    assert any(c.startswith("dist/${LAYER_ZIP}") for c in copies), "the zip comes from scripts/build-layer's dist/"


@pytest.fixture
def image_task(tmp_path):
    d = tmp_path / "var-task"
    d.mkdir()
    shutil.copy(EXAMPLE / "app.py", d / "app.py")
    return d


@pytest.mark.parametrize("with_secret", [True, False], ids=["secret", "no-secret"])
def test_entrypoint_chain(h, emulate, opt_namespace, layer_opt, native_arch, ric_python, image_task, with_secret):
    env = h.env({"DB_PASSWORD": h.seed("container").name} if with_secret else None, LAMBDA_TEST_PYTHON=ric_python)
    command = [*exec_form("ENTRYPOINT"), *exec_form("CMD")]
    command[1] = str(STANDIN)  # /lambda-entrypoint.sh of the base image
    e = emulate(command, env, "--task-root", str(image_task), prefix=opt_namespace(layer_opt[native_arch]))
    assert e.rc == 0, e
    (body,) = e.bodies()
    assert body == {"has_password": with_secret}


def test_entrypoint_failed_fetch_fails_init(h, emulate, opt_namespace, layer_opt, native_arch, ric_python, image_task):
    env = h.env({"DB_PASSWORD": h.name("container-missing")}, LAMBDA_TEST_PYTHON=ric_python)
    command = ["/opt/bin/lambda-secrets", str(STANDIN), "app.handler"]
    e = emulate(command, env, "--task-root", str(image_task), prefix=opt_namespace(layer_opt[native_arch]))
    assert e.result["init_ms"] is None and e.invocations == [], e
    assert e.result["exit_code"] == 78, e
