"""Context recall as the product defines it: strategies, bounds, defaults, results, and
the use case that asks the engine's recall for a session's context."""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recallr_server.domain.validation import Violations

MAX_TOP_K = 200
MAX_LAST_N = 100
DEFAULT_MIN_TOP_K = 15
DEFAULT_MAX_TOP_K = 50
DEFAULT_MEMORIES_THRESHOLD = 0.6
DEFAULT_SUMMARIES_THRESHOLD = 0.5

_SYSTEM_PROMPT = (
    "You are an assistant with a long-term memory of this user, provided by Recallr. Below is"
    " what earlier conversations left: memories (facts about the user, each with when it"
    " happened and when it was recorded; earlier versions show how a fact changed and why),"
    " summaries of past sessions, and excerpts of past messages. Rely on the current version"
    " of a fact, use the dates to reason about time, and say so when this context does not"
    " answer a question instead of guessing."
)


def system_prompt(zone: str | None) -> str:
    """What tells a model how to read a context: with the zone its times are in, or, for a
    prompt fetched once for any context (the HTTP API's), that each time names its zone."""
    times = f"Times are in {zone}." if zone else "Each time names its zone."
    return f"{_SYSTEM_PROMPT} {times}"


class Strategy(enum.Enum):
    LOW_LATENCY = "low_latency"
    BALANCED = "balanced"
    AGENTIC = "agentic"
    AUTO = "auto"


@dataclass(frozen=True)
class RecallSettings:
    """Validated recall options with their defaults applied."""

    strategy: Strategy
    min_top_k: int
    max_top_k: int
    memories_threshold: float
    summaries_threshold: float
    last_n_messages: int
    last_n_summaries: int
    zone: ZoneInfo
    include_system_prompt: bool
    include_metadata_ids: bool


@dataclass(frozen=True)
class Progress:
    """One step of a recall, reported while it runs."""

    step: str
    message: str


@dataclass(frozen=True)
class RecalledContext:
    """The finished context, with what contributed to it."""

    text: str
    strategy_used: Strategy
    memory_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    date_filters: list[tuple[datetime, datetime]] = field(default_factory=list)
    # What AGENTIC's reviews of its rounds decided; empty for the other strategies.
    agent_reasoning: str = ""


@dataclass(frozen=True)
class RecallOptions:
    """Recall options as asked; None (or "") leaves a default in place."""

    strategy: Strategy
    min_top_k: int | None = None
    max_top_k: int | None = None
    memories_threshold: float | None = None
    summaries_threshold: float | None = None
    last_n_messages: int | None = None
    last_n_summaries: int | None = None
    timezone: str = ""
    include_system_prompt: bool | None = None
    include_metadata_ids: bool = False


def _integer(v: Violations, name: str, value: int | None, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not low <= value <= high:
        v.add(f"options.{name}", f"must be between {low} and {high}")
    return value


def _fraction(v: Violations, name: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        v.add(f"options.{name}", "must be between 0 and 1")
    return value


def _zone(v: Violations, name: str) -> ZoneInfo:
    utc = ZoneInfo("UTC")
    if not name:
        return utc
    # A region such as "America" is a directory and a long name is no file name: OSError.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        v.add("options.timezone", f"{name[:64]!r} is not an IANA time zone")
        return utc


def recall_settings(v: Violations, options: RecallOptions) -> RecallSettings:
    """The options with defaults applied; each out-of-range option is added to `v`."""
    max_top_k = _integer(v, "max_top_k", options.max_top_k, 1, MAX_TOP_K, DEFAULT_MAX_TOP_K)
    # Unset, the floor follows a lower cap: max_top_k=10 alone is a valid request.
    min_top_k = _integer(
        v, "min_top_k", options.min_top_k, 1, MAX_TOP_K, min(DEFAULT_MIN_TOP_K, max_top_k)
    )
    if max_top_k < min_top_k:
        v.add("options.max_top_k", f"must not be below min_top_k ({min_top_k})")
    return RecallSettings(
        strategy=options.strategy,
        min_top_k=min_top_k,
        max_top_k=max_top_k,
        memories_threshold=_fraction(
            v, "memories_threshold", options.memories_threshold, DEFAULT_MEMORIES_THRESHOLD
        ),
        summaries_threshold=_fraction(
            v, "summaries_threshold", options.summaries_threshold, DEFAULT_SUMMARIES_THRESHOLD
        ),
        last_n_messages=_integer(v, "last_n_messages", options.last_n_messages, 0, MAX_LAST_N, 0),
        last_n_summaries=_integer(
            v, "last_n_summaries", options.last_n_summaries, 0, MAX_LAST_N, 0
        ),
        zone=_zone(v, options.timezone),
        include_system_prompt=(
            True if options.include_system_prompt is None else options.include_system_prompt
        ),
        include_metadata_ids=options.include_metadata_ids,
    )


class Recaller(Protocol):
    """What finds and renders the context: the engine's recall."""

    def steps(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        settings: RecallSettings,
        *,
        deadline: float | None = None,
    ) -> AsyncIterator[Progress | RecalledContext]:
        """Progress for each step, then exactly one RecalledContext.

        `deadline`, a `time.monotonic()` instant, bounds how long a model is waited for.
        """
        ...


class ContextRecall:
    def __init__(self, recaller: Recaller) -> None:
        self._recaller = recaller

    async def recall(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        settings: RecallSettings,
        *,
        deadline: float | None,
    ) -> RecalledContext:
        """The finished context, without the progress on the way."""
        result: RecalledContext | None = None
        async for event in self.stream(
            project_id, user_id, session_id, settings, deadline=deadline
        ):
            if isinstance(event, RecalledContext):
                result = event
        assert result is not None, "recall ends with a context"
        return result

    def stream(
        self,
        project_id: str,
        user_id: str,
        session_id: str,
        settings: RecallSettings,
        *,
        deadline: float | None,
    ) -> AsyncIterator[Progress | RecalledContext]:
        """Progress for each step, then the finished context."""
        return self._recaller.steps(project_id, user_id, session_id, settings, deadline=deadline)
