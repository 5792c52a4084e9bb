"""Run a command with TEST_DATABASE_URL pointing at a fresh PostgreSQL database, then drop it.

Without a server on 127.0.0.1:5432 it says so and exits 0, unless running in CI, where it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg

SERVER = os.environ.get("CI_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def main(command: list[str]) -> int:
    """Create a database, run `command` against it, drop it; return the command's exit code."""
    name = f"xingpei_ci_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL 不可达（{SERVER}）：只运行了 SQLite 部分的测试。{exc}".strip(), file=sys.stderr)
        return 1 if os.environ.get("CI") else 0
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        host = admin.info.host
        port = admin.info.port
        user = admin.info.user
        print(f"PostgreSQL：在新建的数据库 {name} 上运行测试", file=sys.stderr)
        try:
            url = f"postgresql+psycopg://{user}@{host}:{port}/{name}"
            return subprocess.call(command, env={**os.environ, "TEST_DATABASE_URL": url})
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
