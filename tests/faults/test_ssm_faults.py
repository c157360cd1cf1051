"""The SSM Parameter Store fault matrix, through the binary: GetParameters and GetParametersByPath
against each fault of support/faultsm.py, batching by 10, paging, InvalidParameters on a 200, a
refused call repeated name by name, and both services in one run (README, "SSM Parameter Store
references"). Counts, outcomes and exit codes, never durations (except the deadline's upper bound,
as in test_deadline.py).
"""

import json

import pytest

from support.faultsm import BATCH, BY_PATH, GET, PARAMS, ssm_arn
from support.runner import assert_no_command, expect_env, lines_with

from .common import fault_env
from .test_deadline import DEADLINE_MS, within_deadline

@pytest.fixture
def params(h):
    """`params(n, path="/fault/p")` -> {"/fault/p0": sentinel, ...}."""
    def make(n, path="/fault/p"):
        return {f"{path}{i}": h.sentinel() for i in range(n)}
    return make


def refs_of(names, var="P"):
    return {f"{var}{i}": f"ssm:{name}" for i, name in enumerate(names)}


def error_lines(r):
    return [line for line in r.lines if ": error: " in line]


def one(fsm, params):
    vals = params(1)
    return fsm({}, vals), vals, next(iter(vals))


# name: (fault rule, what the final error line says)
RETRIED = {
    "throttling": ({"fault": "throttle"}, "ThrottlingException"),
    "internal-server-error": ({"fault": "error", "code": "InternalServerError"}, "InternalServerError"),
    "http-503": ({"fault": "status", "status": 503}, "HTTP 503"),
    "connection-reset": ({"fault": "reset"}, "RequestFailed"),
    "connection-closed": ({"fault": "close"}, "RequestFailed"),
    "truncated-body": ({"fault": "truncate"}, "RequestFailed"),
    "invalid-json": ({"fault": "invalid_json"}, "MalformedReply"),
}

# name: (fault rule, exit code); the call is refused whole (InvalidParameters is tested apart)
NOT_RETRIED = {
    "ValidationException": ({"fault": "error", "code": "ValidationException"}, 78),
    "ParameterNotFound": ({"fault": "error", "code": "ParameterNotFound"}, 78),
    "ParameterVersionNotFound": ({"fault": "error", "code": "ParameterVersionNotFound"}, 78),
    "clock": ({"fault": "clock", "code": "InvalidSignatureException"}, 77),
    # A SecureString whose KMS key is disabled or gone, or that the role may not decrypt with
    # (README, "Exit codes": SSM's KMS failures are permission errors).
    "InvalidKeyId": ({"fault": "error", "code": "InvalidKeyId"}, 77),
    "AccessDeniedException-kms": ({"fault": "error", "code": "AccessDeniedException"}, 77),
    "unknown-code": ({"fault": "error", "code": "SomethingNewException"}, 69),
}


@pytest.mark.parametrize("op", [PARAMS, BY_PATH])
@pytest.mark.parametrize("name", RETRIED)
def test_retried_fault_once_then_the_value_arrives(h, fsm, params, name, op):
    rule, _ = RETRIED[name]
    if op == PARAMS:
        f, vals, p = one(fsm, params)
        refs, names = {"P0": f"ssm:{p}"}, ["P0"]
        want = {"P0": vals[p]}
    else:
        vals = params(2, "/fault/app/p")
        f = fsm({}, vals)
        refs, names = ["ssm:/fault/app/"], ["p0", "p1"]
        want = {"p0": vals["/fault/app/p0"], "p1": vals["/fault/app/p1"]}
    f.fault(op=op, times=1, **rule)
    r = h.run_cmd(fault_env(h, f, refs, names=names))
    assert r.rc == 0, r
    expect_env(r, want)
    assert f.outcomes(op) == [rule["fault"], "ok"]
    assert lines_with(r, "2 requests"), r


