"""The memory-quality gold set: conversations, the facts they state, and how to match them.

Each conversation is one JSON file under `bench/data/memory_quality/<split>/`; the format and the
matching rules are documented in docs/benchmarks/memory-quality.md. Loading validates every
file, so a typo in the gold set fails loudly instead of silently scoring zero.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from recallrai.models import ExpirationReason

GOLD = Path(__file__).with_name("data") / "memory_quality"
Split = Literal["dev", "holdout"]
SPLITS: tuple[Split, ...] = ("dev", "holdout")

# Shorthands usable as an alternative inside a matcher group.
MACROS = {
    "{NEG}": (
        "not|never|no|none|don't|doesn't|didn't|isn't|aren't|wasn't|won't|can't|cannot|"
        "avoid*|without|free|stopped|quit|gave up|no longer"
    ),
    "{LIVE}": "live|lives|living|lived|based|resides|resident|residing|home|moved|relocated",
    "{WORK}": "work*|job|employ*|position|role|hired|joined|started",
    "{WISH}": (
        "wish*|dream*|daydream*|would|'d|hope*|hoping|someday|if|fantas*|imagin*|want*|"
        "like to|love to|maybe|might|consider*|thinking"
    ),
}

CATEGORIES = frozenset(
    {
        "personal_info",
        "relationships",
        "food_preferences",
        "allergies",
        "health",
        "work",
        "education",
        "hobbies",
        "travel",
        "places",
        "possessions",
        "plans",
        "events",
        "opinions",
        "preferences",
        "assistant_recommendations",
    }
)

AREAS = {
    "short_answer": "short answers to the assistant's questions",
    "multi_fact": "one turn stating several facts",
    "in_passing": "facts said in passing",
    "temporal_change": "changes over time that supersede (TEMPORAL_CONFLICT)",
    "addition": "details added later (ADDITION_TO_EXISTING_MEMORY)",
    "merge_conflict": "contradictions that raise a merge conflict",
    "dates": "dates: no-year, weekdays, bare days, last/next, answers, two events",
    "categories": "categories that are easy to get wrong (health, pets, teams)",
    "assistant_prefs": "requests about how the assistant should behave",
    "entities": "entities named across sentences",
    "pronouns_we": "pronouns and 'we'",
    "filler": "chat filler around facts",
    "wishes": "wishes and hypotheticals",
    "assistant_suggestions": "assistant suggestions (not the user's facts)",
    "other_people": "other people's facts (not the user's)",
    "negations": "negations",
    "transcripts": "speaker-labelled transcripts",
}

_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Typographic quotes read as plain ones, so "don't" matches its curly-quoted twin."""
    return text.translate(_NORMALISE)


def _alternative(alternative: str) -> str:
    """One alternative as a regex: literal text, `*` = any word characters, any whitespace."""
    pattern = re.escape(alternative.strip()).replace(r"\*", r"\w*")
    return re.sub(r"(\\ )+", r"\\s+", pattern)


def compile_group(group: str) -> re.Pattern[str]:
    """`a|b c|d*` matches any alternative as whole words, case-insensitively."""
    for macro, expansion in MACROS.items():
        group = group.replace(macro, expansion)
    alternatives = [_alternative(a) for a in group.split("|") if a.strip()]
    if not alternatives:
        raise ValueError(f"empty matcher group {group!r}")
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Matcher:
    """Every group must match somewhere in one text; a group is a set of alternatives."""

    groups: tuple[re.Pattern[str], ...]
    source: tuple[str, ...]

    @classmethod
    def parse(cls, groups: Sequence[str]) -> Matcher:
        if not groups:
            raise ValueError("a matcher needs at least one group")
        return cls(tuple(compile_group(g) for g in groups), tuple(groups))

    def matches(self, text: str) -> bool:
        text = normalise(text)
        return all(group.search(text) for group in self.groups)


@dataclass(frozen=True)
class DateSpan:
    """The window [start, end) of days a fact's event date may fall in, widened by tolerance.

    A memory's event span is right when it lies inside the window: a precise date
    ("June 3rd") has a one-day window, a vague one ("two weeks ago") a wider window that
    accepts both a single day and a week inside it.
    """

    start: datetime
    end: datetime
    tolerance: timedelta

    def accepts(self, start: datetime | None, end: datetime | None) -> bool:
        if start is None:
            return False
        end = end if end is not None else start + timedelta(days=1)
        return start >= self.start - self.tolerance and end <= self.end + self.tolerance

    def __str__(self) -> str:
        last = (self.end - timedelta(days=1)).date()
        return (
            str(self.start.date()) if last == self.start.date() else f"{self.start.date()}..{last}"
        )


def _day(value: str) -> datetime:
    day = date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _date_span(raw: str | list[str] | None, tolerance_days: int) -> DateSpan | None:
    if raw is None:
        return None
    first, last = (raw, raw) if isinstance(raw, str) else raw
    start, end = _day(first), _day(last) + timedelta(days=1)
    if end <= start:
        raise ValueError(f"date range {raw!r} ends before it starts")
    return DateSpan(start, end, timedelta(days=tolerance_days))


@dataclass(frozen=True)
class Fact:
    """A fact the conversation states, expected as (part of) one memory."""

    id: str
    area: str
    text: str
    matcher: Matcher
    categories: frozenset[str]
    date: DateSpan | None
    superseded: bool


