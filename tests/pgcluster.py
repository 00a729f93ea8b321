"""A throwaway PostgreSQL + PostGIS cluster for tests and benchmarks (never for real data).

``initdb`` on a temporary folder, ``pg_ctl start`` on a free loopback port (and a socket in the
same folder), trust authentication, ``fsync=off``; ``stop()`` shuts it down and deletes the folder.
As root, initdb refuses to run, so the server runs as the ``postgres`` system user (``su``),
which the Debian packages create.

``TEST_DATABASE_URL`` (a superuser URL of a server with PostGIS available, e.g. a CI service
container) is used instead of starting a cluster.

    python -m tests.pgcluster check     # says whether the PostGIS tests can run here, and why not
    python -m tests.pgcluster start     # starts one, prints its URL and the stop command
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

SUPERUSER = "postgres"


def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _postgis_available(bindir: Path) -> bool:
    version = bindir.parts[-2] if bindir.parts[-1] == "bin" else ""
    share = [f"/usr/share/postgresql/{version}/extension"] if version else []
    try:
        share.append(subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True,
                                    text=True, timeout=10).stdout.strip() + "/extension")
    except OSError:
        pass
    return any(Path(d, "postgis.control").exists() for d in share)


def unavailable_reason() -> str | None:
    """Why a throwaway cluster cannot be started here, or None if it can."""
    if os.environ.get("TEST_DATABASE_URL"):
        return None
    bindir = _bindir()
    if bindir is None:
        return ("PostgreSQL server binaries not found (apt-get install postgresql "
                "postgresql-15-postgis-3, or set TEST_DATABASE_URL)")
    if not _postgis_available(bindir):
        return (f"PostGIS is not installed for the PostgreSQL in {bindir} "
                "(apt-get install postgresql-NN-postgis-3)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One running server. ``url(db)`` gives a SQLAlchemy URL for database ``db``."""

    def __init__(self):
        self.external = os.environ.get("TEST_DATABASE_URL")
        self.folder: Path | None = None
        self.port: int | None = None
        self.bindir = _bindir()

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> "Cluster":
        if self.external:
            return self
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.folder = Path(tempfile.mkdtemp(prefix="wy-pg-"))
        self.folder.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.folder, SUPERUSER)
        data, log = self.folder / "data", self.folder / "pg.log"
        self._as_owner([str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                        SUPERUSER, "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        for attempt in range(5):
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=100 -c shared_buffers=256MB")
            try:
                self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(log),
                                "-w", "-t", "60", "-o", options, "start"])
                return self
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise RuntimeError(f"pg_ctl start failed: {log.read_text()[-2000:]}")
        return self

    def stop(self) -> None:
        if self.folder is None:
            return
        try:
            self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"),
                            "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _as_owner(self, argv: list[str]) -> None:
        if os.geteuid() == 0:
            argv = ["su", SUPERUSER, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in argv)]
        subprocess.run(argv, check=True, capture_output=True, timeout=120, cwd="/")

    # -- databases ---------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        if self.external:
            from sqlalchemy.engine import make_url

            return make_url(self.external).set(database=database).render_as_string(
                hide_password=False)
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres").replace("postgresql+psycopg", "postgresql"),
                             autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (from ``template`` if given); return its URL."""
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def make_template(self, name: str) -> str:
        """A database with PostGIS and the store schema migrated, to copy per test (fast)."""
        self.drop_database(name)
        url = self.create_database(name)
        from storage.postgis import migrate

        migrate(url)
        from storage.postgis import dispose_engines

        dispose_engines()
        return url


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        reason = unavailable_reason()
        if reason:
            print(f"PostGIS store tests: SKIPPED here: {reason}"
                  + (" -- and CI=true, so they will FAIL" if ci() else ""))
            return 1
        where = os.environ.get("TEST_DATABASE_URL") and "TEST_DATABASE_URL" or \
            f"a throwaway cluster ({_bindir()}, started and removed by the tests)"
        print(f"PostGIS store tests: will run against {where}")
        return 0
    if command == "start":
        cluster = Cluster().start()
        print(cluster.url())
        print(f"stop: su {SUPERUSER} -s /bin/sh -c '{cluster.bindir}/pg_ctl -D "
              f"{cluster.folder}/data stop' && rm -rf {cluster.folder}", file=sys.stderr)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
