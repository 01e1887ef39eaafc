#!/usr/bin/env python3
"""The kernel lab: ground truth from the real Linux bonding driver.

Boots Debian's own kernel under QEMU (no KVM needed) with a small initramfs
(busybox, the bonding/dummy/veth/8021q modules from the kernel package, and
pktlab, a static injector/tap), builds bonds inside, replays captures into
them with AF_PACKET and records which slave every frame left on.

    lab.py all                      vectors + every scenario (the one command)
    lab.py vectors [--out DIR]      the hash-core vectors, checked against tests/data/vectors
    lab.py scenarios [NAME...]      replay captures/scenarios/*/input.pcap, rewrite their outputs
    lab.py replay IN.pcap OUTDIR --mode M --policy P --slaves a,b [--vlan offload] [--local-mac MAC]
    lab.py lacp-check               802.3ad bonds (real aggregators) against the balance-xor vectors
    lab.py fetch                    download and build only (kernel, busybox, qemu, pktlab)

Files: guest_vm.py (fetching, the initramfs, booting QEMU), pcap_files.py (the
captures it reads and writes), guest/init (the guest's PID 1), pktlab.c (the
injector/tap), make_inputs.py (the scenarios' input captures).

Standard library only. Needs root for apt-get (only when something is missing).
Downloads (with apt, from Debian's archive): the linux-image-*-amd64 package that
linux-image-amd64 depends on, busybox-static, and qemu-system-x86 when
qemu-system-x86_64 is missing. Everything goes to tools/kernel_lab/cache/.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from guest_vm import CACHE, HERE, boot, log, setup, tcpdump_entries
from pcap_files import frame_kind, read_pcap, read_sll2_pcap, write_pcap, write_pcapng

ROOT = HERE.parent.parent
VECTORS = ROOT / "tests" / "data" / "vectors"
SCENARIOS = ROOT / "captures" / "scenarios"

POLICIES = ("encap2+3", "encap3+4", "layer2", "layer2+3", "layer3+4", "vlan+srcmac")
COUNTS = (2, 3, 4, 5, 8)
OFFLOAD_VIDS = (10, 300, 1234)


# ---------------------------------------------------------------- vectors

VECTOR_SETS = (("linux-6.1", False), ("linux-6.1-vlan-offload", True))
# CRLF line ends, as Python's csv module writes them (the committed files have them)
HEADER = "frame_index,kind,kernel,mode,xmit_hash_policy,slave_count,slave_index\r\n"


def vectors_script():
    lines = ["log vectors"]
    for pol in POLICIES:
        for n in COUNTS:
            names = [f"dummy{i}" for i in range(n)]
            lines += [f"dummies {' '.join(names)}",
                      f"mkbond bond0 balance-xor {pol}",
                      f"enslave bond0 {' '.join(names)}",
                      f"vlans bond0 {' '.join(map(str, OFFLOAD_VIDS))}"]
            for s, vlan in VECTOR_SETS:
                o = f"/out/{s}/{pol}-{n}"
                lines += [f"mkdir -p {o}",
                          f"pktlab -i /job/{s}.pcap -o {o} -d bond0 -t {','.join(names)}"
                          + (" -V" if vlan else ""),
                          f"rm -f {o}/*.pcap"]
            lines += ["rmbond bond0"] + [f"ip link del {d}" for d in names]
    return "\n".join(lines) + "\n"


def cmd_vectors(args, env=None):
    env = env or setup()
    outroot = Path(args.out) if args.out else CACHE / "out" / "vectors"
    src = Path(args.frames) if args.frames else VECTORS
    files = {f"{s}.pcap": src / s / "frames.pcap" for s, _ in VECTOR_SETS}
    t0 = time.monotonic()
    res = boot(env, vectors_script(), files, disk_mb=64)
    kernel = (res / "kernel.txt").read_text().strip()
    ok = True
    for s, vlan in VECTOR_SETS:
        frames = read_pcap(files[f"{s}.pcap"])
        kinds = [frame_kind(d, vlan) for _, _, d, _ in frames]
        rows = [HEADER]
        for pol in POLICIES:
            for n in COUNTS:
                d = res / s / f"{pol}-{n}"
                idx = [int(x) for x in (d / "index.txt").read_text().split()]
                stats = (d / "stats.txt").read_text()
                if len(idx) != len(frames) or any(i < 0 for i in idx):
                    log(f"{s} {pol} {n}: frames not seen or seen twice:\n{stats}")
                    ok = False
                rows += [f"{i},{kinds[i]},{kernel},balance-xor,{pol},{n},{idx[i]}\r\n"
                         for i in range(len(frames))]
        o = outroot / s
        o.mkdir(parents=True, exist_ok=True)
        (o / "vectors.csv").write_bytes("".join(rows).encode())
        shutil.copyfile(files[f"{s}.pcap"], o / "frames.pcap")
        log(f"wrote {o}/vectors.csv ({len(rows) - 1} rows, kernel {kernel})")
    log(f"vectors: {time.monotonic() - t0:.0f} s")
    ref = Path(args.compare) if args.compare else VECTORS
    for s, _ in VECTOR_SETS:
        if not compare_vectors(outroot / s / "vectors.csv", ref / s):
            ok = False
    if not ok:
        raise SystemExit(1)


def compare_vectors(new: Path, refdir: Path) -> bool:
    ref = refdir / "vectors.csv"
    raw = ref.read_bytes() if ref.exists() else gzip.open(refdir / "vectors.csv.gz").read()
    same = raw == new.read_bytes()
    a = raw.decode().splitlines()[1:]
    b = new.read_text().splitlines()[1:]

    def key(r):
        return tuple(r.split(",")[i] for i in (4, 5, 0))

    ra = {key(r): r.split(",") for r in a}
    rb = {key(r): r.split(",") for r in b}
    diff_slave = [k for k in ra if k in rb and ra[k][6] != rb[k][6]]
    diff_kind = [k for k in ra if k in rb and ra[k][1] != rb[k][1]]
    missing = [k for k in ra if k not in rb]
    extra = [k for k in rb if k not in ra]
    kernels = sorted({r[2] for r in ra.values()}), sorted({r[2] for r in rb.values()})
    agree = len(ra) - len(diff_slave) - len(missing)
    log(f"{refdir.name}: {agree}/{len(ra)} rows agree on slave_index with {refdir}"
        f" (kind differs {len(diff_kind)}, missing {len(missing)}, extra {len(extra)};"
        f" kernels {kernels[0]} vs {kernels[1]}; byte-identical: {'yes' if same else 'no'})")
    for k in diff_slave[:50]:
        log(f"  differs: policy {k[0]} slaves {k[1]} frame {k[2]}: {ra[k][6]} -> {rb[k][6]}")
    return not (diff_slave or diff_kind or missing or extra)


# ---------------------------------------------------------------- replay / scenarios

# the modes that pick a slave by the transmit hash (the others leave xmit_hash_policy unused)
HASH_MODES = ("balance-xor", "802.3ad")
MODES = HASH_MODES + ("balance-rr", "active-backup", "broadcast")
# tcpdump -i any in the guest: SLL2 records of 20 header bytes and 114 bytes of the packet
# after its Ethernet header, as much as the slave captures keep (snaplen 128)
ANY_SNAPLEN = 134
ANY_COMMAND = (f"tcpdump -i any -y LINUX_SLL2 -s {ANY_SNAPLEN} -B 16384 --immediate-mode -U -n"
               " -Z root -w any.pcap")


def replay_script(job):
    """job: dict(mode, policy, slaves, vlan, local_mac, input name, out name; optional
    events [{before_frame, command}], any (tcpdump -i any), primary)."""
    s, b, o = job["slaves"], "bond0", f"/out/{job['out']}"
    mac = job.get("local_mac") or ""
    lines = [f"log replay {job['out']}", f"mkdir -p {o}"]
    if job.get("any"):
        # its own network namespace, so the interface indexes are the same run after run
        # (lo 1, then the devices in the order made here), whatever ran before in the boot
        lines = ["mount -t sysfs sysfs /sys", ". /job/helpers.sh", "ip link set lo up",
                 "sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
                 " net.ipv6.conf.default.disable_ipv6=1"] + lines
    if job["mode"] == "802.3ad":
        # the LACP partner: a bond in its own network namespace, over veth pairs
        # (its own mount namespace too: a sysfs mounted there shows that namespace's devices)
        lines += ["unshare -n -m sh -c 'mount -t sysfs sysfs /sys; exec sleep 100000' &",
                  "NS=$!", "sleep 1"]
        for i, name in enumerate(s):
            lines += [f"ip link add {name} type veth",  # the peer is named vethN by the kernel
                      f"ip link set veth0 name swp{i}",
                      f"ip link set swp{i} address 02:00:00:00:5e:{0x10 + i:02x}",
                      f"ip link set swp{i} netns $NS"]
        ports = " ".join(f"swp{i}" for i in range(len(s)))
        lines.append("nsenter -t $NS -n -m sh -c '. /job/helpers.sh; ip link set lo up;"
                     f" mkbond po1 802.3ad layer3+4 02:00:00:00:5e:01; enslave po1 {ports}'")
    else:
        lines.append(f"dummies {' '.join(s)}")
    # fixed permanent addresses, so that the bonding text is the same run after run
    lines += [f"ip link set {name} address 02:00:00:00:b0:{i:02x}" for i, name in enumerate(s)]
    lines += [f"mkbond {b} {job['mode']} {job['policy'] or '-'} {mac}"]
    if job.get("primary"):
        lines.append(f"echo {job['primary']} > /sys/class/net/{b}/bonding/primary")
    lines.append(f"enslave {b} {' '.join(s)}")
    vids = job.get("vids") or []
    if vids:
        lines.append(f"vlans {b} {' '.join(map(str, vids))}")
    if job["mode"] == "802.3ad":
        lines.append(f"wait_lacp {b} {len(s)}")
    else:
        lines.append("sleep 1")
    if job.get("any"):
        lines += [f"for f in /sys/class/net/*/ifindex; do d=${{f%/ifindex}};"
                  f" echo $(cat $f) ${{d##*/}}; done > {o}/ifindex.txt",
                  f"{ANY_COMMAND.replace('any.pcap', f'{o}/any.raw.pcap')} 2> {o}/tcpdump.txt &",
                  "TD=$!", "i=0",
                  f"until grep -q 'listening on' {o}/tcpdump.txt; do"
                  " usleep 100000; i=$((i + 1)); [ $i -lt 300 ]; done"]
    events = "".join(f" -x '{e['before_frame']}:{e['command']}'" for e in job.get("events", ()))
    lines += [f"pktlab -i /job/{job['input']} -o {o} -d {b} -t {','.join(s)}"
              + (" -V" if job["vlan"] == "offload" else "") + events,
              f"cat /proc/net/bonding/{b} > {o}/proc_net_bonding_{b}.txt"]
    if job.get("any"):
        lines += ["sleep 2", "kill -INT $TD", "wait $TD"]
    if job["mode"] == "802.3ad":
        lines += ["nsenter -t $NS -n cat /proc/net/bonding/po1 > " + o + "/partner_po1.txt",
                  "kill $NS"]
    lines.append(f"rmbond {b}")
    lines += [f"ip link del {d} 2>/dev/null || true" for d in s]
    return "\n".join(lines) + "\n"


def job_script(k, job, files):
    """The guest's lines for job k; a job with an any capture runs in its own network and
    mount namespace from a script of its own."""
    text = replay_script(job)
    if not job.get("any"):
        return text
    files[f"r{k}.sh"] = text.encode()
    return f"unshare -n -m sh -e /job/r{k}.sh\n"


def helpers_text():
    """The helper functions of guest/init, for shells started with nsenter."""
    text = (HERE / "guest" / "init").read_text()
    a = text.index("log() {")
    z = text.index("uname -r > /out/kernel.txt")
    return text[a:z]


def run_replays(jobs, env=None):
    """jobs: dicts with input (Path), mode, policy, slaves, vlan, local_mac; returns result dirs."""
    env = env or setup()
    files = {"helpers.sh": helpers_text().encode()}
    script = []
    size = 0
    extra, tcpdump = (), None
    if any(j.get("any") for j in jobs):
        extra, tcpdump = tcpdump_entries()
    for k, job in enumerate(jobs):
        frames = read_pcap(job["input"])
        job = dict(job, input=f"in{k}.pcap", out=f"r{k}")
        if job["vlan"] == "offload":
            job["vids"] = sorted({int.from_bytes(d[14:16], "big") & 0xFFF for _, _, d, _ in frames
                                  if d[12:14] == b"\x81\x00"})
        files[job["input"]] = Path(jobs[k]["input"])
        size += Path(jobs[k]["input"]).stat().st_size
        script.append(job_script(k, job, files))
    res = boot(env, "".join(script), files, disk_mb=64 + 8 * (size >> 20), extra=extra)
    for job in jobs:
        if job.get("any"):
            job["tcpdump"] = tcpdump
    return [res / f"r{k}" for k in range(len(jobs))], (res / "kernel.txt").read_text().strip()


def finish_replay(job, resdir: Path, outdir: Path, kernel: str, extra=None):
    """Copy a replay's results into outdir: per-slave pcaps, merged pcapng, bonding text,
    manifest."""
    outdir.mkdir(parents=True, exist_ok=True)
    frames = read_pcap(job["input"])
    idx = [int(x) for x in (resdir / "index.txt").read_text().split()]
    stats = (resdir / "stats.txt").read_text()
    # broadcast: every frame on every slave (pktlab's -2, checked below); else one slave each
    ok = (lambda i: i == -2) if job["mode"] == "broadcast" else (lambda i: i >= 0)
    if len(idx) != len(frames) or not all(ok(i) for i in idx):
        raise SystemExit(f"kernel_lab: {outdir.name}: frames lost or duplicated:\n{stats}")
    counts = {}
    for s in job["slaves"]:
        shutil.copyfile(resdir / f"{s}.pcap", outdir / f"{s}.pcap")
        counts[s] = len(read_pcap(outdir / f"{s}.pcap"))
    if job["mode"] == "broadcast" and any(n != len(frames) for n in counts.values()):
        raise SystemExit(f"kernel_lab: {outdir.name}: broadcast frames missing:\n{stats}")
    inp = outdir / "input.pcap"
    if Path(job["input"]).resolve() != inp.resolve():
        shutil.copyfile(job["input"], inp)
    # merged: one interface per slave, in the order the bond sent the frames (broadcast:
    # each frame on every slave, in enslave order, the order the bond sends its copies)
    per = {s: iter(read_pcap(outdir / f"{s}.pcap")) for s in job["slaves"]}
    recs = []
    for i in idx:
        for k in range(len(job["slaves"])) if i == -2 else (i,):
            s, us, d, ol = next(per[job["slaves"][k]])
            recs.append((k, s, us, d, ol))
    write_pcapng(outdir / "merged.pcapng", job["slaves"], recs)
    any_info = finish_any(job, resdir, outdir, frames, idx) if job.get("any") else None
    for f in resdir.glob("*.txt"):
        if f.name.startswith(("proc_net_bonding", "partner")):
            shutil.copyfile(f, outdir / f.name)
    manifest = {
        "mode": job["mode"], "xmit_hash_policy": job["policy"], "slaves": list(job["slaves"]),
        "vlan": job["vlan"], "local_mac": job["local_mac"],
        "description": job.get("description", ""),
        "kernel": kernel, "input": "input.pcap",
        "slave_captures": {s: f"{s}.pcap" for s in job["slaves"]},
        "merged": "merged.pcapng", "proc_net_bonding": "proc_net_bonding_bond0.txt",
        "packets": len(frames), "packets_per_slave": counts,
    }
    if job["mode"] == "802.3ad":
        manifest["lacp_partner"] = ("a second 802.3ad bond (po1, lacp_rate fast) in its own network"
                                    " namespace, one veth pair per slave; its view is in"
                                    " partner_po1.txt")
    if job.get("primary"):
        manifest["primary"] = job["primary"]
    if job.get("events"):
        manifest["events"] = job["events"]
    if extra:
        manifest.update(extra)
    if any_info:
        manifest["any_capture"] = any_info
    (outdir / "scenario.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return counts


def finish_any(job, resdir: Path, outdir: Path, frames, idx):
    """tcpdump -i any's capture (SLL2) from the guest, as any.pcap: tcpdump's own file
    header and records, each record's timestamp replaced by that of the input frame it is a
    copy of (the guest's clock differs run to run). Checks that every input frame is there on
    bond0 (and bond0.VID with offload) and on the slave(s) that sent it, nothing else."""
    names = {}
    for line in (resdir / "ifindex.txt").read_text().split("\n"):
        if line.strip():
            i, n = line.split()
            names[int(i)] = n
    log_text = (resdir / "tcpdump.txt").read_text()
    m = re.search(r"(\d+) packets? dropped by kernel", log_text)
    if not m or int(m.group(1)):
        raise SystemExit(f"kernel_lab: {outdir.name}: tcpdump dropped packets:\n{log_text}")
    header, recs = read_sll2_pcap(resdir / "any.raw.pcap")
    slaves, b = job["slaves"], "bond0"
    out, per_if, k = [], {}, 0
    for i, (fr, want) in enumerate(zip(frames, idx, strict=True)):
        tagged = job["vlan"] == "offload"
        data = fr[2]
        vid = int.from_bytes(data[14:16], "big") & 0xFFF if tagged else None
        devs = ([f"{b}.{vid}"] if tagged else []) + [b] + (
            list(slaves) if want == -2 else [slaves[want]])
        for dev in devs:
            if k >= len(recs):
                raise SystemExit(f"kernel_lab: {outdir.name}: any capture ends at frame {i}")
            r = recs[k]
            got = names.get(r["ifindex"], "?")
            if got != dev or r["pkttype"] != 4 or r["addr"] != data[6:12]:
                raise SystemExit(f"kernel_lab: {outdir.name}: any record {k}: frame {i} on"
                                 f" {got} (pkttype {r['pkttype']}), expected {dev}")
            out.append((fr[0], fr[1], r["data"], r["orig_len"]))
            per_if[dev] = per_if.get(dev, 0) + 1
            k += 1
    if k != len(recs):
        raise SystemExit(f"kernel_lab: {outdir.name}: {len(recs) - k} more any records")
    write_pcap(outdir / "any.pcap", header, out)
    return {
        "file": "any.pcap", "linktype": 276, "linktype_name": "LINUX_SLL2",
        "tool": job.get("tcpdump") or "tcpdump",
        "command": ANY_COMMAND + " (in the guest, in the bond's network namespace)",
        "ifindex": {str(i): n for i, n in sorted(names.items())},
        "records": len(out), "records_per_interface": per_if,
        "timestamps": "each record carries the timestamp of the input frame it is a copy of"
                      " (tcpdump's guest-clock times replaced, so the file is the same run"
                      " after run); header and packet bytes are tcpdump's",
    }


def parse_event(text):
    """N:COMMAND (lab.py replay --event): COMMAND run in the guest before frame N is sent."""
    n, sep, cmd = text.partition(":")
    if not sep or not n.isdigit() or not cmd or "'" in cmd:
        raise SystemExit(f"kernel_lab: --event {text!r}: N:COMMAND (no single quotes)")
    return {"before_frame": int(n), "command": cmd}


def cmd_replay(args):
    policy = args.policy if args.mode in HASH_MODES else None
    job = {"input": Path(args.input), "mode": args.mode, "policy": policy,
           "slaves": args.slaves.split(","), "vlan": args.vlan, "local_mac": args.local_mac or "",
           "description": args.description or "", "any": args.any,
           "events": [parse_event(e) for e in args.event], "primary": args.primary}
    if not job["local_mac"]:
        job["local_mac"] = ":".join(f"{b:02x}" for b in read_pcap(job["input"])[0][2][6:12])
    (resdir,), kernel = run_replays([job])
    counts = finish_replay(job, resdir, Path(args.outdir), kernel)
    log(f"wrote {args.outdir}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))


# what scenario.json says that the lab does not work out (make_inputs.py writes them)
KEPT = ("source", "derived_from", "source_macs", "files")


def load_scenarios(names=None):
    jobs = []
    for d in sorted(SCENARIOS.iterdir()) if SCENARIOS.exists() else []:
        if names and d.name not in names:
            continue
        if not (d / "scenario.json").exists() or not (d / "input.pcap").exists():
            continue
        m = json.loads((d / "scenario.json").read_text())
        jobs.append((d, {"input": d / "input.pcap", "mode": m["mode"],
                         "policy": m["xmit_hash_policy"], "slaves": m["slaves"],
                         "vlan": m["vlan"], "local_mac": m["local_mac"],
                         "description": m.get("description", ""),
                         "any": "any_capture" in m, "events": m.get("events", []),
                         "primary": m.get("primary")},
                     {k: m[k] for k in KEPT if k in m}))
    return jobs


def cmd_scenarios(args, env=None):
    if getattr(args, "new_inputs", False):
        sys.path.insert(0, str(HERE))
        import make_inputs
        make_inputs.main(args.names or [])
    scen = load_scenarios(args.names)
    if not scen:
        raise SystemExit("kernel_lab: no scenarios"
                         " (captures/scenarios/*/scenario.json + input.pcap)")
    t0 = time.monotonic()
    dirs, kernel = run_replays([j for _, j, _ in scen], env)
    for (d, job, extra), res in zip(scen, dirs, strict=True):
        counts = finish_replay(job, res, d, kernel, extra)
        log(f"{d.name}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    log(f"scenarios: {time.monotonic() - t0:.0f} s")


LACP_CHECKS = (("layer3+4", 4), ("encap2+3", 3), ("vlan+srcmac", 5), ("layer2", 8))


def cmd_lacp_check(args, env=None):
    """802.3ad picks slaves as balance-xor does: replay linux-6.1/frames.pcap through 802.3ad
    bonds (real aggregators with an LACP partner) and compare with the balance-xor vectors."""
    inp = VECTORS / "linux-6.1" / "frames.pcap"
    jobs = [{"input": inp, "mode": "802.3ad", "policy": pol, "vlan": "inband",
             "slaves": [f"e{i}" for i in range(n)], "local_mac": "02:00:00:00:00:99"}
            for pol, n in LACP_CHECKS]
    dirs, kernel = run_replays(jobs, env)
    ref = {}
    for line in gzip.open(VECTORS / "linux-6.1" / "vectors.csv.gz", "rt").read().splitlines()[1:]:
        r = line.split(",")
        ref[(r[4], int(r[5]), int(r[0]))] = int(r[6])
    ok = True
    for job, d in zip(jobs, dirs, strict=True):
        idx = [int(x) for x in (d / "index.txt").read_text().split()]
        n = len(job["slaves"])
        agree = sum(ref[(job["policy"], n, i)] == k for i, k in enumerate(idx))
        ok &= agree == len(idx) == len(ref) // (len(POLICIES) * len(COUNTS))
        log(f"802.3ad {job['policy']} {n} slaves ({kernel}): {agree}/{len(idx)} frames on the"
            " slave the balance-xor vectors give")
    if not ok:
        raise SystemExit(1)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel-package", metavar="PKG",
                    help="the kernel package to boot (e.g. linux-image-6.1.0-56-amd64, the one"
                    " the committed files record); default: the one linux-image-amd64 depends"
                    " on now")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download and build only")
    v = sub.add_parser("vectors", help="regenerate the hash-core vectors and compare")
    v.add_argument("--out", help="output directory (default tools/kernel_lab/cache/out/vectors)")
    v.add_argument("--frames", help="directory with <set>/frames.pcap (default tests/data/vectors)")
    v.add_argument("--compare", help="directory with <set>/vectors.csv[.gz] to compare with"
                   " (default tests/data/vectors)")
    s = sub.add_parser("scenarios", help="replay captures/scenarios/*/input.pcap")
    s.add_argument("names", nargs="*")
    s.add_argument("--new-inputs", action="store_true",
                   help="first make the input captures anew (make_inputs.py: live traffic)")
    a = sub.add_parser("all", help="vectors, then every scenario")
    a.add_argument("--out",
                   help="where the vectors go (default tools/kernel_lab/cache/out/vectors)")
    a.add_argument("--new-inputs", action="store_true",
                   help="first make the scenarios' input captures anew (make_inputs.py)")
    sub.add_parser("lacp-check", help="802.3ad bonds against the balance-xor vectors")
    r = sub.add_parser("replay", help="replay one capture")
    r.add_argument("input")
    r.add_argument("outdir")
    r.add_argument("--mode", default="balance-xor", choices=MODES)
    r.add_argument("--policy", default="layer2", choices=POLICIES,
                   help="xmit_hash_policy (balance-xor and 802.3ad only)")
    r.add_argument("--primary", help="the bond's primary slave")
    r.add_argument("--event", action="append", default=[], metavar="N:COMMAND",
                   help="run COMMAND in the guest before frame N (0-based) is sent, e.g."
                   " '300:ip link set eth0 down; sleep 1'; repeatable")
    r.add_argument("--any", action="store_true",
                   help="also capture with tcpdump -i any in the guest (any.pcap, SLL2)")
    r.add_argument("--slaves", default="eth0,eth1", help="slave names in enslave order")
    r.add_argument("--vlan", default="inband", choices=("inband", "offload"),
                   help="offload: the frames carry an 802.1Q tag; send them through bond0.VID")
    r.add_argument("--local-mac", help="the bond's MAC (default: source MAC of the first frame)")
    r.add_argument("--description")
    args = ap.parse_args(argv)
    if args.kernel_package:
        os.environ["KERNEL_LAB_KERNEL"] = args.kernel_package
    t0 = time.monotonic()
    if args.cmd == "fetch":
        env = setup()
        log(f"ready: {env['kernel_deb']}, {env['busybox_deb']}, modules "
            + " ".join(m for m, _ in env["modules"]))
    elif args.cmd == "vectors":
        cmd_vectors(args)
    elif args.cmd == "scenarios":
        cmd_scenarios(args)
    elif args.cmd == "lacp-check":
        cmd_lacp_check(args)
    elif args.cmd == "replay":
        cmd_replay(args)
    elif args.cmd == "all":
        env = setup()
        args.frames = args.compare = None
        failed = None
        try:
            cmd_vectors(args, env)
        except SystemExit as e:
            failed = e
        args.names = None
        cmd_scenarios(args, env)
        if failed:
            raise failed
    log(f"total {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
