"""The Terraform module's one reference parser (terraform/main.tf, local.refs), rule by rule.

terraform/tests/validation.tftest.hcl proves that each malformed reference fails the plan (the
precondition of output.lambda_secrets_json), but `terraform test` cannot read the message. Here
`terraform console` evaluates the parser on every case at once and each case's message is pinned, so
that a rule cannot hide behind another. No provider is called: region, account and partition are given.
"""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Named form (secrets): variable -> (reference, expected message fragment; "" = valid).
NAMED = {
    "OK_SECRET": ("prod/db:password", ""),
    "OK_SECRET_ARN": ("arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-AbCdEf:key::", ""),
    "OK_PARAMETER": ("ssm:/prod/db/host", ""),
    "OK_VERSION": ("ssm:/prod/db/host:3", ""),
    "OK_LABEL": ("ssm:/prod/db/host:live", ""),
    "OK_PLAIN": ("ssm:host", ""),
    "OK_PARAMETER_ARN": ("arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:live", ""),
    "OK_OBJECT": ({"parameter": "/prod/db/config", "json_key": "port", "optional": True}, ""),
    "EMPTY_SECRET_ID": (":password", "the secret id is empty"),
    "TOO_MANY_FIELDS": ("prod/db:k:AWSCURRENT::x", "too many ':'-separated fields"),
    "OTHER_SERVICE_ARN": ("arn:aws:s3:::bucket/db", "neither a Secrets Manager secret ARN"),
    "BAD_SECRET_NAME": ("prod db", "a secret name may contain only"),
    "STAGE_AND_ID": ("prod/db::AWSCURRENT:v1", "VERSION_STAGE and VERSION_ID together"),
    "UNKNOWN_FIELD": ({"secret_id": "prod/db", "key": "k"}, "unknown field(s) key"),
    "NO_ID": ({"json_key": "k"}, "secret_id or parameter is required"),
    "FIELDS_IN_SECRET_ID": ({"secret_id": "prod/db:password"}, "secret_id is neither a secret name"),
    "BAD_OPTIONAL": ({"secret_id": "prod/db", "optional": "yes"}, "optional true or false"),
    "NOT_A_REFERENCE": (42, "a reference must be a string"),
    "PATH_IN_NAMED_FORM": ("ssm:/prod/app/", "expands only in expand"),
    "PATH_IN_NAMED_OBJECT": ({"parameter": "/prod/app/"}, "expands only in expand"),
    "PARAMETER_AND_SECRET": ({"parameter": "/prod/db/host", "secret_id": "prod/db"}, "parameter and secret_id together"),
    "STAGE_ON_PARAMETER": ({"parameter": "/prod/db/host", "version_stage": "AWSCURRENT"}, "version_stage and version_id are for secrets"),
    "ID_ON_PARAMETER": ({"parameter": "/prod/db/host", "version_id": "v1"}, "version_stage and version_id are for secrets"),
    "NOT_A_PARAMETER_ARN": ("arn:aws:ssm:us-east-1:123456789012:document/db", "not an SSM parameter ARN"),
    "ARN_WITHOUT_ACCOUNT": ("arn:aws:ssm:us-east-1::parameter/db", "not an SSM parameter ARN"),
    "COLON_IN_NAME": ("ssm:/prod/db:3:x", "a parameter name cannot contain ':'"),
    "EMPTY_NAME": ("ssm:", "the parameter name is empty"),
    "PREFIX_IN_OBJECT": ({"parameter": "ssm:/prod/db/host"}, "without the ssm: prefix"),
    "PREFIX_BEFORE_ARN": ("ssm:arn:aws:ssm:us-east-1:123456789012:parameter/db", "ssm: takes a parameter name"),
    "BAD_PARAMETER_NAME": ("ssm:/prod/db host", "letters, digits and _.-/"),
    "NO_LEADING_SLASH": ("ssm:prod/db/host", "starts with '/'"),
    "EMPTY_SELECTOR": ("ssm:/prod/db/host:", "must be a version number or a label"),
    "BAD_LABEL": ("ssm:/prod/db/host:1abc", "must be a version number or a label"),
    "NON_STRING_PARAMETER": ({"parameter": ["/prod/db/host"]}, "must be strings"),
}

# Array form (expand): (reference, expected message fragment).
EXPAND = [
    ("ssm:/prod/app/", ""),
    ("ssm:/", ""),
    ({"parameter": "/prod/shared/", "optional": True}, ""),
    ("prod/app-config", ""),
    ("ssm:/prod/config", ""),
    ("ssm:/prod/app/:3", "takes no selector"),
    ({"parameter": "/prod/app/", "json_key": "port"}, "takes no json_key"),
    ("arn:aws:ssm:us-east-1:123456789012:parameter/prod/app/", "is given by name, not by ARN"),
    ({"parameter": "/prod/config", "json_key": "port"}, "json_key is not allowed in expand"),
    ("app/db:password", "a JSON_KEY is not allowed in expand"),
    ({"secret_id": "app/db", "json_key": "password"}, "a JSON_KEY is not allowed in expand"),
]


@pytest.fixture(scope="module")
def module_copy(terraform, tmp_path_factory):
    """An initialized copy of terraform/ (the work tree gets no .terraform/)."""
    d = tmp_path_factory.mktemp("tf-refs") / "terraform"
    shutil.copytree(ROOT / "terraform", d, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "examples", "tests"))
    terraform.run(d, "init", "-input=false", "-backend=false", "-no-color", timeout=180)
    return d


def errors_of(terraform, module_copy, tmp_path, **inputs):
    """{key: message} from local.refs for the given `secrets` or `expand`."""
    tfvars = {"layer_arn": "arn:aws:lambda:us-east-1:123456789012:layer:x:1", "region": "us-east-1",
              "account_id": "123456789012", "partition": "aws", **inputs}
    (tmp_path / "case.tfvars.json").write_text(json.dumps(tfvars))
    _, out, _, _ = terraform.run(module_copy, "console", f"-var-file={tmp_path / 'case.tfvars.json'}", "-no-color",
                                 input="jsonencode({ for k, r in local.refs : k => r.error })\n", timeout=180)
    return json.loads(json.loads(out.strip().splitlines()[-1]))


def test_every_rule_of_the_named_form(terraform, module_copy, tmp_path):
    got = errors_of(terraform, module_copy, tmp_path, secrets={k: ref for k, (ref, _) in NAMED.items()})
    wrong = {k: got.get(k) for k, (_, want) in NAMED.items() if (want == "" and got.get(k) != "") or want not in (got.get(k) or "")}
    assert not wrong, f"messages that do not match their rule: {json.dumps(wrong, indent=1)}"
    assert set(got) == set(NAMED)


def test_every_rule_of_the_array_form(terraform, module_copy, tmp_path):
    got = errors_of(terraform, module_copy, tmp_path, expand=[ref for ref, _ in EXPAND])
    wrong = {i: got.get(f"[{i}]") for i, (_, want) in enumerate(EXPAND)
             if (want == "" and got.get(f"[{i}]") != "") or want not in (got.get(f"[{i}]") or "")}
    assert not wrong, f"messages that do not match their rule: {json.dumps(wrong, indent=1)}"