@dataclass(frozen=True)
class Change:
    """`new` replaces `old`: a new version of old's memory, old expired for `reason`."""

    old: str
    new: str
    reason: ExpirationReason


@dataclass(frozen=True)
class ExpectedConflict:
    """A merge conflict proposing `proposal` against the memory of fact `existing`."""

    proposal: Matcher
    existing: str


@dataclass(frozen=True)
class MustNot:
    """What no memory version may say: all of `mentions`, unless it also says `unless`."""

    mentions: Matcher
    unless: re.Pattern[str] | None
    why: str

    def hit(self, text: str) -> bool:
        return self.mentions.matches(text) and not (
            self.unless is not None and self.unless.search(normalise(text))
        )


def _must_not(raw: Mapping[str, Any]) -> MustNot:
    unless = raw.get("unless")
    return MustNot(
        Matcher.parse(raw["mentions"]),
        compile_group(unless) if unless is not None else None,
        raw["why"],
    )


@dataclass(frozen=True)
class GoldSession:
    created_at: datetime
    metadata: Mapping[str, Any] | None
    messages: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Conversation:
    id: str
    split: Split
    areas: frozenset[str]
    metadata: Mapping[str, Any]
    merge_conflict_enabled: bool
    sessions: tuple[GoldSession, ...]
    facts: tuple[Fact, ...]
    changes: tuple[Change, ...]
    conflicts: tuple[ExpectedConflict, ...]
    must_not: tuple[MustNot, ...]

    def fact(self, fact_id: str) -> Fact:
        return next(f for f in self.facts if f.id == fact_id)


def _fact(raw: Mapping[str, Any]) -> Fact:
    categories = frozenset(raw["categories"])
    if not categories or not categories <= CATEGORIES:
        raise ValueError(f"fact {raw['id']}: categories {sorted(categories)} not in the vocabulary")
    if raw["area"] not in AREAS:
        raise ValueError(f"fact {raw['id']}: unknown area {raw['area']!r}")
    if raw.get("status", "current") not in ("current", "superseded"):
        raise ValueError(f"fact {raw['id']}: status must be current or superseded")
    return Fact(
        id=raw["id"],
        area=raw["area"],
        text=raw["text"],
        matcher=Matcher.parse(raw["match"]),
        categories=categories,
        date=_date_span(raw.get("date"), raw.get("date_tolerance_days", 1)),
        superseded=raw.get("status", "current") == "superseded",
    )


def _session(raw: Mapping[str, Any]) -> GoldSession:
    created_at = datetime.fromisoformat(raw["created_at"])
    if created_at.utcoffset() != timedelta(0):
        raise ValueError(f"session created_at {raw['created_at']!r} must be UTC")
    messages = tuple((m["role"], m["content"]) for m in raw["messages"])
    if not messages or any(role not in ("user", "assistant") for role, _ in messages):
        raise ValueError("a session needs messages whose role is user or assistant")
    return GoldSession(created_at, raw.get("metadata"), messages)


def parse_conversation(raw: Mapping[str, Any], split: Split) -> Conversation:
    """One conversation from its JSON form; raises ValueError on anything inconsistent."""
    facts = tuple(_fact(f) for f in raw["facts"])
    ids = [f.id for f in facts]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{raw['id']}: duplicate fact ids")
    changes = tuple(
        Change(c["old"], c["new"], ExpirationReason[c["reason"].upper()])
        for c in raw.get("changes", ())
    )
    conflicts = tuple(
        ExpectedConflict(Matcher.parse(c["proposal"]), c["existing"])
        for c in raw.get("merge_conflicts", ())
    )
    referenced = (
        {c.old for c in changes} | {c.new for c in changes} | {c.existing for c in conflicts}
    )
    if not referenced <= set(ids):
        raise ValueError(
            f"{raw['id']}: changes or conflicts name unknown facts {referenced - set(ids)}"
        )
    superseded = {f.id for f in facts if f.superseded}
    replaced = {c.old for c in changes if c.reason is ExpirationReason.TEMPORAL_CONFLICT}
    if superseded != replaced:
        raise ValueError(
            f"{raw['id']}: superseded facts must be exactly the temporal changes' olds"
        )
    user = raw["user"]
    if not set(raw.get("areas", ())) <= AREAS.keys():
        raise ValueError(f"{raw['id']}: unknown areas {set(raw['areas']) - AREAS.keys()}")
    if conflicts and not user.get("merge_conflict_enabled", False):
        raise ValueError(f"{raw['id']}: expects merge conflicts with merge conflicts disabled")
    return Conversation(
        id=raw["id"],
        split=split,
        areas=frozenset(raw.get("areas", ())) | {f.area for f in facts},
        metadata=user.get("metadata", {}),
        merge_conflict_enabled=bool(user.get("merge_conflict_enabled", False)),
        sessions=tuple(_session(s) for s in raw["sessions"]),
        facts=facts,
        changes=changes,
        conflicts=conflicts,
        must_not=tuple(_must_not(m) for m in raw.get("must_not", ())),
    )


def load(split: Split, root: Path = GOLD) -> list[Conversation]:
    """Every conversation of a split, in file-name order."""
    conversations = []
    for path in sorted((root / split).glob("*.json")):
        try:
            conversations.append(parse_conversation(json.loads(path.read_text()), split))
        except (KeyError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from error
    if len({c.id for c in conversations}) != len(conversations):
        raise ValueError(f"{split}: duplicate conversation ids")
    return conversations
