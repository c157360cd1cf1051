"""Permissions against the strict launcher: exact-ARN and `-??????` grants, denials, per-secret errors,
and the exit code when several secrets fail differently (first of 77, 78, 65, 69)."""

import re

import pytest

from support.motoctl import ARN_PREFIX, allow
from support.runner import assert_no_command, expect_env, lines_with

REQUEST_ID = re.compile(r"request id \S+")


class Limited:
    pass


@pytest.fixture(scope="module")
def lim(h):
    """A user allowed GetSecretValue on A's exact ARN, on B through `B-??????`, and on the not-yet-created
    GHOST through `GHOST-??????`; C and `B-extra` are outside the policy."""
    x = Limited()
    x.a_key = h.sentinel()
    x.a = h.seed("lim-a", '{"key": "%s"}' % x.a_key)
    x.b = h.seed("lim-b")
    x.b_extra = h.seed("lim-b-extra", name=x.b.name + "-extra")  # ARN ...:secret:<b>-extra-XXXXXX
    x.c = h.seed("lim-c")
    x.ghost = h.name("lim-ghost")
    x.creds = h.make_user(
        f"it-limited-{x.a.name.rsplit('/', 1)[1]}",
        allow("secretsmanager:GetSecretValue", [x.a.arn, f"{ARN_PREFIX}{x.b.name}-??????",
                                                f"{ARN_PREFIX}{x.ghost}-??????"]),
        allow("secretsmanager:BatchGetSecretValue", "*"),
    )
    return x


def test_exact_arn_and_pattern_grants_allow(h, lim):
    for mode in ["never", "auto"]:
        r = h.run_cmd(h.env({"A": f"{lim.a.name}:key", "B": lim.b.name}, names=["A", "B"], creds=lim.creds,
                            LAMBDA_SECRETS_BATCH=mode))
        assert r.rc == 0, r
        expect_env(r, {"A": lim.a_key, "B": lim.b.value})
        if mode == "auto":
            assert r.count("BatchGetSecretValue") == 1 and r.count("GetSecretValue") == 0, r


def test_secret_outside_the_policy_is_refused(h, lim):
    r = h.run_cmd(h.env({"DENIED_ONE": lim.c.name}, creds=lim.creds))
    assert r.rc == 77, r
    assert_no_command(r)
    (line,) = lines_with(r, "DENIED_ONE")
    assert lim.c.name in line and "AccessDeniedException" in line, r
    assert REQUEST_ID.search(line), r


def test_six_question_marks_do_not_match_a_longer_name(h, lim):
    r = h.run_cmd(h.env({"EXTRA": lim.b_extra.name}, creds=lim.creds))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, "EXTRA", lim.b_extra.name, "AccessDeniedException"), r


def test_batch_denied_secret_is_retried_once_with_get_and_still_denied(h, lim):
    refs = {"A": f"{lim.a.name}:key", "B": lim.b.name, "DENIED_C": lim.c.name}
    r = h.run_cmd(h.env(refs, creds=lim.creds))
    assert r.rc == 77, r
    assert_no_command(r)
    assert r.count("BatchGetSecretValue") == 1, r
    assert r.counts["batch_sizes"] == [3], r
    assert r.count("GetSecretValue") == 1, r  # the one retry of the denied secret, not repeated
    (line,) = lines_with(r, "DENIED_C")
    assert lim.c.name in line and "AccessDeniedException" in line, r
    assert REQUEST_ID.search(line), r
    assert not lines_with(r, "error", lim.b.name), r


def test_nonexistent_secret_without_rights_is_access_denied(h, lim):
    # Like AWS: a caller without rights cannot learn that the secret does not exist.
    missing = h.name("lim-nothere")
    r = h.run_cmd(h.env({"NOPE": missing}, creds=lim.creds))
    assert r.rc == 77, r
    assert lines_with(r, "NOPE", missing, "AccessDeniedException"), r


