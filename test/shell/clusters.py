"""Real schedulers on this one machine for the tests, each started in the foreground as this test
session's own processes, configured in a temporary directory, and stopped by their process ids.
Debian's packages (``make -C tools test-deps``) provide the programs.

- :class:`SlurmCluster`: munged, slurmctld and one slurmd per node (two nodes by default, as
  Slurm's multiple-slurmd mode allows on one host; ``slurm-wlm`` 22.05 and ``munge``).  Clients
  find it through ``SLURM_CONF``.
- :class:`SgeCluster`: a private Grid Engine cell (``gridengine-master``/``-exec``/``-client``
  8.1.9): sge_qmaster and sge_execd (``SGE_ND``: not daemonized), classic spooling, one queue
  with 2 slots and an ``smp`` parallel environment.  Clients find it through ``SGE_ROOT``,
  ``SGE_CELL`` and the two port variables.

Nothing here touches the machine's own Slurm, munge or Grid Engine: every path (keys, sockets,
spool, state, logs, pid files, the SGE_ROOT, which only links Debian's binaries) is under the
directory given, and the ports are free ones picked at start.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SLURM_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
SGE_PROGRAMS = ("sge_qmaster", "sge_execd", "qconf", "qsub", "qstat", "qdel")
SGE_BINARIES = Path("/var/lib/gridengine")  # Debian's SGE_ROOT: bin, lib, util, utilbin
SGE_LIBEXEC = Path("/usr/lib/gridengine")  # spoolinit, spooldefaults


def missing_programs(programs=SLURM_PROGRAMS) -> list[str]:
    """Programs not found on PATH (or in /usr/sbin, where Debian puts daemons)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    return [p for p in programs if shutil.which(p, path=path) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 4096


def _tail(path: Path, n: int = 6) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class _Daemons:
    """What both clusters share: their daemons' processes, waiting for them, stopping them."""

    root: Path
    procs: dict
    env: dict

    def logs(self) -> str:  # pragma: no cover - each cluster names its own logs
        raise NotImplementedError

    def _wait_for(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0]} exited with code {self.procs[dead[0]].returncode}: " + self.logs())
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} not ready after {timeout:.0f} s: " + self.logs())

    def _stop(self, names) -> None:
        """SIGTERM to each named daemon this object started (and only those), then SIGKILL after 15 s."""
        for name in names:
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@dataclass
class SlurmCluster(_Daemons):
    root: Path
    cpus: int = 2   # per node
    nodes: int = 2  # slurmd daemons on this one host (NodeHostname), for multi-node jobs
    procs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)

    def _sbin(self, name: str) -> str:
        path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
        return shutil.which(name, path=path) or name

    def start(self, timeout: float = 40.0) -> None:
        """Starts the three daemons; raises RuntimeError (with their logs' tails) when the node does
        not come up idle within ``timeout`` seconds."""
        r = self.root
        for d in ("run", "spool", "state"):
            (r / d).mkdir(parents=True, exist_ok=True)
        (r / "run").chmod(0o755)
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = r / "run/munge.sock"
        host = socket.gethostname().split(".")[0]
        user = getpass.getuser()
        # slurmd refuses a node whose configured memory exceeds what it finds
        mem = max(1024, int(_mem_mb() * 0.8))
        conf = r / "slurm.conf"
        conf.write_text("\n".join([
            "ClusterName=tse2test",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",  # each node below has its own Port
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={sock}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool.%n",
            f"SlurmctldPidFile={r}/run/slurmctld.pid",
            f"SlurmdPidFile={r}/run/slurmd.%n.pid",
            f"SlurmctldLogFile={r}/slurmctld.log",
            f"SlurmdLogFile={r}/slurmd.%n.log",
            "ProctrackType=proctrack/pgid",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "ReturnToService=2",
            "MinJobAge=30",
            *[f"NodeName={n} NodeHostname={host} NodeAddr=127.0.0.1 Port={_free_port()} CPUs={self.cpus} "
              f"RealMemory={mem} State=UNKNOWN" for n in self.node_names],
            f"PartitionName=cpu Nodes={','.join(self.node_names)} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))
        self.env = {"SLURM_CONF": str(conf)}
        env = {**os.environ, **self.env}
        # in the foreground (-F/-D), so that these are the daemons' own process ids
        self.procs["munged"] = subprocess.Popen(
            [self._sbin("munged"), "-F", "--force", f"--socket={sock}", f"--key-file={key}",
             f"--log-file={r}/munged.log", f"--pid-file={r}/run/munged.pid", f"--seed-file={r}/munged.seed"],
            stdout=subprocess.DEVNULL, stderr=open(r / "munged.err", "w"), start_new_session=True)
        self._wait_for(lambda: sock.exists(), 10, "munged")
        self.procs["slurmctld"] = subprocess.Popen(
            [self._sbin("slurmctld"), "-D", "-i", "-f", str(conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=open(r / "slurmctld.err", "w"), start_new_session=True)
        for n in self.node_names:
            self.procs[f"slurmd.{n}"] = subprocess.Popen(
                [self._sbin("slurmd"), "-D", "-N", n, "-f", str(conf)], env=env,
                stdout=subprocess.DEVNULL, stderr=open(r / f"slurmd.{n}.err", "w"), start_new_session=True)

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], env=env, capture_output=True, text=True)
            return out.returncode == 0 and out.stdout.split() == ["idle"] * self.nodes

        self._wait_for(idle, timeout, "slurmd (nodes idle)")

    @property
    def node_names(self) -> list[str]:
        return [f"tse2n{i + 1}" for i in range(self.nodes)]

    def logs(self) -> str:
        names = ["munged", "slurmctld", *(f"slurmd.{n}" for n in self.node_names)]
        return "; ".join(f"{n}: {_tail(self.root / f'{n}.log')} {_tail(self.root / f'{n}.err')}" for n in names)

    def stop(self) -> None:
        """Stops the daemons this object started (and only those), by their process ids, after
        cancelling whatever jobs are left in this cluster."""
        if self.procs.get("slurmctld") is not None and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--user", getpass.getuser()], env={**os.environ, **self.env},
                           capture_output=True, timeout=30)
        self._stop([k for k in self.procs if k.startswith("slurmd")] + ["slurmctld", "munged"])


class SgeCluster(_Daemons):
    """A private Grid Engine cell (module doc) with one queue ``tse2.q`` of ``slots`` slots."""

    def __init__(self, root: Path, slots: int = 2) -> None:
        self.root, self.slots = root, slots
        self.procs: dict = {}
        self.env: dict = {}

    def _run(self, *cmd, check: bool = True, **kw) -> subprocess.CompletedProcess:
        out = subprocess.run(list(cmd), env={**os.environ, **self.env}, capture_output=True, text=True, timeout=60, **kw)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stdout.strip()} {out.stderr.strip()} {self.logs()}")
        return out

    def start(self, timeout: float = 40.0) -> None:
        r = self.root
        sge_root, cell = r / "sge_root", "tse2"
        common = sge_root / cell / "common"
        common.mkdir(parents=True)
        for d in ("bin", "lib", "util", "utilbin"):
            (sge_root / d).symlink_to(SGE_BINARIES / d)
        spool = r / "spool"
        for d in ("common", "qmaster", "execd"):
            (spool / d).mkdir(parents=True)
        host = socket.gethostname()
        (common / "bootstrap").write_text("\n".join([
            "Version: 6.2", "admin_user none", "default_domain none", "ignore_fqdn true",
            "spooling_method classic", "spooling_lib libspoolc",
            f"spooling_params {spool}/common;{spool}/qmaster", "binary_path /usr/sbin",
            f"qmaster_spool_dir {spool}/qmaster", "security_mode none", "listener_threads 2",
            "worker_threads 2", "scheduler_threads 1", ""]))
        (common / "act_qmaster").write_text(host + "\n")
        # where the host name and localhost resolve to the same address, Grid Engine's reverse
        # lookup says "localhost": make it an alias of the host name
        (common / "host_aliases").write_text(f"{host} localhost\n")
        conf = (Path("/usr/share/gridengine/default-configuration").read_text()
                .replace("/var/spool/gridengine/execd", str(spool / "execd")))
        conf = "\n".join("min_uid 0" if ln.startswith("min_uid") else "min_gid 0" if ln.startswith("min_gid") else ln
                         for ln in conf.splitlines()) + "\n"
        (r / "configuration").write_text(conf)
        self.env = {"SGE_ROOT": str(sge_root), "SGE_CELL": cell, "SGE_QMASTER_PORT": str(_free_port()),
                    "SGE_EXECD_PORT": str(_free_port())}
        params = f"{spool}/common;{spool}/qmaster"
        self._run(str(SGE_LIBEXEC / "spoolinit"), "classic", "libspoolc", params, "init")
        for what, src in (("configuration", r / "configuration"),
                          ("complexes", "/usr/share/gridengine/util/resources/centry"),
                          ("usersets", "/usr/share/gridengine/util/resources/usersets"),
                          ("managers", getpass.getuser())):
            self._run(str(SGE_LIBEXEC / "spooldefaults"), what, str(src))
        env = {**os.environ, **self.env, "SGE_ND": "1"}
        self.procs["sge_qmaster"] = subprocess.Popen(["/usr/sbin/sge_qmaster"], env=env, cwd=r,
                                                     stdout=open(r / "sge_qmaster.log", "w"), stderr=subprocess.STDOUT)
        self._wait_for(lambda: self._run("qconf", "-sh", check=False).returncode == 0, timeout, "sge_qmaster")
        self._run("qconf", "-as", host, check=False)  # already one on some versions
        (r / "smp").write_text("pe_name smp\nslots 999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\n"
                               "stop_proc_args NONE\nallocation_rule $pe_slots\ncontrol_slaves FALSE\n"
                               "job_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n")
        self._run("qconf", "-Ap", str(r / "smp"))
        queue = self._run("qconf", "-sq").stdout  # the template queue, filled in
        queue = "\n".join({"qname": "qname tse2.q", "hostlist": f"hostlist {host}", "slots": f"slots {self.slots}",
                           "pe_list": "pe_list smp", "shell": "shell /bin/bash"}.get(ln.split()[0], ln)
                          for ln in queue.splitlines() if ln.strip()) + "\n"
        (r / "tse2.q").write_text(queue)
        self._run("qconf", "-Aq", str(r / "tse2.q"))
        sched = self._run("qconf", "-ssconf").stdout  # schedule every second, not every 15 s
        sched = "\n".join({"schedule_interval": "schedule_interval 0:0:1", "flush_submit_sec": "flush_submit_sec 1",
                           "flush_finish_sec": "flush_finish_sec 1"}.get(ln.split()[0], ln)
                          for ln in sched.splitlines() if ln.strip()) + "\n"
        (r / "sconf").write_text(sched)
        self._run("qconf", "-Msconf", str(r / "sconf"))
        self.procs["sge_execd"] = subprocess.Popen(["/usr/sbin/sge_execd"], env=env, cwd=r,
                                                   stdout=open(r / "sge_execd.log", "w"), stderr=subprocess.STDOUT)

        def queue_up() -> bool:  # the execd reported: the queue instance has no "u"nknown state
            out = self._run("qstat", "-f", "-q", "tse2.q", check=False).stdout
            rows = [ln for ln in out.splitlines() if ln.startswith("tse2.q@")]
            return bool(rows) and len(rows[0].split()) == 5

        self._wait_for(queue_up, timeout, "sge_execd (queue tse2.q up)")

    def logs(self) -> str:
        return "; ".join(f"{n}: {_tail(self.root / f'{n}.log')}" for n in ("sge_qmaster", "sge_execd"))

    def stop(self) -> None:
        """Deletes what is left of the jobs, then stops the two daemons, by their process ids."""
        if self.procs.get("sge_qmaster") is not None and self.procs["sge_qmaster"].poll() is None:
            self._run("qdel", "-f", "-u", getpass.getuser(), check=False)
        self._stop(["sge_execd", "sge_qmaster"])
