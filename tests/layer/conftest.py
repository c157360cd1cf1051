"""Fixtures for the layer tests: the zips from scripts/build-layer, unpacked as Lambda unpacks a layer.

The zips are read from $LAYER_DIST (default <repo>/dist). They are never built here: when one is
missing every test that needs it fails and says to run scripts/build-layer.

`binary` is overridden for this directory: it is the layer's own binary for this machine (the
static release build users get). The tests here use it explicitly; the session harness `h` from
tests/conftest.py only seeds secrets and provides credentials (it is built once per session, so it
may hold whichever binary the first test that needed it saw; running tests/layer alone, that is
this one, and no debug build is made).
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.motoctl import MotoServer
from support.runner import clean_env

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layer"
EMULATOR = LAYER / "emulator" / "runtime_api.py"
HANDLER = LAYER / "emulator" / "handler.py"
ARCHES = ("x86_64", "arm64")
NATIVE = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
FOREIGN = "x86_64" if NATIVE == "arm64" else "arm64"


# ---------------------------------------------------------------- the artefacts


@pytest.fixture(scope="session")
def layer_dist():
    return Path(os.environ.get("LAYER_DIST") or ROOT / "dist").resolve()


@pytest.fixture(scope="session")
def layer_zips(layer_dist, crate_version):
    """{arch: Path of lambda-secrets-<version>-<arch>.zip}; fails if one is missing."""
    zips = {a: layer_dist / f"lambda-secrets-{crate_version}-{a}.zip" for a in ARCHES}
    missing = [z.name for z in zips.values() if not z.is_file()]
    if missing:
        pytest.fail(
            f"layer zip(s) {', '.join(missing)} not found in {layer_dist} (LAYER_DIST): "
            "run scripts/build-layer first",
            pytrace=False,
        )
    return zips


def unpack_layer(zip_path, dest):
    """Extract like Lambda does into /opt: directories and files with the modes the zip records."""
    dest = Path(dest)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            mode = (info.external_attr >> 16) & 0o7777
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
            os.chmod(target, mode)
    return dest


@pytest.fixture(scope="session")
def layer_opt(layer_zips, tmp_path_factory):
    """{arch: directory standing for /opt}, each zip unpacked with its recorded modes."""
    return {a: unpack_layer(z, tmp_path_factory.mktemp(f"opt-{a}")) for a, z in layer_zips.items()}


@pytest.fixture(scope="session")
def layer_bin(layer_opt):
    """{arch: path of the unpacked bin/lambda-secrets}."""
    return {a: str(d / "bin" / "lambda-secrets") for a, d in layer_opt.items()}


@pytest.fixture(scope="session")
def binary(layer_bin):
    """Overrides tests/conftest.py's: the harness runs the layer's binary for this machine."""
    return layer_bin[NATIVE]


@pytest.fixture(scope="session")
def native_arch():
    return NATIVE


@pytest.fixture(scope="session")
def foreign_arch():
    return FOREIGN


@pytest.fixture(scope="session")
def qemu():
    """qemu-user for the foreign architecture (Debian qemu-user-static)."""
    name = "qemu-aarch64" if FOREIGN == "arm64" else "qemu-x86_64"
    for candidate in (f"{name}-static", name):
        path = shutil.which(candidate)
        if path:
            return path
    pytest.fail(f"{name}-static not found: apt-get install qemu-user-static", pytrace=False)


# ---------------------------------------------------------------- the Runtime API emulator


@pytest.fixture(scope="session")
def ric_python():
    """This interpreter, which must have awslambdaric (tests/requirements.txt)."""
    try:
        import awslambdaric  # noqa: F401
    except ImportError:
        pytest.fail(f"awslambdaric is not installed for {sys.executable}: pip install -r tests/requirements.txt",
                    pytrace=False)
    return sys.executable


@pytest.fixture
def task_root(tmp_path):
    """A LAMBDA_TASK_ROOT holding the reporting handler (handler.handler)."""
    d = tmp_path / "task"
    d.mkdir()
    shutil.copy(HANDLER, d / "handler.py")
    return d


@dataclass
class Emulated:
    rc: int
    result: dict
    stderr: str

    @property
    def invocations(self):
        return self.result["invocations"]

    def bodies(self):
        assert self.result["invocations"], f"no invocation ran: {self!r}"
        for inv in self.result["invocations"]:
            assert inv["status"] == "response", f"invocation failed: {self!r}"
        return [inv["body"] for inv in self.result["invocations"]]

    def __repr__(self):
        return f"Emulated(rc={self.rc}, result={json.dumps(self.result)}, stderr={self.stderr[-3000:]!r})"


@pytest.fixture(scope="session")
def opt_namespace():
    """prefix(opt_dir) -> argv prefix that runs a command in a private mount namespace where
    opt_dir is bind-mounted on /opt, so /opt/bin/lambda-secrets is the layer's file, as in Lambda."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("these tests bind-mount the unpacked layer on /opt in a private mount namespace: "
                    "they need root and unshare (util-linux)", pytrace=False)
    if not Path("/opt").is_dir():
        pytest.fail("/opt does not exist: it is needed as the mount point for the unpacked layer", pytrace=False)

    def prefix(opt_dir):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /opt && exec "$@"', str(opt_dir)]

    return prefix


@pytest.fixture
def emulate(registry):
    """emulate(command, env, *options, prefix=()) -> Emulated; every output is checked for leaked values."""

    def run(command, env, *options, prefix=(), timeout=60):
        argv = [*prefix, sys.executable, str(EMULATOR), *options, "--", *command]
        proc = subprocess.run(argv, env=clean_env(env), capture_output=True, timeout=timeout)
        registry.check(proc.stdout, "stdout", "the Runtime API emulator")
        registry.check(proc.stderr, "stderr", "the Runtime API emulator and its runtime")
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            pytest.fail(f"the emulator printed no JSON (rc {proc.returncode}); stderr:\n"
                        f"{proc.stderr.decode(errors='replace')[-3000:]}", pytrace=False)
        return Emulated(proc.returncode, result, proc.stderr.decode(errors="replace"))

    return run


# ---------------------------------------------------------------- plain moto for publish-layer


@pytest.fixture(scope="session")
def plain_moto(tmp_path_factory):
    """A stock moto_server over plain HTTP (Lambda layers, S3): a support.motoctl.MotoServer."""
    server = MotoServer(None, tmp_path_factory.mktemp("plain-moto") / "moto.log", strict=False)
    yield server
    server.stop()
