"""scripts/publish-layer against a plain moto_server: layer versions, metadata, content, sharing."""

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from support.runner import clean_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "publish-layer"
REGION = "eu-west-1"


def publish(endpoint_env, *args, dist=None):
    env = clean_env(dict(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION,
                         AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", **endpoint_env))
    argv = [str(SCRIPT), *(["--dist", str(dist)] if dist else []), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def client(service, moto):
    return moto.client(service, region=REGION)


def arns(stdout):
    return dict(line.split(" ", 1) for line in stdout.splitlines())


def layer_version(lam, arn):
    *_, name, number = arn.split(":")
    return lam.get_layer_version(LayerName=name, VersionNumber=int(number))


def b64sha(path):
    return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()


def test_publish_both_architectures_direct_upload(plain_moto, layer_zips, layer_dist, crate_version):
    r = publish({"AWS_ENDPOINT_URL": plain_moto.endpoint}, "--layer-name", "ls-direct", dist=layer_dist)
    assert r.returncode == 0, r.stderr
    out = arns(r.stdout)
    assert set(out) == {"x86_64", "arm64"}
    lam = client("lambda", plain_moto)
    for arch, arn in out.items():
        assert arn.startswith(f"arn:aws:lambda:{REGION}:") and f":layer:ls-direct-{arch}:" in arn
        v = layer_version(lam, arn)
        assert v["CompatibleArchitectures"] == [arch]
        # The default is the project's one list, terraform/compatible-runtimes.txt, in its order.
        listed = [line.strip() for line in (ROOT / "terraform" / "compatible-runtimes.txt").read_text().splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
        assert v["CompatibleRuntimes"] == listed and "provided.al2023" in listed
        assert v["Description"] == f"lambda-secrets {crate_version} ({arch})"
        assert v["LicenseInfo"] == "Apache-2.0"
        assert v["Content"]["CodeSha256"] == b64sha(layer_zips[arch])
        assert v["Content"]["CodeSize"] == layer_zips[arch].stat().st_size


def test_publish_via_s3_with_sharing(plain_moto, layer_zips, layer_dist):
    s3 = client("s3", plain_moto)
    s3.create_bucket(Bucket="layer-artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
    r = publish({}, "--endpoint-url", plain_moto.endpoint, "--arch", "arm64", "--layer-name", "ls-s3",
                "--s3-bucket", "layer-artifacts", "--s3-prefix", "layers/",
                "--runtimes", "python3.12 provided.al2023",
                "--share-account", "111122223333", "--share-org", "o-abcdefghij", dist=layer_dist)
    assert r.returncode == 0, r.stderr
    out = arns(r.stdout)
    assert list(out) == ["arm64"]
    key = f"layers/{layer_zips['arm64'].name}"
    assert s3.get_object(Bucket="layer-artifacts", Key=key)["Body"].read() == layer_zips["arm64"].read_bytes()
    lam = client("lambda", plain_moto)
    v = layer_version(lam, out["arm64"])
    assert v["CompatibleRuntimes"] == ["python3.12", "provided.al2023"]
    assert v["Content"]["CodeSha256"] == b64sha(layer_zips["arm64"])
    policy = lam.get_layer_version_policy(LayerName="ls-s3-arm64", VersionNumber=v["Version"])["Policy"]
    statements = {s["Sid"]: s for s in json.loads(policy)["Statement"]}
    assert statements["account-111122223333"]["Principal"] == "111122223333"
    assert statements["org-o-abcdefghij"]["Principal"] == "*"
    assert statements["org-o-abcdefghij"]["OrganizationId"] == "o-abcdefghij"
    assert all(s["Action"] == "lambda:GetLayerVersion" for s in statements.values())


def test_publishing_again_makes_a_new_version(plain_moto, layer_dist):
    first = publish({"AWS_ENDPOINT_URL": plain_moto.endpoint}, "--arch", "x86_64", "--layer-name", "ls-again", dist=layer_dist)
    second = publish({"AWS_ENDPOINT_URL": plain_moto.endpoint}, "--arch", "x86_64", "--layer-name", "ls-again", dist=layer_dist)
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    assert arns(first.stdout)["x86_64"].endswith(":1") and arns(second.stdout)["x86_64"].endswith(":2")


@pytest.mark.parametrize("args, message", [
    (["--arch", "sparc"], "unknown architecture"),
    (["--share-account", "12345"], "12-digit"),
    (["--share-org", "acme"], "organization id"),
    (["--runtimes", " ".join(["python3.12"] * 16)], "1 to 15"),
    (["--bogus"], "unknown argument"),
])
def test_bad_arguments(args, message, layer_dist):
    r = publish({}, *args, dist=layer_dist)
    assert r.returncode != 0 and message in r.stderr, r.stderr


def test_missing_zip_says_to_build(tmp_path):
    r = publish({}, dist=tmp_path)
    assert r.returncode != 0
    assert "run scripts/build-layer" in r.stderr
