"""The layer binaries run: natively, and the other architecture under qemu-user, against the HTTPS moto.

Without binfmt_misc, qemu-user hands an execve straight to the host kernel, so the command that the
arm64 binary execs (envreport, a host Python script) runs natively in the same process: its PID is
the one qemu had, which shows that lambda-secrets exec'd rather than spawned.
"""

import json
import subprocess

from support.runner import Runner, expect_env


def test_native_binary_version(binary, crate_version):
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    assert "lambda-secrets" in r.stdout and crate_version in r.stdout, r.stdout


def test_foreign_binary_version_under_qemu(qemu, layer_bin, foreign_arch, crate_version):
    r = subprocess.run([qemu, layer_bin[foreign_arch], "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    assert "lambda-secrets" in r.stdout and crate_version in r.stdout, r.stdout


def _fetch_and_exec(h, run):
    """Two secrets (a whole string and a JSON key) over HTTPS from the strict-IAM moto, then exec."""
    password = h.sentinel()
    s1 = h.seed("layer-whole")
    s2 = h.seed("layer-json", json.dumps({"user": "app", "password": password}))
    env = h.env({"TOKEN": s1.name, "DB_PASSWORD": f"{s2.name}:password"}, names=["TOKEN", "DB_PASSWORD"])
    r = run(env)
    assert r.rc == 0, r
    expect_env(r, {"TOKEN": s1.value, "DB_PASSWORD": password})
    assert r.child["pid"] == r.pid, "the command must be exec'd in place (same PID)"
    return r


def test_native_binary_fetches_and_execs(h, binary):
    # An explicit runner: `h` is session-wide and may have been made with another binary.
    runner = Runner(binary, h.runner.base_path, h.registry, h.moto)
    _fetch_and_exec(h, lambda env: runner.run(["envreport"], env))


def test_foreign_binary_fetches_and_execs_under_qemu(h, qemu, layer_bin, foreign_arch):
    runner = Runner(qemu, h.runner.base_path, h.registry, h.moto)
    _fetch_and_exec(h, lambda env: runner.run([layer_bin[foreign_arch], "envreport"], env, timeout=120))


def test_foreign_binary_fails_like_the_native_one_under_qemu(h, qemu, layer_bin, foreign_arch):
    # A secret that does not exist: configuration error (78), the command is not started.
    runner = Runner(qemu, h.runner.base_path, h.registry, h.moto)
    env = h.env({"GONE": h.name("layer-missing")}, names=["GONE"])
    r = runner.run([layer_bin[foreign_arch], "envreport"], env, timeout=120)
    assert r.rc == 78, r
    assert r.stdout == "", r
