"""The layer zips (layer/README.md): layout, modes, reproducibility, and a static, stripped binary in each."""

import calendar
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "layer" / "pack_zip.py"
ARCHES = ("x86_64", "arm64")
MACHINE = {"x86_64": "Advanced Micro Devices X86-64", "arm64": "AArch64"}


@pytest.mark.parametrize("arch", ARCHES)
def test_zip_layout_and_modes(layer_zips, arch):
    with zipfile.ZipFile(layer_zips[arch]) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["bin/", "bin/lambda-secrets"]
        d, f = infos
        assert d.is_dir() and d.file_size == 0
        assert d.external_attr >> 16 == 0o040755, oct(d.external_attr >> 16)
        assert f.external_attr >> 16 == 0o100755, oct(f.external_attr >> 16)
        assert f.compress_type == zipfile.ZIP_DEFLATED
        for i in infos:
            assert i.create_system == 3, "made on Unix, so that unzip (and Lambda) apply the modes"
            assert i.extra == b"", "no extra fields (they carry mtimes and uid/gid)"
        assert d.date_time == f.date_time


@pytest.mark.parametrize("arch", ARCHES)
def test_zip_is_what_the_packer_makes_from_its_binary(layer_zips, layer_bin, tmp_path, arch):
    # Re-packing the unpacked binary with the same SOURCE_DATE_EPOCH gives the same bytes: the zip
    # depends on nothing but the binary and that time (no mtime, umask, uid, entry order, zip CLI).
    with zipfile.ZipFile(layer_zips[arch]) as zf:
        epoch = calendar.timegm(zf.getinfo("bin/lambda-secrets").date_time + (0, 0, 0))
    os.utime(layer_bin[arch], (12345, 12345))
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, str(PACK), "--arch", arch, "--epoch", str(epoch), layer_bin[arch], str(again)],
                   check=True)
    assert again.read_bytes() == layer_zips[arch].read_bytes()


def test_packer_refuses_a_dynamic_binary(tmp_path):
    dynamic = "/bin/true"
    r = subprocess.run([sys.executable, str(PACK), "--arch", "x86_64", "--epoch", "0", dynamic,
                        str(tmp_path / "x.zip")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "dynamically linked" in r.stderr
    assert not (tmp_path / "x.zip").exists()


def test_packer_refuses_the_wrong_architecture(layer_bin, tmp_path):
    r = subprocess.run([sys.executable, str(PACK), "--arch", "x86_64", "--epoch", "0", layer_bin["arm64"],
                        str(tmp_path / "x.zip")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "ELF machine 183" in r.stderr


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_is_static(layer_bin, arch):
    path = layer_bin[arch]
    header = readelf("-h", path)
    assert re.search(r"Machine:\s+" + re.escape(MACHINE[arch]), header), header
    assert re.search(r"Class:\s+ELF64", header)
    segments = readelf("-l", path)
    assert "INTERP" not in segments and "program interpreter" not in segments, segments
    dynamic = readelf("-d", path)
    assert "(NEEDED)" not in dynamic, dynamic


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_is_stripped(layer_bin, arch):
    sections = readelf("-S", layer_bin[arch])
    names = re.findall(r"\]\s+(\.\S+)", sections)
    assert ".symtab" not in names
    assert not [n for n in names if n.startswith(".debug")], names


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_holds_no_build_paths(layer_bin, arch):
    # scripts/build-layer remaps the checkout, the cargo home and the target dir (reproducible builds):
    # none of them may appear in the binary (panic locations, ring's C objects).
    data = Path(layer_bin[arch]).read_bytes()
    home = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    for path in {str(ROOT), home, os.path.expanduser("~")} - {"/", ""}:
        assert path.encode() not in data, f"{path} is embedded in the {arch} binary"