@pytest.mark.parametrize("name", RETRIED)
def test_retried_fault_that_persists_fails_after_the_last_attempt(h, fsm, params, name):
    f, _, p = one(fsm, params)
    rule, says = RETRIED[name]
    f.fault(op=PARAMS, **rule)
    r = h.run_cmd(fault_env(h, f, {"FAULTY": f"ssm:{p}"}, AWS_MAX_ATTEMPTS="3"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert f.count(PARAMS) == 3
    (line,) = error_lines(r)
    assert "FAULTY" in line and p in line and says in line, line


def test_throttling_without_aws_max_attempts_is_retried_until_the_deadline(h, fsm, params):
    f, _, p = one(fsm, params)
    f.fault("throttle", op=PARAMS)
    r = h.run_cmd(fault_env(h, f, {"LATE": f"ssm:{p}"}, LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS)))
    assert r.rc == 69, r
    within_deadline(r)
    assert f.count(PARAMS) > 3  # past the default 3 attempts: only the deadline ends it
    (line,) = error_lines(r)
    assert "LATE" in line and "ThrottlingException" in line and "LAMBDA_SECRETS_TIMEOUT_MS" in line, line


@pytest.mark.parametrize("name", NOT_RETRIED)
def test_fault_that_is_not_retried(h, fsm, params, name):
    f, _, p = one(fsm, params)
    rule, rc = NOT_RETRIED[name]
    f.fault(op=PARAMS, **rule)
    r = h.run_cmd(fault_env(h, f, {"FAULTY": f"ssm:{p}"}))
    assert r.rc == rc, r
    assert_no_command(r)
    assert f.count(PARAMS) == 1
    (line,) = error_lines(r)
    assert "FAULTY" in line and p in line and "request id faultsm-" in line, line


def one_denied(fsm, params):
    """Two parameters, every call that names the second refused with AccessDeniedException (AWS
    refuses a whole GetParameters call when one of its names is denied)."""
    vals = params(2)
    good, denied = vals
    f = fsm({}, vals)
    f.fault("error", op=PARAMS, name=denied, code="AccessDeniedException")
    return f, vals, good, denied


def test_access_denied_call_is_repeated_name_by_name(h, fsm, params):
    # Each name is asked again alone, so the denied one is reported (77) and the other is read.
    f, vals, good, denied = one_denied(fsm, params)
    r = h.run_cmd(fault_env(h, f, {"GOOD": f"ssm:{good}", "DENIED": f"ssm:{denied}"}))
    assert r.rc == 77, r
    assert_no_command(r)
    asked = f.requests(PARAMS)
    assert sorted(asked[0]) == sorted(vals) and sorted(asked[1:]) == [[good], [denied]], asked
    assert f.outcomes(PARAMS).count("ok") == 1
    (line,) = error_lines(r)
    assert "DENIED" in line and denied in line and "AccessDeniedException" in line, line


def test_access_denied_optional_parameter_is_left_out(h, fsm, params):
    f, vals, good, denied = one_denied(fsm, params)
    refs = {"GOOD": f"ssm:{good}", "DENIED": {"parameter": denied, "optional": True}}
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"GOOD": vals[good], "DENIED": None})
    assert lines_with(r, "warn", "DENIED", denied), r


def test_invalid_parameters_on_a_200_is_78_naming_it(h, fsm, params):
    vals = params(3)
    gone = list(vals)[1]
    f = fsm({}, vals)
    f.fault("invalid_parameters", op=PARAMS, names=[gone])
    r = h.run_cmd(fault_env(h, f, refs_of(vals)))
    assert r.rc == 78, r
    assert_no_command(r)
    assert f.count(PARAMS) == 1  # not retried
    (line,) = error_lines(r)
    assert "P1" in line and gone in line, line


def test_a_missing_optional_parameter_warns(h, fsm, params):
    vals = params(2)
    refs = {"P0": f"ssm:{list(vals)[0]}", "GONE": {"parameter": "/fault/never", "optional": True}}
    f = fsm({}, vals)
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {"P0": vals[list(vals)[0]], "GONE": None})
    assert lines_with(r, "warn", "GONE", "/fault/never"), r


def test_get_parameters_in_batches_of_ten(h, fsm, params):
    vals = params(25)
    f = fsm({}, vals)
    refs = refs_of(vals)
    refs["AGAIN"] = f"ssm:{list(vals)[0]}"  # the same parameter twice is asked once
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {**{f"P{i}": v for i, v in enumerate(vals.values())}, "AGAIN": vals[list(vals)[0]]})
    asked = f.requests(PARAMS)
    assert sorted(len(a) for a in asked) == [5, 10, 10], asked
    assert sorted(n for a in asked for n in a) == sorted(vals)
    assert all(c.body.get("WithDecryption") is True for c in f.calls)
    assert lines_with(r, "26 variables", "25 parameters", "3 requests"), r


@pytest.mark.parametrize("page_size,pages", [(10, 3), (3, 8)])
def test_path_expansion_follows_next_token(h, fsm, params, page_size, pages):
    vals = params(23, "/fault/app/v")
    f = fsm({}, {**vals, "/fault/app/sub/deeper": h.sentinel(), "/fault/other": h.sentinel()}, page_size=page_size)
    names = [n.rsplit("/", 1)[1] for n in vals]
    r = h.run_cmd(fault_env(h, f, ["ssm:/fault/app/"], names=[*names, "deeper", "other"]))
    assert r.rc == 0, r
    expect_env(r, {**{n.rsplit("/", 1)[1]: v for n, v in vals.items()}, "deeper": None, "other": None})
    calls = [c for c in f.calls if c.op == BY_PATH]
    assert len(calls) == pages
    assert all(c.body.get("Recursive") is False and c.body.get("WithDecryption") is True for c in calls)
    assert "NextToken" not in calls[0].body and all("NextToken" in c.body for c in calls[1:])


