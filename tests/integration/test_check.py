"""--check, --help and --version (README, "Invocation" and "Output")."""

import pytest

from support.runner import assert_no_command, lines_with


def check(h, env):
    return h.run(["--check"], env)


def test_check_lists_name_secret_id_and_version_id_sorted(h):
    s1 = h.seed("check1", '{"k": "%s"}' % h.sentinel())
    v2 = h.put_value(s1, '{"k": "%s"}' % h.sentinel())
    s2, s3 = h.seed("check2"), h.seed("check3", '{"k": "%s"}' % h.sentinel())
    refs = {
        "B_VAR": s2.name,
        "A_VAR": s1.arn,
        "D_KEY": {"secret_id": s3.name, "json_key": "k"},
        "C_OLD": f"{s1.name}::AWSPREVIOUS",
        "E_PARTIAL": f"{s1.partial_arn}:k",
    }
    r = check(h, h.env(refs))
    assert r.rc == 0, r
    assert r.stdout.splitlines() == [
        f"A_VAR\t{s1.arn}\t{v2}",
        f"B_VAR\t{s2.name}\t{s2.version_id}",
        f"C_OLD\t{s1.name}\t{s1.version_id}",
        f"D_KEY\t{s3.name}\t{s3.version_id}",
        f"E_PARTIAL\t{s1.partial_arn}\t{v2}",
    ], r


def test_check_array_form_lists_every_key(h):
    s = h.seed("checkarr", '{"ZED": "%s", "ALPHA": 1, "MID": null}' % h.sentinel())
    r = check(h, h.env([s.name]))
    assert r.rc == 0, r
    assert r.stdout.splitlines() == [f"{k}\t{s.name}\t{s.version_id}" for k in ["ALPHA", "MID", "ZED"]], r


def test_check_with_a_missing_optional_only_warns(h):
    s = h.seed("checkopt")
    missing = h.name("checkopt-missing")
    r = check(h, h.env({"HAVE": s.name, "MAYBE": {"secret_id": missing, "optional": True}}))
    assert r.rc == 0, r
    assert r.stdout.splitlines() == [f"HAVE\t{s.name}\t{s.version_id}"], r
    assert lines_with(r, "warn", "MAYBE", missing), r


def test_check_fails_like_a_run(h):
    s = h.seed("checkfail")
    missing = h.name("checkfail-missing")
    r = check(h, h.env({"HAVE": s.name, "GONE": missing}))
    assert r.rc == 78, r
    assert lines_with(r, "GONE", missing, "ResourceNotFoundException"), r


def test_check_with_nothing_to_fetch_says_so_and_exits_0(h):
    r = h.run(["--check"], {})
    assert r.rc == 0, r
    assert (r.stdout + r.stderr).strip(), r
    assert "\t" not in r.stdout, r
    assert {k: v for k, v in r.counts.items() if k != "batch_sizes"} == {}, r


def test_check_makes_the_same_requests_as_a_run(h):
    a, b = h.seed("checkreq1"), h.seed("checkreq2")
    r = check(h, h.env({"A": a.name, "B": b.name}))
    assert r.rc == 0, r
    assert r.count("BatchGetSecretValue") == 1 and r.count("GetSecretValue") == 0, r


def test_help(h):
    r = h.run(["--help"], {})
    assert r.rc == 0, r
    assert "lambda-secrets" in r.stdout and "--check" in r.stdout, r


def test_help_ignores_the_configuration(h):
    r = h.run(["--help"], {"LAMBDA_SECRETS": "{not json", "LAMBDA_SECRETS_LOG": "bogus"})
    assert r.rc == 0, r
    assert "--check" in r.stdout, r


def test_version(h, crate_version):
    r = h.run(["--version"], {})
    assert r.rc == 0, r
    assert "lambda-secrets" in r.stdout and crate_version in r.stdout, r
    assert len(r.stdout.strip().splitlines()) == 1, r


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_do_not_exec(h, flag):
    r = h.run([flag, "envreport"], {})
    assert r.child is None, r
