"""layer/template.yaml (and the SAM example) pass cfn-lint; a broken copy does not."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "layer" / "template.yaml"
SAM_EXAMPLE = ROOT / "layer" / "examples" / "function.yaml"


@pytest.fixture(scope="session")
def cfn_lint():
    sibling = Path(sys.executable).parent / "cfn-lint"
    path = str(sibling) if sibling.exists() else shutil.which("cfn-lint")
    if not path:
        pytest.fail("cfn-lint not found: pip install -r tests/requirements.txt", pytrace=False)
    return path


def lint(cfn_lint, path):
    env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1")  # the SAM translator needs a region
    return subprocess.run([cfn_lint, "--", str(path)], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("path", [TEMPLATE, SAM_EXAMPLE], ids=["template", "sam-example"])
def test_cfn_lint_passes(cfn_lint, path):
    r = lint(cfn_lint, path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cfn_lint_catches_a_broken_layer(cfn_lint, tmp_path):
    # A control: the same template with an impossible architecture and runtime must fail.
    broken = TEMPLATE.read_text().replace("CompatibleArchitectures: [arm64]", "CompatibleArchitectures: [sparc64]")
    broken = broken.replace("Default: nodejs22.x,", "Default: python9.9,")
    assert broken != TEMPLATE.read_text()
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    r = lint(cfn_lint, path)
    assert r.returncode != 0 and "sparc64" in r.stdout, r.stdout


def test_template_default_is_the_one_list_of_runtimes():
    # terraform/compatible-runtimes.txt is the only list (the Terraform module and scripts/publish-layer
    # read it); a CloudFormation default cannot read a file, so this keeps the copy equal.
    runtimes_file = ROOT / "terraform" / "compatible-runtimes.txt"
    listed = [line.strip() for line in runtimes_file.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    template_default = re.search(r"CompatibleRuntimes:\n(?:\s+(?:\w+:.*|#.*)\n)*?\s+Default: (\S+)", TEMPLATE.read_text())
    assert template_default, "CompatibleRuntimes parameter default not found"
    assert template_default.group(1).split(",") == listed
    assert 1 <= len(listed) <= 15
