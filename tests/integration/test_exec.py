"""Invocation and exec semantics (README, "Invocation"): same PID, argv untouched, nothing-to-fetch,
usage errors (64) and commands that cannot run (126, 127)."""

import pytest

from support.runner import assert_no_command, expect_env

RUNTIME_ARGS = ["--expose-gc", "--max-http-header-size", "81920", "-x", "/var/runtime/index.mjs", "--", "-"]

# Bad option values that must be ignored when there is nothing to fetch (no option is read then).
BAD_OPTIONS = {
    "LAMBDA_SECRETS_CONCURRENCY": "0",
    "LAMBDA_SECRETS_TIMEOUT_MS": "soon",
    "LAMBDA_SECRETS_BATCH": "sometimes",
    "LAMBDA_SECRETS_LOG": "verbose",
    "AWS_MAX_ATTEMPTS": "many",
}


def test_exec_keeps_the_pid(h):
    s = h.seed("pid")
    r = h.run_cmd(h.env({"P": s.name}, names=["P"]))
    assert r.rc == 0, r
    assert r.child["pid"] == r.pid


def test_runtime_flags_after_the_command_are_not_parsed(h):
    s = h.seed("argv")
    r = h.run_cmd(h.env({"P": s.name}, names=["P"]), *RUNTIME_ARGS)
    assert r.rc == 0, r
    assert r.child["argv"][0].endswith("envreport"), r
    assert r.child["argv"][1:] == RUNTIME_ARGS, r
    assert r.child["pid"] == r.pid
    expect_env(r, {"P": s.value})


def test_double_dash_form(h):
    s = h.seed("dashdash")
    args = ["--check", "--help", "--version", "--", "x"]
    r = h.run(["--", "envreport", *args], h.env({"P": s.name}, names=["P"]))
    assert r.rc == 0, r
    assert r.child["argv"][1:] == args, r
    assert r.child["pid"] == r.pid
    expect_env(r, {"P": s.value})


def test_command_by_absolute_path(h):
    s = h.seed("abspath")
    r = h.run([h.envreport, "a b", ""], h.env({"P": s.name}, names=["P"]))
    assert r.rc == 0, r
    assert r.child["argv"][1:] == ["a b", ""], r
    expect_env(r, {"P": s.value})


@pytest.mark.parametrize("value", [None, "", "   \n\t ", "{}", "[]", " {} \n"],
                         ids=["unset", "empty", "whitespace", "empty-object", "empty-array", "padded-object"])
def test_nothing_to_fetch_execs_at_once_without_aws_or_options(h, value):
    env = {"ENVREPORT_NAMES": "LAMBDA_SECRETS,LAMBDA_SECRETS_CONCURRENCY,KEEP", "KEEP": "kept", **BAD_OPTIONS}
    if value is not None:
        env["LAMBDA_SECRETS"] = value
    r = h.run(["envreport", *RUNTIME_ARGS], env)
    assert r.rc == 0, r
    assert r.child["pid"] == r.pid
    assert r.child["argv"][1:] == RUNTIME_ARGS, r
    expect_env(r, {"LAMBDA_SECRETS": value, "LAMBDA_SECRETS_CONCURRENCY": "0", "KEEP": "kept"})


def test_nothing_to_fetch_makes_no_request(h, creds_server):
    # Endpoint and a credentials endpoint are configured, yet neither is contacted.
    env = h.env("{}", names=["KEEP"], KEEP="kept", AWS_CONTAINER_CREDENTIALS_FULL_URI=creds_server.url,
                AWS_CONTAINER_AUTHORIZATION_TOKEN=creds_server.token, AWS_ACCESS_KEY_ID=None,
                AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None, **BAD_OPTIONS)
    r = h.run_cmd(env)
    assert r.rc == 0, r
    expect_env(r, {"KEEP": "kept"})
    assert {k: v for k, v in r.counts.items() if k != "batch_sizes"} == {}, r
    assert creds_server.requests == []


def test_next_wrapper_is_exec_in_between(h, tmp_path):
    s = h.seed("nextwrapper")
    wrapper = tmp_path / "otel-instrument"
    wrapper.write_bytes((h.bindir / "envreport").read_bytes())
    wrapper.chmod(0o755)
    env = h.env({"P": s.name}, names=["P", "LAMBDA_SECRETS_NEXT_WRAPPER"], LAMBDA_SECRETS_NEXT_WRAPPER=str(wrapper))
    r = h.run([h.envreport, "--expose-gc", "handler.fn"], env)
    assert r.rc == 0, r
    assert r.child["pid"] == r.pid
    assert r.child["argv"][0] == str(wrapper), r
    assert r.child["argv"][1:] == [h.envreport, "--expose-gc", "handler.fn"], r
    expect_env(r, {"P": s.value, "LAMBDA_SECRETS_NEXT_WRAPPER": str(wrapper)})


