"""Throwaway PostgreSQL servers and a PgBouncer, for CI and `make loadtest` (SPEC O1, O2).

Never the shared server on 5432: each cluster lives in a temporary directory on a free port,
runs as the `postgres` OS user (PostgreSQL refuses root) and is removed by `down`.

    python -m tests.pgcluster replica DIR              # a primary and its streaming replica
    python -m tests.pgcluster pgbouncer DIR UPSTREAM   # transaction-mode PgBouncer in front
    python -m tests.pgcluster down DIR                 # stop everything under DIR, delete DIR

Each start command prints shell assignments (`PRIMARY_PORT=...`) for `eval`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SERVER_USER = "postgres"


def bindir() -> Path:
    """The newest installed server's binaries (Debian keeps one folder per major version)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        sys.exit("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
    return found[-1].parent


def free_port() -> int:
    # A server that cannot bind port 0 gets a port that was free a moment ago; `start`
    # retries with another one if it was taken in between.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_as_server_user(command), check=True, capture_output=True, text=True, **kwargs)


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class Cluster:
    """One postmaster: a data directory, a port, a log file."""

    def __init__(self, directory: Path, port: int):
        self.directory = Path(directory)
        self.port = port
        self.log = self.directory.with_suffix(".log")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> Cluster:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        _own(self.directory.parent)
        _run(
            [
                str(bindir() / "initdb"),
                "-D",
                str(self.directory),
                "-U",
                SERVER_USER,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ]
        )
        # Loopback only, trust (like the CI server), replication allowed for the replica.
        (self.directory / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        )
        with (self.directory / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "max_connections = 100\nshared_buffers = 128MB\nfsync = off\n"
                "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
            )
        return self

    def start(self) -> Cluster:
        _run(
            [
                str(bindir() / "pg_ctl"),
                "-D",
                str(self.directory),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port}",
                "start",
            ]
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.directory / "postmaster.pid").exists():
            _run([str(bindir() / "pg_ctl"), "-D", str(self.directory), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self) -> None:
        self.stop()
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = _run(
            [
                str(bindir() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SERVER_USER,
                "-d",
                database,
                "-XAtqc",
                statement,
            ]
        )
        return result.stdout.strip()

    def replica(self, directory: Path, port: int) -> Cluster:
        """A streaming replica of this cluster: pg_basebackup -R, its own port, hot standby."""
        _run(
            [
                str(bindir() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SERVER_USER,
                "-D",
                str(directory),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ]
        )
        standby = Cluster(directory, port)
        standby.start()
        return standby


def start_on_free_port(cluster: Cluster) -> Cluster:
    """Start an initialised cluster on a free port; another port if that one was taken meanwhile."""
    for _ in range(5):
        cluster.port = free_port()
        try:
            return cluster.start()
        except subprocess.CalledProcessError:
            continue
    raise RuntimeError("could not find a free port for PostgreSQL")


def start_primary_and_replica(root: Path) -> tuple[Cluster, Cluster]:
    root.mkdir(parents=True, exist_ok=True)
    _own(root)
    primary = start_on_free_port(Cluster(root / "primary", 0).initdb())
    return primary, _replica_of(primary, root)


def _replica_of(primary: Cluster, root: Path) -> Cluster:
    for _ in range(5):
        port = free_port()
        shutil.rmtree(root / "replica", ignore_errors=True)
        try:
            replica = primary.replica(root / "replica", port)
        except subprocess.CalledProcessError:
            continue
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.CalledProcessError):
                if replica.sql("SELECT pg_is_in_recovery()") == "t":
                    return replica
            time.sleep(0.2)
    raise RuntimeError("the replica did not start")


def start_pgbouncer(root: Path, upstream_port: int) -> int:
    """A transaction-mode PgBouncer in front of 127.0.0.1:upstream_port; returns its port."""
    root.mkdir(parents=True, exist_ok=True)
    _own(root)
    (root / "userlist.txt").write_text(f'"{SERVER_USER}" ""\n')
    for _ in range(5):
        port = free_port()
        (root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={upstream_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {root / 'userlist.txt'}\nadmin_users = {SERVER_USER}\n"
            "pool_mode = transaction\n"
            # What most deployments (and Heroku's buildpack) leave: the one parameter it ignores.
            "ignore_startup_parameters = extra_float_digits\n"
            "max_client_conn = 500\ndefault_pool_size = 40\n"
            f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
        )
        for name in ("userlist.txt", "pgbouncer.ini"):
            _own(root / name)
        try:
            _run(["pgbouncer", "-d", str(root / "pgbouncer.ini")])
        except subprocess.CalledProcessError:
            continue
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return port
            time.sleep(0.1)
    raise RuntimeError("PgBouncer did not start")


def down(root: Path) -> None:
    """Stop every PgBouncer and postmaster under root (at any depth), then delete root."""
    for pid_file in root.rglob("pgbouncer.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 15)
    for pid_file in root.rglob("postmaster.pid"):
        with contextlib.suppress(subprocess.CalledProcessError):
            Cluster(pid_file.parent, 0).stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "replica":
        primary, replica = start_primary_and_replica(Path(argv[1]))
        print(f"PRIMARY_PORT={primary.port}\nREPLICA_PORT={replica.port}")
    elif len(argv) >= 3 and argv[0] == "pgbouncer":
        print(f"PGBOUNCER_PORT={start_pgbouncer(Path(argv[1]), int(argv[2]))}")
    elif len(argv) >= 2 and argv[0] == "down":
        down(Path(argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
