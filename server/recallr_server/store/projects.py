"""Projects and API keys. Keys are random tokens shown once; only digests are kept."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from recallr_server.domain.auth import key_digest
from recallr_server.domain.categories import DEFAULT_CATEGORIES
from recallr_server.domain.clock import now
from recallr_server.domain.validation import canonical_project_id
from recallr_server.store.database import Database
from recallr_server.store.models import ApiKey, Category, Project

KEY_PREFIX = "rai_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ProjectSummary:
    project_id: str
    name: str
    # The shown prefix of each active key, as `revoke_keys_with_prefix` takes it; empty for
    # a key no longer than its prefix, which showing would give away whole.
    key_prefixes: tuple[str, ...]

    @property
    def active_keys(self) -> int:
        return len(self.key_prefixes)


async def create_project(
    session: AsyncSession, *, project_id: str | None = None, name: str = ""
) -> Project:
    project = Project(
        id=canonical_project_id(project_id) if project_id else str(uuid.uuid4()),
        name=name or "default",
        merge_conflict_enabled=False,
        created_at=now(),
    )
    session.add(project)
    # No ORM relationships: the project row must exist before its categories.
    await session.flush()
    session.add_all(
        Category(project_id=project.id, name=n, description=d)
        for n, d in DEFAULT_CATEGORIES.items()
    )
    await session.flush()
    return project


async def add_api_key(
    session: AsyncSession, project_id: str, *, api_key: str | None = None, description: str = ""
) -> str:
    """Stores a key's digest and returns the key itself, which is not kept."""
    project_id = canonical_project_id(project_id)
    api_key = api_key or new_api_key()
    session.add(
        ApiKey(
            id=str(uuid.uuid4()),
            project_id=project_id,
            key_hash=key_digest(api_key),
            display_prefix=api_key[:12],
            description=description,
            created_at=now(),
        )
    )
    await session.flush()
    return api_key


async def ensure_project_with_key(session: AsyncSession, project_id: str, api_key: str) -> bool:
    """Makes `project_id` exist and accept `api_key`. Returns whether anything changed."""
    project_id = canonical_project_id(project_id)
    changed = False
    if await session.get(Project, project_id) is None:
        await create_project(session, project_id=project_id)
        changed = True
    existing = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_digest(api_key)))
    if existing is None:
        await add_api_key(session, project_id, api_key=api_key, description="from environment")
        return True
    if existing.project_id != project_id:
        raise ValueError("RECALLR_API_KEY already opens a different project")
    if existing.revoked_at is not None:
        existing.revoked_at = None
        changed = True
    return changed


async def has_projects(session: AsyncSession) -> bool:
    return await session.scalar(select(Project.id).limit(1)) is not None


async def project_for_key(session: AsyncSession, api_key: str) -> str | None:
    return await session.scalar(
        select(ApiKey.project_id).where(
            ApiKey.key_hash == key_digest(api_key), ApiKey.revoked_at.is_(None)
        )
    )


class StoreApiKeys:
    """The domain's view of API keys: which project an active key opens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def project_for(self, api_key: str) -> str | None:
        async with self._db.read() as session:
            return await project_for_key(session, api_key)

    async def revoke(self, project_id: str, prefix: str) -> list[str]:
        async with self._db.write() as session:
            return await revoke_keys_with_prefix(session, project_id, prefix)


async def list_projects(session: AsyncSession) -> list[ProjectSummary]:
    projects = (await session.scalars(select(Project).order_by(Project.created_at))).all()
    keys = (
        await session.scalars(
            select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.created_at)
        )
    ).all()
    shown = {
        k.id: "" if key_digest(k.display_prefix) == k.key_hash else k.display_prefix for k in keys
    }
    return [
        ProjectSummary(p.id, p.name, tuple(shown[k.id] for k in keys if k.project_id == p.id))
        for p in projects
    ]


async def revoke_keys_with_prefix(session: AsyncSession, project_id: str, prefix: str) -> list[str]:
    """Revokes the project's active keys whose shown prefix starts with `prefix`; returns
    their digests."""
    project_id = canonical_project_id(project_id)
    keys = (
        await session.scalars(
            select(ApiKey).where(
                ApiKey.project_id == project_id,
                ApiKey.display_prefix.startswith(prefix),
                ApiKey.revoked_at.is_(None),
            )
        )
    ).all()
    for key in keys:
        key.revoked_at = now()
    return [key.key_hash for key in keys]
