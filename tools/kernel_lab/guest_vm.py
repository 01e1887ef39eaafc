"""The kernel lab's guest: Debian's kernel and busybox fetched with apt, an initramfs
with the bonding modules and pktlab, booted under QEMU (TCG) with one job script.

Standard library only; used by lab.py.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
# modules the guest loads (their dependencies are added from .modinfo)
MODULES = ("virtio_pci", "virtio_blk", "bonding", "dummy", "veth", "8021q")
# no devices made at load time: the jobs make and name their own
MODULE_PARAMS = {"bonding": "max_bonds=0", "dummy": "numdummies=0"}


def log(*a):
    print("kernel_lab:", *a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- fetch/build

def apt_install(pkg):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"apt-get install {pkg}")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                       env=env, capture_output=True, text=True)
    if r.returncode:
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg], env=env,
            stdout=subprocess.DEVNULL)


def kernel_package():
    """The kernel package: $KERNEL_LAB_KERNEL (lab.py --kernel-package) or the one
    linux-image-amd64 depends on now."""
    pinned = os.environ.get("KERNEL_LAB_KERNEL")
    if pinned:
        return pinned
    for attempt in (0, 1):
        r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True,
                           text=True)
        m = re.search(r"Depends:\s*(linux-image-\S+-amd64)\b", r.stdout)
        if m:
            return m.group(1)
        if attempt == 0:
            run(["apt-get", "update", "-qq"])
    raise SystemExit("kernel_lab: apt-cache knows no linux-image-amd64")


def apt_download(pkg, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    have = sorted(dest.glob(f"{pkg}_*.deb"))
    if have:
        return have[-1]
    log(f"apt-get download {pkg}")
    r = subprocess.run(["apt-get", "download", pkg], cwd=dest, capture_output=True, text=True)
    if r.returncode:
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "download", pkg], cwd=dest, capture_output=True)
    return sorted(dest.glob(f"{pkg}_*.deb"))[-1]


def module_bytes(ko: Path) -> bytes:
    """A module file's contents, decompressed (later Debian kernels ship .ko.xz or .ko.zst)."""
    if ko.name.endswith(".ko.xz"):
        import lzma
        return lzma.decompress(ko.read_bytes())
    if ko.name.endswith(".ko.gz"):
        return gzip.decompress(ko.read_bytes())
    if ko.name.endswith(".ko.zst"):
        return subprocess.run(["zstd", "-dc", str(ko)], check=True, capture_output=True).stdout
    return ko.read_bytes()


def modinfo_depends(ko: Path):
    m = re.search(rb"\0depends=([^\0]*)\0", b"\0" + module_bytes(ko))
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def setup():
    """Download and build what the guest needs; returns a dict of paths."""
    if not shutil.which("qemu-system-x86_64"):
        apt_install("qemu-system-x86")
    if not shutil.which("gcc"):
        apt_install("gcc")
    if not Path("/usr/lib/x86_64-linux-gnu/libc.a").exists():
        apt_install("libc6-dev")
    debs = CACHE / "debs"
    kpkg = kernel_package()
    kdeb = apt_download(kpkg, debs)
    bdeb = apt_download("busybox-static", debs)
    kdir = CACHE / "root" / kdeb.stem
    if not (kdir / "boot").exists():
        shutil.rmtree(kdir, ignore_errors=True)
        kdir.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(kdeb), str(kdir)])
    bdir = CACHE / "root" / bdeb.stem
    if not (bdir / "bin").exists():
        bdir.mkdir(parents=True, exist_ok=True)
        run(["dpkg-deb", "-x", str(bdeb), str(bdir)])
    vmlinuz = sorted((kdir / "boot").glob("vmlinuz-*"))[-1]
    release = vmlinuz.name[len("vmlinuz-"):]
    # /lib/modules on bookworm, /usr/lib/modules from trixie on
    moddir = next(d for d in (kdir / "lib" / "modules" / release / "kernel",
                              kdir / "usr" / "lib" / "modules" / release / "kernel") if d.exists())
    bypath = {p.name.split(".ko")[0]: p for p in moddir.rglob("*.ko*")}
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        if name not in bypath:
            raise SystemExit(f"kernel_lab: module {name} not in {kdeb.name}")
        for dep in modinfo_depends(bypath[name]):
            visit(dep)
        order.append(name)

    for m in MODULES:
        visit(m)
    pktlab = CACHE / "pktlab"
    src = HERE / "pktlab.c"
    if not pktlab.exists() or pktlab.stat().st_mtime < src.stat().st_mtime:
        run(["gcc", "-O2", "-Wall", "-static", "-o", str(pktlab), str(src)])
    return {"vmlinuz": vmlinuz, "release": release, "modules": [(m, bypath[m]) for m in order],
            "busybox": bdir / "bin" / "busybox", "pktlab": pktlab, "kernel_deb": kdeb.name,
            "busybox_deb": bdeb.name}


