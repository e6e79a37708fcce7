"""Exporting everything of a user, and importing such an export into a project.

An export is read from one snapshot, so it is consistent however long the client takes
to read it. An import writes the user and all their records in one transaction, with
the ids, versions, dates and links of the export, and queues the work the exported
state was waiting for (a session being processed, a conflict being resolved).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

from recallr_server.domain.clock import now
from recallr_server.domain.errors import DomainError, Reason, WriteConflict
from recallr_server.domain.ports import Transaction, UnitOfWork, WorkQueued
from recallr_server.domain.records import MergeConflictStatus, SessionStatus, User
from recallr_server.domain.sessions import DEFAULT_MAX_MESSAGES_PER_SESSION, session_full
from recallr_server.domain.user_data import (
    FORMAT_VERSION,
    DataCounts,
    ExportHeader,
    Record,
    StoredConflict,
    UserData,
    with_new_ids,
)
from recallr_server.domain.users import already_exists

EXPORT_BATCH_SIZE = 500
# A conflict exported while its answers were being applied had nothing applied yet (a
# resolution commits all at once): it is queued again.
_REQUEUED_CONFLICTS = (MergeConflictStatus.IN_QUEUE, MergeConflictStatus.RESOLVING)
# The user keys of imports with a request id derive from it, so a retried import finds
# the user its first attempt created (AIP-155) without storing the key anywhere.
_IMPORT_KEYS = uuid.UUID("6f1d3b0e-8d8a-4a53-9a55-2b1f7f0c7e42")


@dataclass(frozen=True)
class ImportOptions:
    # The user id to import as; "" keeps the exported one.
    user_id: str = ""
    assign_new_ids: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class ImportedUser:
    user: User
    counts: DataCounts


def _user_key(project_id: str, request_id: str) -> str:
    if not request_id:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IMPORT_KEYS, f"{project_id}\n{request_id}"))


def _ids_in_use(user_id: str, taken: str) -> DomainError:
    return DomainError(
        Reason.USER_ALREADY_EXISTS,
        f"the records of user {user_id!r} are already on this server (id {taken} is in use):"
        " delete them first, or import with assign_new_ids",
        metadata={"user_id": user_id},
    )


async def _check_categories(tx: Transaction, project_id: str, data: UserData) -> None:
    used = {c for memory in data.memories for c in memory.categories}
    unknown = sorted(used - await tx.categories.names(project_id))
    if unknown:
        raise DomainError(
            Reason.INVALID_CATEGORIES,
            f"the project has no categories {', '.join(unknown)}; create them first",
            metadata={"invalid_categories": ",".join(unknown)},
        )


def _requeued(stored: StoredConflict) -> StoredConflict:
    if stored.conflict.status in _REQUEUED_CONFLICTS:
        return replace(
            stored, conflict=replace(stored.conflict, status=MergeConflictStatus.IN_QUEUE)
        )
    return stored


class UserTransfer:
    def __init__(
        self,
        units: UnitOfWork,
        work_queued: WorkQueued,
        max_per_session: int = DEFAULT_MAX_MESSAGES_PER_SESSION,
    ) -> None:
        self._units = units
        self._work_queued = work_queued
        self._max_per_session = max_per_session

    async def export(self, project_id: str, user_id: str) -> AsyncIterator[list[Record]]:
        """The header and the user, then the rest of the user's records in batches."""
        async with self._units.read() as tx:
            await tx.user_data.hold_snapshot()
            user = await tx.users.find(project_id, user_id)
            counts = await tx.user_data.counts(user)
            yield [ExportHeader(FORMAT_VERSION, now(), counts), user]
            async for batch in tx.user_data.records(user, EXPORT_BATCH_SIZE):
                yield batch

    async def import_user(
        self, project_id: str, data: UserData, options: ImportOptions
    ) -> ImportedUser:
        """Creates the user of an export (see `user_data.assemble`) with all their records,
        or nothing."""
        # An import may not bring in a session larger than AddMessage could have grown.
        per_session = Counter(message.session_id for message in data.messages)
        for session_id, count in per_session.items():
            if count > self._max_per_session:
                raise session_full(session_id, self._max_per_session)
        if options.assign_new_ids:
            data = with_new_ids(data)
        data = replace(data, conflicts=[_requeued(c) for c in data.conflicts])
        user = replace(
            data.user,
            pk=_user_key(project_id, options.request_id),
            user_id=options.user_id or data.user.user_id,
        )
        sessions = [replace(s, user_id=user.user_id) for s in data.sessions]
        data = replace(data, user=user, sessions=sessions)
        try:
            return await self._write(project_id, data)
        except WriteConflict:
            # A concurrent import took the user id, the ids or (a retry racing its first
            # attempt) the user key between the checks and the insert: check again.
            return await self._write(project_id, data)

    async def _write(self, project_id: str, data: UserData) -> ImportedUser:
        user = data.user
        async with self._units.write() as tx:
            if replayed := await tx.user_data.user_by_pk(project_id, user.pk):
                return ImportedUser(replayed, data.counts())
            if await tx.users.exists(project_id, user.user_id):
                raise already_exists(user.user_id)
            if taken := await tx.user_data.id_in_use(data):
                raise _ids_in_use(user.user_id, taken)
            await _check_categories(tx, project_id, data)
            await tx.users.add(project_id, user)
            await tx.user_data.add(user, data)
            queued = await self._queue_waiting_work(tx, data)
        if queued:
            self._work_queued()
        return ImportedUser(user, data.counts())

    async def _queue_waiting_work(self, tx: Transaction, data: UserData) -> bool:
        """Queues what the exported state was waiting for; whether anything is due now."""
        due_now = False
        for session in data.sessions:
            if session.status == SessionStatus.PROCESSING:
                await tx.jobs.enqueue_processing(data.user, session.id)
                due_now = True
            elif session.status == SessionStatus.PENDING and session.auto_process_after_seconds:
                idle_since = session.last_message_at or session.created_at
                delay = timedelta(seconds=session.auto_process_after_seconds)
                await tx.jobs.enqueue_processing(
                    data.user, session.id, run_after=idle_since + delay
                )
        for stored in data.conflicts:
            if stored.conflict.status == MergeConflictStatus.IN_QUEUE:
                await tx.jobs.enqueue_resolution(data.user, stored.conflict.id)
                due_now = True
        return due_now
