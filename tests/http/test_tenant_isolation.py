"""Over HTTP as over gRPC, a key for one project sees nothing of another, on every route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from recallr_server.http import openapi
from recallr_server.store import models
from tests.conftest import Tenant, new_tenant
from tests.support import seed

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("put", "/api/v1/users/{user_id}"): {"new_metadata": {"stolen": True}},
    ("post", "/api/v1/users/{user_id}/sessions"): {},
    ("put", "/api/v1/users/{user_id}/sessions/{session_id}"): {"new_metadata": {}},
    ("post", "/api/v1/users/{user_id}/sessions/{session_id}/add-message"): {
        "message": "hello",
        "role": "user",
    },
    ("post", "/api/v1/users/{user_id}/merge-conflicts/{conflict_id}/resolve"): {
        "answers": {"question_answers": []}
    },
}
# Routes that name no user: the one that creates one (in the caller's own project), and
# those that show no project's data.
WITHOUT_USER = {"/api/v1/users", "/api/v1/system-prompt"}


def headers(tenant: Tenant, project_id: str | None = None) -> dict[str, str]:
    return {
        "X-Recallr-Api-Key": tenant.api_key,
        "X-Recallr-Project-Id": project_id or tenant.project_id,
    }


def owned_rows(tenant: Tenant) -> dict[str, str]:
    async def write() -> dict[str, str]:
        db = tenant.server.db
        owner = await seed.add_user(db, tenant.project_id, "ada")
        session_id = await seed.add_session(db, owner, status=models.SessionStatus.PENDING)
        chain = await seed.add_chain(db, owner, [seed.Version("Ada keeps bees.")])
        conflict_id = await seed.add_merge_conflict(
            db, owner, status=models.MergeConflictStatus.PENDING
        )
        return {
            "user_id": "ada",
            "session_id": session_id,
            "memory_id": chain.current,
            "conflict_id": conflict_id,
        }

    return tenant.run(write())


def routes() -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    ]


@pytest.fixture
def owner(tenant: Tenant) -> tuple[Tenant, dict[str, str]]:
    return tenant, owned_rows(tenant)


def test_another_projects_key_finds_none_of_its_rows(owner: tuple[Tenant, dict[str, str]]) -> None:
    tenant, ids = owner
    other = new_tenant(tenant.server)
    with httpx.Client(base_url=tenant.server.base_url, timeout=60) as http:
        for method, path in routes():
            if path in WITHOUT_USER:
                continue
            answer = http.request(
                method,
                path.format(**ids),
                json=BODIES.get((method, path)),
                headers=headers(other),
            )
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["detail"] == "User ada not found", (method, path)
        listed = http.get("/api/v1/users", headers=headers(other)).json()
        assert (listed["users"], listed["total"]) == ([], 0)
        # Nothing above changed the owner's rows.
        mine = http.get(f"/api/v1/users/{ids['user_id']}", headers=headers(tenant)).json()
        assert mine["metadata"] == {}


def test_a_key_opens_no_project_but_its_own(owner: tuple[Tenant, dict[str, str]]) -> None:
    tenant, ids = owner
    other = new_tenant(tenant.server)
    borrowed = headers(other, project_id=tenant.project_id)
    with httpx.Client(base_url=tenant.server.base_url, timeout=60) as http:
        for method, path in routes():
            answer = http.request(
                method, path.format(**ids), json=BODIES.get((method, path), {}), headers=borrowed
            )
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["reason"] == "INVALID_API_KEY", (method, path)
