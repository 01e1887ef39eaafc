"""A real Open vSwitch in userspace, in network namespaces that the lab owns.

Each :class:`Ovs` is one ``ovsdb-server`` + ``ovs-vswitchd`` pair with its own
database, sockets, pid and log files under the lab's cache, the vswitchd inside a
network namespace of its own, its bridges on the userspace (netdev) datapath, so no
kernel module is needed. :class:`Lab` makes the namespaces and the veth pairs
between them and deletes everything it made when it ends, however it ends.

Standard library only; needs root and Debian's openvswitch-switch (installed by
:func:`ensure_packages` when missing).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
PREFIX = "hsovs-"  #: every namespace the lab makes starts with this


def log(msg: str) -> None:
    print(f"ovs_lab: {msg}", flush=True)


def sh(cmd: list[str] | str, check: bool = True, env: dict | None = None) -> str:
    """Run a command; its stdout. A failure is one line naming the command."""
    shell = isinstance(cmd, str)
    p = subprocess.run(cmd, shell=shell, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise SystemExit(f"ovs_lab: {cmd if shell else ' '.join(cmd)}: "
                         f"{(p.stderr or p.stdout).strip()[-400:]}")
    return p.stdout


def ensure_packages() -> None:
    """Debian's openvswitch-switch and tshark's dumpcap, when missing (apt-get)."""
    missing = [pkg for tool, pkg in (("ovs-vswitchd", "openvswitch-switch"),
                                     ("dumpcap", "tshark")) if not shutil.which(tool)
               and not Path("/usr/sbin", tool).exists()]
    if missing:
        log(f"installing {' '.join(missing)} (apt-get)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sh(["apt-get", "install", "-y", "-q", *missing], env=env)


class Ovs:
    """One Open vSwitch (database + vswitchd) with its files in ``CACHE/name``, the
    vswitchd in namespace ``ns``."""

    def __init__(self, name: str, ns: str):
        self.name, self.ns = name, ns
        self.dir = CACHE / name
        self.db = f"unix:{self.dir}/db.sock"
        self.ctl = str(self.dir / "vswitchd.ctl")
        self.env = dict(os.environ, OVS_RUNDIR=str(self.dir), OVS_LOGDIR=str(self.dir),
                        OVS_DBDIR=str(self.dir))

    def start(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        d = self.dir
        sh(["ovsdb-tool", "create", str(d / "conf.db"), str(SCHEMA)])
        sh(["ovsdb-server", str(d / "conf.db"), f"--remote=p{self.db}",
            f"--pidfile={d}/ovsdb-server.pid", f"--unixctl={d}/ovsdb-server.ctl",
            f"--log-file={d}/ovsdb-server.log", "--detach"], env=self.env)
        self.vsctl("--no-wait", "init")
        sh(["ip", "netns", "exec", self.ns, "ovs-vswitchd", self.db,
            f"--pidfile={d}/ovs-vswitchd.pid", f"--unixctl={self.ctl}",
            f"--log-file={d}/ovs-vswitchd.log", "--detach"], env=self.env)

    def stop(self) -> None:
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = self.dir / f"{daemon}.pid"
            try:
                pid = int(pidfile.read_text())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def vsctl(self, *args: str) -> str:
        return sh(["ovs-vsctl", f"--db={self.db}", *args], env=self.env)

    def appctl(self, *args: str) -> str:
        return sh(["ovs-appctl", "-t", self.ctl, *args], env=self.env)

    def version(self) -> str:
        return sh(["ovs-vswitchd", "--version"]).splitlines()[0].strip()

    def bridge(self, name: str) -> None:
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")

    def wait_bond(self, bond: str, members: int, timeout: float = 30.0,
                  lacp: bool = False) -> str:
        """bond/show once ``members`` members are enabled (and LACP negotiated)."""
        deadline = time.monotonic() + timeout
        while True:
            show = self.appctl("bond/show", bond)
            enabled = show.count(": enabled\n")
            if enabled >= members and (not lacp or "lacp_status: negotiated" in show):
                return show
            if time.monotonic() > deadline:
                raise SystemExit(f"ovs_lab: {self.name}: bond {bond} not up after "
                                 f"{timeout:.0f} s:\n{show}")
            time.sleep(0.2)


class Lab:
    """The namespaces, veth pairs and switches of one run; all gone when it ends.

    ``with Lab() as lab:`` makes namespaces ``hsovs-sw`` (the bonded host's Open
    vSwitch) and ``hsovs-far`` (the other end of every link: the injector and the
    captures, or a partner Open vSwitch). SIGINT and SIGTERM end it the same way.
    """

    SW, FAR = PREFIX + "sw", PREFIX + "far"

    def __init__(self):
        self.switches: list[Ovs] = []
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Lab:
        self.down()
        self._old = {s: signal.signal(s, self._interrupted)
                     for s in (signal.SIGINT, signal.SIGTERM)}
        for ns in (self.SW, self.FAR):
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            sh(["ip", "netns", "exec", ns, "sysctl", "-qw",
                "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s in self.switches:
            s.stop()
        self.down()
        for s, h in self._old.items():
            signal.signal(s, h)

    @staticmethod
    def _interrupted(signum, frame):
        raise SystemExit(f"ovs_lab: interrupted by signal {signum}; cleaning up")

    @staticmethod
    def down() -> None:
        """Delete every namespace the lab makes (and so every veth in them)."""
        for ns in sh(["ip", "netns", "list"]).split():
            if ns.startswith(PREFIX):
                subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)

    def ovs(self, name: str, ns: str) -> Ovs:
        s = Ovs(name, ns)
        s.start()
        self.switches.append(s)
        return s

    def link(self, near: str, far: str, near_mac: str | None = None,
             far_mac: str | None = None) -> None:
        """A veth pair: ``near`` in the switch namespace, ``far`` in the far one, both up,
        without IPv6 (no router solicitations or MLD reports on the links)."""
        sh(["ip", "link", "add", near, "netns", self.SW, "type", "veth", "peer", "name", far,
            "netns", self.FAR])
        for ns, dev, mac in ((self.SW, near, near_mac), (self.FAR, far, far_mac)):
            if mac:
                sh(["ip", "-n", ns, "link", "set", dev, "address", mac])
            sh(["ip", "-n", ns, "link", "set", dev, "up"])

    def popen(self, ns: str, cmd: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], **kw)
        self.procs.append(p)
        return p