def test_a_throttled_page_is_retried_and_paging_goes_on(h, fsm, params):
    vals = params(7, "/fault/app/v")
    f = fsm({}, vals, page_size=3)
    f.fault("throttle", op=BY_PATH, nth=[2])
    r = h.run_cmd(fault_env(h, f, ["ssm:/fault/app/"], names=[n.rsplit("/", 1)[1] for n in vals]))
    assert r.rc == 0, r
    expect_env(r, {n.rsplit("/", 1)[1]: v for n, v in vals.items()})
    assert f.outcomes(BY_PATH) == ["ok", "throttle", "ok", "ok"]


@pytest.mark.parametrize("name", ["stall-before-headers", "stall-in-body"])
def test_stalled_get_parameters_is_69_at_the_deadline(h, fsm, params, name):
    f, _, p = one(fsm, params)
    f.fault("stall_headers" if name == "stall-before-headers" else "stall_body", op=PARAMS)
    r = h.run_cmd(fault_env(h, f, {"STALLED": f"ssm:{p}"}, LAMBDA_SECRETS_TIMEOUT_MS=str(DEADLINE_MS)))
    assert r.rc == 69, r
    within_deadline(r)
    assert_no_command(r)
    (line,) = error_lines(r)
    assert "STALLED" in line and p in line and "timed out" in line, line


def test_one_stalled_request_is_survived(h, fsm, params):
    f, vals, p = one(fsm, params)
    f.fault("stall_headers", op=PARAMS, times=1)
    r = h.run_cmd(fault_env(h, f, {"P0": f"ssm:{p}"}, names=["P0"], LAMBDA_SECRETS_TIMEOUT_MS="4000"))
    assert r.rc == 0, r
    expect_env(r, {"P0": vals[p]})
    assert f.outcomes(PARAMS) == ["stall_headers", "ok"]


@pytest.mark.parametrize("use", ["name", "arn"])
@pytest.mark.parametrize("by", ["name", "arn"])
def test_reply_matched_by_name_or_arn(h, fsm, params, by, use):
    vals = params(3)
    f = fsm({}, vals)
    f.fault("name_as", op=PARAMS, use=use)
    f.fault("reorder", op=PARAMS)
    refs = {f"P{i}": (ssm_arn(n) if by == "arn" else f"ssm:{n}") for i, n in enumerate(vals)}
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {f"P{i}": v for i, v in enumerate(vals.values())})


def test_secrets_and_parameters_in_one_run(h, fsm, values, params):
    secrets, parameters = values(3), params(3)
    f = fsm(secrets, parameters)
    refs = {**{f"S{i}": n for i, n in enumerate(secrets)}, **refs_of(parameters)}
    r = h.run_cmd(fault_env(h, f, refs, names=list(refs)))
    assert r.rc == 0, r
    expect_env(r, {**{f"S{i}": v for i, v in enumerate(secrets.values())},
                   **{f"P{i}": v for i, v in enumerate(parameters.values())}})
    assert f.counts() == {BATCH: 1, PARAMS: 1}
    assert lines_with(r, "6 variables", "3 secrets", "3 parameters", "2 requests"), r


@pytest.mark.parametrize("fault", ["reset", "throttle", "error"])
def test_nothing_partial_when_one_service_fails(h, fsm, values, params, fault):
    secrets, parameters = values(2), params(2)
    f = fsm(secrets, parameters)
    f.fault(fault, op=PARAMS)
    refs = {**{f"S{i}": n for i, n in enumerate(secrets)}, **refs_of(parameters)}
    r = h.run_cmd(fault_env(h, f, refs, AWS_MAX_ATTEMPTS="2"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert f.count(BATCH, "ok") + f.count(GET, "ok") >= 1  # the secrets did arrive
    assert len(error_lines(r)) == 2, r


def test_fault_paths_in_json_logs_leak_nothing(h, fsm, params):
    # invalid_json replies carry the values themselves, truncated ones part of them.
    vals = params(3)
    f = fsm({}, vals)
    f.fault("invalid_json", op=PARAMS, nth=[1])
    f.fault("truncate", op=PARAMS, nth=[2], fraction=0.8)
    a, b, c = vals
    refs = {"A": f"ssm:{a}", "B": {"parameter": b}, "C": ssm_arn(c)}
    r = h.run_cmd(fault_env(h, f, refs, AWS_LAMBDA_LOG_FORMAT="JSON", AWS_MAX_ATTEMPTS="2"))
    assert r.rc == 69, r
    assert_no_command(r)
    assert f.outcomes(PARAMS) == ["invalid_json", "truncate"]
    records = [json.loads(line) for line in r.lines]
    assert sum(1 for rec in records if rec["level"] == "ERROR") == 3, r
