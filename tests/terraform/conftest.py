"""Fixtures for the Terraform end-to-end test: the terraform CLI set up offline, and a launcher of its own.

`terraform` fails (never skips) when terraform or the provider mirror is missing: the test is part of the
project's test command and must not vanish from it silently. The CLI configuration comes from
scripts/terraform-rc, the same as scripts/test-terraform uses (TF_CLI_CONFIG_FILE may be preset to a
file that does not exist on this kind of machine).

`tf_moto` is a strict-IAM launcher (tests/support/moto_strict.py over HTTPS) for this directory alone, so
Terraform's resources, its request counts and the long stretch with enforcement off during apply and
destroy never mix with the session launcher of the integration tests.
"""

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.motoctl import MotoServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Terraform:
    """The terraform CLI with an offline configuration; `run` fails the test on a non-zero exit."""

    exe: str
    rc_file: str
    mirror: str
    registry: object  # SentinelRegistry: terraform's own output is checked for leaked values too

    def env(self, extra):
        # Nothing of the caller's AWS or Terraform set-up leaks in (profiles, credentials, a data
        # dir or plugin cache in the work tree); the provider gets its settings from the example.
        e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        e.update(
            TF_CLI_CONFIG_FILE=self.rc_file, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1",
        )
        e.update(extra)
        return e

    def run(self, cwd, *args, env=None, timeout=600, check=True, input=None):
        """`terraform ARGS...` in `cwd` (`input`: text for its stdin); returns (rc, stdout, stderr, seconds)."""
        start = time.monotonic()
        # Own process group: on a timeout the provider plugin goes with terraform.
        proc = subprocess.Popen(
            [self.exe, *args], cwd=cwd, env=self.env(env or {}),
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        try:
            out, err = proc.communicate(None if input is None else input.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            self._check(args, out, err)
            pytest.fail(f"terraform {args[0]} did not finish within {timeout} s; stderr:\n{err.decode()[-4000:]}",
                        pytrace=False)
        seconds = time.monotonic() - start
        self._check(args, out, err)
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} exited {proc.returncode} after {seconds:.1f} s\n"
                f"--- stdout (tail)\n{out[-3000:]}\n--- stderr (tail)\n{err[-6000:]}",
                pytrace=False,
            )
        return proc.returncode, out, err, seconds

    def _check(self, args, out, err):
        what = f"terraform {args[0]}"
        self.registry.check(out, "stdout", what)
        self.registry.check(err, "stderr", what)


@pytest.fixture(scope="session")
def terraform(tmp_path_factory, registry):
    exe = shutil.which("terraform")
    if exe is None:
        pytest.fail(
            "terraform is not on PATH: the Terraform end-to-end test needs terraform >= 1.9 "
            "(and the hashicorp/aws provider in a filesystem mirror, see scripts/terraform-rc)",
            pytrace=False,
        )
    rc_file = tmp_path_factory.mktemp("tfcli") / "terraformrc"
    made = subprocess.run([str(ROOT / "scripts" / "terraform-rc"), str(rc_file)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(
            f"no Terraform provider mirror: scripts/terraform-rc exited {made.returncode}: {made.stderr.strip()}",
            pytrace=False,
        )
    return Terraform(exe, str(rc_file), made.stdout.strip(), registry)


@pytest.fixture(scope="module")
def tf_moto(pki, tmp_path_factory):
    server = MotoServer(pki, tmp_path_factory.mktemp("tf-moto") / "moto.log")
    yield server
    server.stop()
