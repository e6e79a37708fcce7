"""The `recallr-server` command line: admin commands and the first-start bootstrap."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recallr_server.domain.auth import key_digest as hash_key
from recallr_server.store.database import Database
from recallr_server.store.projects import ensure_project_with_key, project_for_key

SERVER = Path(sys.executable).with_name("recallr-server")
KEY = re.compile(r"rai_[A-Za-z0-9_-]{43}")


def run(database: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SERVER), *args],
        env={**os.environ, "RECALLR_DATABASE_URL": f"sqlite:///{database}", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def owner(database: Path, api_key: str) -> str | None:
    async def lookup() -> str | None:
        db = Database(f"sqlite:///{database}")
        try:
            async with db.read() as session:
                return await project_for_key(session, api_key)
        finally:
            await db.dispose()

    return asyncio.run(lookup())


def test_admin_manages_projects_and_keys_shown_once_stored_as_digests(tmp_path: Path) -> None:
    database = tmp_path / "recallr.db"
    created = run(database, "admin", "create-project", "--name", "demo", "--project-id", "p1")
    assert created.returncode == 0, created.stderr
    (first,) = KEY.findall(created.stdout)
    added = run(database, "admin", "create-key", "p1", "--description", "ci")
    (second,) = KEY.findall(added.stdout)
    assert owner(database, first) == owner(database, second) == "p1"
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert first.encode() not in stored and second.encode() not in stored
    assert hash_key(first).encode() in stored
    assert "p1\tdemo\t2 active key(s)" in run(database, "admin", "list-projects").stdout
    revoked = run(database, "admin", "revoke-key", "p1", second[:12])
    assert "revoked 1 key(s)" in revoked.stdout
    assert owner(database, second) is None
    assert owner(database, first) == "p1"


def test_a_key_for_an_unknown_project_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path / "recallr.db", "admin", "create-key", "nope")
    assert result.returncode != 0
    assert "no project 'nope'" in result.stderr


def _serve_once(database: Path) -> tuple[str, str]:
    """Starts serve on an ephemeral port, waits until it serves, stops it; (stdout, stderr)."""
    env = {**os.environ, "RECALLR_DATABASE_URL": f"sqlite:///{database}"}
    env["RECALLR_LISTEN"] = "127.0.0.1:0"
    env.pop("RECALLR_PROJECT_ID", None)
    env.pop("RECALLR_API_KEY", None)
    log = database.with_suffix(f".{time.monotonic_ns()}.log")
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(SERVER), "serve"], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while "serving on port" not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        finally:
            process.terminate()
            stdout, _ = process.communicate(timeout=60)
    return stdout, log.read_text()


def test_first_start_on_an_empty_database_creates_a_project_and_shows_its_key_once(
    tmp_path: Path,
) -> None:
    database = tmp_path / "recallr.db"
    first_out, first_log = _serve_once(database)
    (project_id,) = re.findall(r"Created project (\S+)", first_out)
    (api_key,) = KEY.findall(first_out)
    assert owner(database, api_key) == project_id
    assert api_key not in first_log
    second_out, _ = _serve_once(database)
    assert second_out == ""


@pytest.mark.parametrize("only", ["RECALLR_PROJECT_ID", "RECALLR_API_KEY"])
def test_serve_refuses_half_of_the_bootstrap_credentials(tmp_path: Path, only: str) -> None:
    env = {only: "x", "RECALLR_LISTEN": "127.0.0.1:0"}
    other = {"RECALLR_PROJECT_ID", "RECALLR_API_KEY"} - {only}
    result = subprocess.run(
        [str(SERVER), "serve"],
        env={
            **{k: v for k, v in os.environ.items() if k not in other},
            "RECALLR_DATABASE_URL": f"sqlite:///{tmp_path / 'recallr.db'}",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "set both RECALLR_PROJECT_ID and RECALLR_API_KEY" in result.stderr


def test_list_projects_shows_the_key_prefixes_that_revoke_key_takes(tmp_path: Path) -> None:
    database = tmp_path / "recallr.db"
    created = run(database, "admin", "create-project", "--project-id", "p1")
    (first,) = KEY.findall(created.stdout)
    (second,) = KEY.findall(run(database, "admin", "create-key", "p1").stdout)
    listed = run(database, "admin", "list-projects").stdout
    shown = re.findall(r"^\tkey (\S+)$", listed, flags=re.MULTILINE)
    assert shown == [first[:12], second[:12]]
    assert first not in listed and second not in listed
    revoked = run(database, "admin", "revoke-key", "p1", shown[1])
    assert (revoked.returncode, revoked.stdout) == (0, "revoked 1 key(s)\n")
    assert owner(database, second) is None
    assert re.findall(r"^\tkey (\S+)$", run(database, "admin", "list-projects").stdout, re.M) == [
        first[:12]
    ]


def test_a_key_no_longer_than_its_prefix_is_not_shown_by_list_projects(tmp_path: Path) -> None:
    database = tmp_path / "recallr.db"
    short_key = "shortkey"

    async def bootstrap() -> None:
        db = Database(f"sqlite:///{database}")
        try:
            async with db.write() as session:
                await ensure_project_with_key(session, "p1", short_key)
        finally:
            await db.dispose()

    assert run(database, "migrate").returncode == 0
    asyncio.run(bootstrap())
    listed = run(database, "admin", "list-projects")
    assert "p1\tdefault\t1 active key(s)\n" in listed.stdout
    assert short_key not in listed.stdout


@pytest.mark.parametrize(
    ("prefix", "said"),
    [
        ("rai_nomatch0", "no active key of project 'p1' starts with 'rai_nomatch0'"),
        ("", "give the key's prefix as list-projects shows it"),
    ],
)
def test_revoke_key_matching_no_active_key_fails_and_says_so(
    tmp_path: Path, prefix: str, said: str
) -> None:
    database = tmp_path / "recallr.db"
    (key,) = KEY.findall(run(database, "admin", "create-project", "--project-id", "p1").stdout)
    result = run(database, "admin", "revoke-key", "p1", prefix)
    assert (result.returncode, result.stdout) == (1, "")
    assert said in result.stderr
    assert owner(database, key) == "p1"