def test_nonexistent_secret_with_rights_is_not_found(h, lim):
    r = h.run_cmd(h.env({"GHOST": lim.ghost}, creds=lim.creds))
    assert r.rc == 78, r
    assert_no_command(r)
    (line,) = lines_with(r, "GHOST")
    assert lim.ghost in line and "ResourceNotFoundException" in line, r
    assert REQUEST_ID.search(line), r


def test_optional_denied_secret_warns_and_the_rest_proceeds(h, lim):
    refs = {"B": lim.b.name, "MAYBE": {"secret_id": lim.c.name, "optional": True}}
    r = h.run_cmd(h.env(refs, names=list(refs), creds=lim.creds))
    assert r.rc == 0, r
    expect_env(r, {"B": lim.b.value, "MAYBE": None})
    assert lines_with(r, "warn", "MAYBE", lim.c.name, "AccessDeniedException"), r


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_all_failures_are_reported_and_77_comes_first(h, lim, mode):
    refs = {
        "VAR_DENIED": lim.c.name,               # 77
        "VAR_GHOST": lim.ghost,                 # 78 ResourceNotFoundException
        "VAR_NOKEY": f"{lim.a.name}:missing",   # 65 key missing
        "VAR_OK": lim.b.name,
    }
    r = h.run_cmd(h.env(refs, creds=lim.creds, LAMBDA_SECRETS_BATCH=mode))
    assert r.rc == 77, r
    assert_no_command(r)
    assert lines_with(r, "VAR_DENIED", lim.c.name, "AccessDeniedException"), r
    assert lines_with(r, "VAR_GHOST", lim.ghost, "ResourceNotFoundException"), r
    assert lines_with(r, "VAR_NOKEY", lim.a.name), r
    assert not lines_with(r, "VAR_OK"), r
    for line in r.lines:  # one line per failing secret
        assert sum(v in line for v in ["VAR_DENIED", "VAR_GHOST", "VAR_NOKEY"]) <= 1, r


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_78_comes_before_65(h, lim, mode):
    refs = {"VAR_NOKEY": f"{lim.a.name}:missing", "VAR_GHOST": lim.ghost}
    r = h.run_cmd(h.env(refs, creds=lim.creds, LAMBDA_SECRETS_BATCH=mode))
    assert r.rc == 78, r
    assert_no_command(r)
    assert lines_with(r, "VAR_NOKEY", lim.a.name), r
    assert lines_with(r, "VAR_GHOST", lim.ghost, "ResourceNotFoundException"), r


def test_two_data_errors_are_both_reported(h, lim):
    refs = {"VAR_NOKEY": f"{lim.a.name}:missing", "VAR_NOTJSON": f"{lim.b.name}:key"}
    r = h.run_cmd(h.env(refs, creds=lim.creds))
    assert r.rc == 65, r
    assert_no_command(r)
    assert lines_with(r, "VAR_NOKEY", lim.a.name), r
    assert lines_with(r, "VAR_NOTJSON", lim.b.name), r


def test_explicit_deny_wins(h):
    s, t = h.seed("deny-s"), h.seed("deny-t")
    creds = h.make_user(
        f"it-deny-{s.name.rsplit('/', 1)[1]}",
        allow("secretsmanager:GetSecretValue", f"{ARN_PREFIX}*"),
        allow("secretsmanager:BatchGetSecretValue", "*"),
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": t.arn},
    )
    ok = h.run_cmd(h.env({"S": s.name}, names=["S"], creds=creds))
    assert ok.rc == 0, ok
    expect_env(ok, {"S": s.value})
    r = h.run_cmd(h.env({"S": s.name, "T_DENIED": t.name}, creds=creds))
    assert r.rc == 77, r
    assert lines_with(r, "T_DENIED", t.name, "AccessDeniedException"), r


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_deleted_secret_is_invalid_request_78(h, mode):
    s, t = h.seed("deleted"), h.seed("deleted-other")
    h.delete(s)
    r = h.run_cmd(h.env({"GONE": s.name, "OTHER": t.name}, LAMBDA_SECRETS_BATCH=mode))
    assert r.rc == 78, r
    assert_no_command(r)
    assert lines_with(r, "GONE", s.name, "InvalidRequestException"), r
