#!/usr/bin/env python3
"""Pack one lambda-secrets binary into a reproducible Lambda layer zip.

Used by scripts/build-layer. The zip holds exactly two entries, in this order:

    bin/                 directory, mode 0755
    bin/lambda-secrets   regular file, mode 0755, deflated

Lambda extracts a layer into /opt, so the binary lands at /opt/bin/lambda-secrets,
which is on PATH for every runtime.

Reproducible: every entry has the same fixed timestamp (from SOURCE_DATE_EPOCH, given
as --epoch), Unix "made by" system, fixed external attributes and no extra fields, so
the same binary always gives a byte-identical zip. Python's zipfile is used rather
than the zip CLI, which records the file's mtime, uid/gid extra fields and the
umask-dependent mode.

Before packing, the ELF file is checked: right machine for the architecture, no
program interpreter (PT_INTERP) and no shared-library dependency (DT_NEEDED). A
dynamically linked binary would fail on Amazon Linux 2's old glibc, so it is refused.
"""

import argparse
import os
import struct
import sys
import time
import zipfile

# Lambda's architecture names -> ELF e_machine.
EM_BY_ARCH = {"x86_64": 62, "arm64": 183}

PT_DYNAMIC, PT_INTERP = 2, 3
DT_NULL, DT_NEEDED = 0, 1

# 1980-01-01T00:00:00Z, the earliest time a zip (MS-DOS) timestamp can hold.
ZIP_EPOCH_MIN = 315532800
ZIP_EPOCH_MAX = 4354819198  # 2107-12-31T23:59:58Z


def elf_facts(path):
    """Return (e_machine, has_interp, needed_count) of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    e_machine = struct.unpack_from("<H", data, 18)[0]
    e_phoff = struct.unpack_from("<Q", data, 32)[0]
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    has_interp = False
    needed = 0
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, off)
        if p_type == PT_INTERP:
            has_interp = True
        elif p_type == PT_DYNAMIC:
            for j in range(p_filesz // 16):
                d_tag, _val = struct.unpack_from("<qQ", data, p_offset + j * 16)
                if d_tag == DT_NULL:
                    break
                if d_tag == DT_NEEDED:
                    needed += 1
    return e_machine, has_interp, needed


def check_binary(path, arch):
    machine, has_interp, needed = elf_facts(path)
    if machine != EM_BY_ARCH[arch]:
        raise ValueError(f"{path}: ELF machine {machine}, expected {EM_BY_ARCH[arch]} for {arch}")
    if has_interp or needed:
        raise ValueError(
            f"{path}: dynamically linked (PT_INTERP: {has_interp}, DT_NEEDED entries: {needed}); "
            "a layer binary must be static"
        )


def zip_time(epoch):
    epoch = min(max(int(epoch), ZIP_EPOCH_MIN), ZIP_EPOCH_MAX)
    return time.gmtime(epoch)[:6]


def entry(name, mode, date_time):
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.create_system = 3  # Unix, so that external_attr's high half is a st_mode
    info.create_version = 20
    info.extract_version = 20
    info.external_attr = mode << 16
    return info


def write_layer_zip(binary, out, epoch):
    date_time = zip_time(epoch)
    with open(binary, "rb") as f:
        payload = f.read()
    tmp = f"{out}.tmp.{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            d = entry("bin/", 0o040755, date_time)
            d.external_attr |= 0x10  # MS-DOS directory bit
            d.compress_type = zipfile.ZIP_STORED
            zf.writestr(d, b"")
            b = entry("bin/lambda-secrets", 0o100755, date_time)
            b.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(b, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", required=True, choices=sorted(EM_BY_ARCH))
    p.add_argument("--epoch", required=True, type=int, help="SOURCE_DATE_EPOCH for every entry")
    p.add_argument("binary")
    p.add_argument("out")
    a = p.parse_args(argv)
    try:
        check_binary(a.binary, a.arch)
    except ValueError as e:
        print(f"pack_zip: {e}", file=sys.stderr)
        return 1
    write_layer_zip(a.binary, a.out, a.epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
