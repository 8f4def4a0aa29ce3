"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd (Debian's slurm-wlm
and munge, installed by ``make -C tools test-deps``), started in the foreground as this test
session's own processes with a generated ``slurm.conf`` in a temporary directory, and stopped by
their process ids.

Nothing here touches the machine's own Slurm or munge: every path (key, socket, spool, state,
logs, pid files) is under the directory given, the ports are free ones picked at start, and the
client commands find the cluster through ``SLURM_CONF`` in the environment the fixture returns.
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

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


def missing_programs() -> list[str]:
    """Slurm and munge programs not found on PATH (or in /usr/sbin, where Debian puts daemons)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    return [p for p in DAEMONS if shutil.which(p, path=path) is None]


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


@dataclass
class SlurmCluster:
    root: Path
    cpus: int = 2
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
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={sock}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool",
            f"SlurmctldPidFile={r}/run/slurmctld.pid",
            f"SlurmdPidFile={r}/run/slurmd.pid",
            f"SlurmctldLogFile={r}/slurmctld.log",
            f"SlurmdLogFile={r}/slurmd.log",
            "ProctrackType=proctrack/pgid",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "ReturnToService=2",
            "MinJobAge=30",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={mem} State=UNKNOWN",
            f"PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP",
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
        self.procs["slurmd"] = subprocess.Popen(
            [self._sbin("slurmd"), "-D", "-f", str(conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=open(r / "slurmd.err", "w"), start_new_session=True)

        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
            return out.returncode == 0 and out.stdout.strip() == "idle"

        self._wait_for(idle, timeout, "slurmd (node idle)")

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

    def logs(self) -> str:
        return "; ".join(f"{n}: {_tail(self.root / f'{n}.log')} {_tail(self.root / f'{n}.err')}"
                         for n in ("munged", "slurmctld", "slurmd"))

    def stop(self) -> None:
        """Stops the daemons this object started (and only those), by their process ids, after
        cancelling whatever jobs are left in this cluster."""
        if self.procs.get("slurmctld") is not None and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--user", getpass.getuser()], env={**os.environ, **self.env},
                           capture_output=True, timeout=30)
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
