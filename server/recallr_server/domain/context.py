"""Context recall as the product defines it: strategies, bounds, defaults, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

MAX_TOP_K = 200
MAX_LAST_N = 100
DEFAULT_MIN_TOP_K = 15
DEFAULT_MAX_TOP_K = 50
DEFAULT_MEMORIES_THRESHOLD = 0.6
DEFAULT_SUMMARIES_THRESHOLD = 0.5


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