# ---------------------------------------------------------------- 64: usage


@pytest.mark.parametrize("secrets", [None, "with-secrets"])
def test_no_command_is_64(h, secrets):
    env = h.env({"P": h.seed("usage").name}) if secrets else {}
    r = h.run([], env)
    assert r.rc == 64, r
    assert_no_command(r)


@pytest.mark.parametrize("args", [["--bogus", "envreport"], ["-x", "envreport"], ["--check", "envreport"],
                                  ["--check", "--", "envreport"]],
                         ids=["unknown-long", "unknown-short", "check-with-command", "check-with-dashdash-command"])
def test_usage_errors_are_64(h, args):
    s = h.seed("usage2")
    r = h.run(args, h.env({"P": s.name}))
    assert r.rc == 64, r
    assert_no_command(r)


# ---------------------------------------------------------------- 126 / 127


@pytest.fixture
def not_executable(tmp_path):
    f = tmp_path / "handler.sh"
    f.write_text("#!/bin/sh\necho started\n")
    f.chmod(0o644)
    return str(f)


@pytest.mark.parametrize("secrets", [False, True], ids=["nothing-to-fetch", "after-fetching"])
def test_non_executable_command_is_126(h, not_executable, secrets):
    env = h.env({"P": h.seed("e126").name}) if secrets else {}
    r = h.run([not_executable, "arg"], env)
    assert r.rc == 126, r
    assert_no_command(r)


def test_directory_as_command_is_126(h, tmp_path):
    r = h.run([str(tmp_path)], {})
    assert r.rc == 126, r
    assert_no_command(r)


@pytest.mark.parametrize("secrets", [False, True], ids=["nothing-to-fetch", "after-fetching"])
@pytest.mark.parametrize("command", ["no-such-command-lambda-secrets", "/nonexistent/dir/runtime"])
def test_missing_command_is_127(h, secrets, command):
    env = h.env({"P": h.seed("e127").name}) if secrets else {}
    r = h.run([command, "--expose-gc"], env)
    assert r.rc == 127, r
    assert_no_command(r)


def test_stdin_reaches_the_command(h):
    s = h.seed("stdin")
    data = b"event payload\n\x00\xff"
    env = h.env({"P": s.name}, names=["P"], ENVREPORT_STDIN="1")
    r = h.run_cmd(env, input=data)
    assert r.rc == 0, r
    assert r.child["stdin"] == h.sha(data), r


def test_non_utf8_arguments_and_variables_pass_through_untouched(h):
    s = h.seed("bytes")
    env = h.env({"P": s.name}, names=["P", "RAW_BYTES"])
    env["RAW_BYTES"] = b"\xff\xfe not utf-8 \x80"
    r = h.run([b"envreport", b"--flag=\xff", b"\xc3("], env)
    assert r.rc == 0, r
    # envreport decodes argv with surrogateescape: \xff -> \udcff
    assert r.child["argv"][1:] == ["--flag=\udcff", "\udcc3("], r
    expect_env(r, {"P": s.value, "RAW_BYTES": b"\xff\xfe not utf-8 \x80"})


@pytest.mark.parametrize("kind,rc", [("missing", 127), ("not-executable", 126)])
def test_next_wrapper_that_cannot_run(h, tmp_path, kind, rc):
    s = h.seed("badwrapper")
    wrapper = tmp_path / "wrapper"
    if kind == "not-executable":
        wrapper.write_text("#!/bin/sh\nexec \"$@\"\n")
        wrapper.chmod(0o644)
    r = h.run([h.envreport], h.env({"P": s.name}, LAMBDA_SECRETS_NEXT_WRAPPER=str(wrapper)))
    assert r.rc == rc, r
    assert_no_command(r)


def test_environment_too_large_for_exec_is_126(h):
    # Each value fits an environment string (< 128 KiB), but together they pass ARG_MAX: execve
    # fails with E2BIG; the command exists but cannot be executed.
    import os

    arg_max = os.sysconf("SC_ARG_MAX")
    if arg_max > 4 * 1024 * 1024:
        pytest.skip(f"ARG_MAX is {arg_max}: too many secrets needed")
    count = arg_max // 65000 + 2
    secrets = [h.seed("e2big", h.sentinel() + "x" * (65000 - 60)) for _ in range(count)]
    refs = {f"BIG_{i:03d}": s.name for i, s in enumerate(secrets)}
    r = h.run_cmd(h.env(refs), timeout=60)
    assert r.rc == 126, r
    assert_no_command(r)
