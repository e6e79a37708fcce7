"""Export files: a user's export as JSON Lines, and the progress shown while one moves.

Each line is one ``recallr.v1.UserExportRecord`` in the protobuf JSON mapping, with the
field names of the proto (docs/export-format.md). Shared by the sync and async clients.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, Self

from google.protobuf import json_format

from recallr.v1 import user_export_pb2, user_service_pb2
from recallrai._convert import invalid

# What one ImportUser stream message carries at most; the server receives 4 MiB.
MAX_RECORDS_PER_REQUEST = 500
MAX_REQUEST_BYTES = 1024 * 1024

PathLike = str | os.PathLike[str]


class _Bar(Protocol):
    total: float | None

    def update(self, n: float = 1) -> bool | None: ...

    def refresh(self) -> None: ...

    def close(self) -> None: ...


class Progress:
    """A progress bar (tqdm's) when asked for, or by default when stderr is a terminal
    and tqdm is installed (``pip install recallr-client[progress]``); silent otherwise."""

    def __init__(self, enabled: bool | None, description: str) -> None:
        self._bar: _Bar | None = None
        if enabled is False or (enabled is None and not sys.stderr.isatty()):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self._bar = tqdm(desc=description, unit=" records", file=sys.stderr)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()

    def total(self, records: int) -> None:
        if self._bar is not None:
            self._bar.total = records
            self._bar.refresh()

    def advance(self, records: int) -> None:
        if self._bar is not None:
            self._bar.update(records)


def total_records(header: user_export_pb2.UserExportHeader) -> int:
    """The records of an export: the header, the user and what the header counts."""
    counts = header.counts
    return 2 + sum(
        (
            counts.sessions,
            counts.messages,
            counts.memories,
            counts.memory_links,
            counts.merge_conflicts,
            counts.session_summaries,
        )
    )


def line(record: user_export_pb2.UserExportRecord) -> str:
    value = json_format.MessageToDict(record, preserving_proto_field_name=True)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


@contextmanager
def replacing(path: PathLike) -> Iterator[IO[str]]:
    """A file written beside `path` that replaces it only once complete, so a failed
    export leaves no partial file behind."""
    target = Path(path)
    handle, scratch = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            yield file
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def read_records(path: PathLike) -> list[user_export_pb2.UserExportRecord]:
    """Every record of an export file, read before anything is sent: a line that is not
    a record fails here, naming the line, rather than in the middle of an upload."""
    records = []
    with open(path, encoding="utf-8") as file:
        for number, text in enumerate(file, start=1):
            if text.strip():
                records.append(_record(text, number))
    return records


def _record(text: str, number: int) -> user_export_pb2.UserExportRecord:
    try:
        value: Any = json.loads(text)
        return json_format.ParseDict(value, user_export_pb2.UserExportRecord())
    except (ValueError, json_format.ParseError) as error:
        raise invalid(
            f"line {number} is not a Recallr export record: {error}",
            f"line {number}",
            "a UserExportRecord as JSON",
        ) from None


def import_requests(
    records: Iterable[user_export_pb2.UserExportRecord],
    first: user_service_pb2.ImportUserRequest,
    progress: Progress,
) -> Iterator[user_service_pb2.ImportUserRequest]:
    """The records in stream messages of bounded size; the first carries the options."""
    request, size = first, 0
    for record in records:
        record_size = record.ByteSize()
        if request.records and (
            len(request.records) == MAX_RECORDS_PER_REQUEST
            or size + record_size > MAX_REQUEST_BYTES
        ):
            progress.advance(len(request.records))
            yield request
            request, size = user_service_pb2.ImportUserRequest(), 0
        request.records.append(record)
        size += record_size
    progress.advance(len(request.records))
    yield request
