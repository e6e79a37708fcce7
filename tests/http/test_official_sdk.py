"""The unchanged official RecallrAI SDK, sync and async, drives every method against
Recallr's HTTP API over loopback, on SQLite and on PostgreSQL (tests/http/sdk_driver.py,
in a process of its own)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Tenant, repo_root
from tests.http.conftest import SDK_DIR
from tests.support import seed


def linked_memory(tenant: Tenant) -> dict[str, str]:
    """A user with two connected memories: processing makes links only when a model or a
    resolution says two facts belong together, so the store holds them here."""

    async def write() -> dict[str, str]:
        db = tenant.server.db
        owner = await seed.add_user(db, tenant.project_id, "linked")
        kayak = await seed.add_chain(db, owner, [seed.Version("Ada bought a kayak.")])
        lake = await seed.add_chain(db, owner, [seed.Version("Ada paddles on the lake.")])
        await seed.link(db, owner, kayak, lake)
        return {"user_id": "linked", "memory_id": kayak.current, "connected_id": lake.current}

    return tenant.run(write())


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_every_sdk_method_works_against_recallr(tenant: Tenant, flavour: str) -> None:
    if not (SDK_DIR / "recallrai").is_dir():
        pytest.fail(f"the official SDK is not installed in {SDK_DIR}: run scripts/setup")
    job = {
        "base_url": tenant.server.base_url,
        "api_key": tenant.api_key,
        "project_id": tenant.project_id,
        "linked": linked_memory(tenant),
    }
    driven = subprocess.run(
        [sys.executable, "-m", "tests.http.sdk_driver", str(SDK_DIR), flavour],
        cwd=repo_root(),
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert driven.returncode == 0, driven.stderr[-6000:]
    assert driven.stdout.strip() == f"ok {flavour}"