def tcpdump_entries():
    """The host's tcpdump (Debian's package, installed when missing) with the shared
    libraries it loads, for the guest's `-i any` captures: (path, mode, bytes) entries of
    the initramfs, and tcpdump's version line."""
    if not shutil.which("tcpdump"):
        apt_install("tcpdump")
    exe = Path(shutil.which("tcpdump")).resolve()
    r = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=True)
    libs = re.findall(r"(/\S+) \(0x", r.stdout)
    entries, dirs = [], set()
    for lib in libs:
        real = Path(lib).resolve()
        parts = Path(lib).parts[1:-1]
        for k in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:k]))
        entries.append((lib.lstrip("/"), 0o100755, real.read_bytes()))
    entries = [(d, 0o040755, b"") for d in sorted(dirs) if d not in ("bin", "tmp")] + entries
    entries.append(("bin/tcpdump", 0o100755, exe.read_bytes()))
    # tcpdump -Z root looks the user up; libpcap wants nothing else
    entries += [("etc", 0o040755, b""),
                ("etc/passwd", 0o100644,
                 b"root:x:0:0:root:/:/bin/sh\ntcpdump:x:104:109::/:/bin/false\n"),
                ("etc/group", 0o100644, b"root:x:0:\ntcpdump:x:109:\n")]
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    version = "; ".join(x.strip() for x in (v.stdout + v.stderr).splitlines()[:2])
    return entries, version


# ---------------------------------------------------------------- initramfs

def cpio_newc(entries):
    """entries: (path, mode, data bytes) with mode a full st_mode; directories have data b''."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out.write(hdr.encode() + nb)
        out.write(b"\0" * (-(110 + len(nb)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
        ino += 1
    return out.getvalue()


def build_initramfs(env, script: str, files: dict, extra=()) -> bytes:
    d, f, x = 0o040755, 0o100644, 0o100755
    entries = [(p, d, b"") for p in ("bin", "modules", "job", "proc", "sys", "dev", "tmp", "out")]
    entries += list(extra)
    entries.append(("init", x, (HERE / "guest" / "init").read_bytes()))
    entries.append(("bin/busybox", x, env["busybox"].read_bytes()))
    entries.append(("bin/pktlab", x, env["pktlab"].read_bytes()))
    order = "".join(f"{m} {MODULE_PARAMS.get(m, '')}\n" for m, _ in env["modules"])
    entries.append(("modules/order", f, order.encode()))
    for m, p in env["modules"]:
        entries.append((f"modules/{m}.ko", f, module_bytes(p)))
    entries.append(("job/run.sh", f, script.encode()))
    for name, src in files.items():
        data = src if isinstance(src, bytes) else Path(src).read_bytes()
        entries.append((f"job/{name}", f, data))
    return cpio_newc(entries)


def boot(env, script: str, files: dict, disk_mb: int, timeout=3600, extra=()) -> Path:
    """Boot the guest with a job; returns the directory holding the guest's /out.
    extra: more initramfs entries (tcpdump_entries())."""
    rundir = CACHE / "run"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    (rundir / "initramfs.cpio").write_bytes(build_initramfs(env, script, files, extra))
    disk = rundir / "out.img"
    with open(disk, "wb") as fh:
        fh.truncate(disk_mb << 20)
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "1",
           "-nographic", "-no-reboot", "-nic", "none",
           "-kernel", str(env["vmlinuz"]), "-initrd", str(rundir / "initramfs.cpio"),
           "-append", "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init",
           "-drive", f"file={disk},format=raw,if=virtio"]
    t0 = time.monotonic()
    log(f"booting {env['vmlinuz'].name} under QEMU (TCG)")
    with open(rundir / "console.log", "wb") as con:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=con, stderr=subprocess.STDOUT,
                           timeout=timeout)
    log(f"guest done in {time.monotonic() - t0:.1f} s (qemu status {p.returncode})")
    out = rundir / "out"
    out.mkdir()
    try:
        with tarfile.open(disk) as tf:
            tf.extractall(out)
    except tarfile.TarError as e:
        raise SystemExit(f"kernel_lab: no results from the guest ({e});"
                         f" see {rundir}/console.log") from None
    status = (out / "status.txt").read_text().strip() if (out / "status.txt").exists() else "?"
    if status != "ok":
        if (out / "job.log").exists():
            sys.stderr.write((out / "job.log").read_text()[-3000:])
        raise SystemExit(f"kernel_lab: the guest job failed; see {out}/job.log")
    return out
