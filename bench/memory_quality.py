"""Memory quality: does Recallr remember what a user said, correctly, and keep it current?

Runs the gold set (bench/data/memory_quality/{dev,holdout}) through a real
`recallr-server serve` on a temporary SQLite file with the public Python client: one user
per conversation, its sessions created at their historical times and processed in order,
then every memory version and merge conflict is read back and scored. Rules and figures:
docs/benchmarks/memory-quality.md.

    .venv/bin/python -m bench.memory_quality --split all [--show-failures] [--json]

Holdout failures are never shown: the holdout only says how well the engine generalises
while nobody tunes against it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.locomo_ingest import process
from bench.memory_gold import SPLITS, Conversation, Fact, Split, load, normalise
from bench.server_process import API_KEY, PROJECT_ID, running_server
from recallrai import RecallrAI, User
from recallrai.models import ExpirationReason, MessageRole, SessionStatus, UserMemoryItem

PAGE = 100
# A memory holding more categories than this is not categorised, it is hedging.
MAX_CATEGORIES = 3


@dataclass(frozen=True)
class Version:
    """One memory version as the server lists it; `chain` is its current version's id."""

    memory_id: str
    chain: str
    content: str
    categories: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    current: bool
    expiration_reason: ExpirationReason | None


@dataclass(frozen=True)
class RaisedConflict:
    proposal: str
    conflicting: tuple[str, ...]


@dataclass(frozen=True)
class Observed:
    """Everything a conversation left behind on the server."""

    versions: tuple[Version, ...]
    conflicts: tuple[RaisedConflict, ...]

    @property
    def current(self) -> list[Version]:
        return [v for v in self.versions if v.current]


# ---------------------------------------------------------------- junk


_FILLER = re.compile(
    r"\b(?:haha+|hehe+|lol|lmao|omg|hmm+|umm*|uhh*|btw|by the way|so anyway|anyway|honestly|"
    r"oh well|you know|i mean|okay|ok|yeah|yep|nope|thanks|thank you|cheers)\b"
    r"|\bwell,|^(?:so|well|oh|ah|good|great|cool|right)\b",
    re.IGNORECASE,
)
# A pronoun opening the memory, or opening what a reported-speech wrapper quotes
# ("Sofia said that her name is Pepper"): either way its antecedent is gone.
_DANGLING = re.compile(
    r"^(?:[\w' ]{1,40}? said that )?"
    r"(?:it|he|she|they|this|that|these|those|him|her|them|his|its|their|there)\b",
    re.IGNORECASE,
)
# Case-sensitive on purpose: "US" (the country) is not "us".
_PERSON = re.compile(r"\b(?:I|[Mm]e|[Mm]y|[Mm]ine|[Ww]e|[Uu]s|[Oo]ur|[Oo]urs|[Yy]ou|[Yy]our)\b")
_LABEL = re.compile(r"(?:^|[\s\"'(])[A-Z][\w'-]*:\s")
_QUOTED = re.compile(r"\"[^\"]*\"")


def junk_kind(content: str) -> str | None:
    """Why a memory is not a clean standalone fact, or None when it is one."""
    text = normalise(content).strip()
    unquoted = _QUOTED.sub('""', text)
    checks = (
        ("speaker label", _LABEL.search(unquoted) is not None),
        ("filler", _FILLER.search(unquoted) is not None),
        ("dangling pronoun", _DANGLING.match(text) is not None),
        ("first or second person", _PERSON.search(unquoted) is not None),
        ("'and others'", re.search(r"\band others\b", text, re.IGNORECASE) is not None),
        ("fragment", len(text.split()) < 4 or text.endswith("?") or not text[:1].isupper()),
    )
    return next((kind for kind, hit in checks if hit), None)


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Failure:
    conversation: str
    kind: str
    detail: str


@dataclass
class Tally:
    """Counts for one split; ratios are computed from them at the end."""

    conversations: int = 0
    sessions: int = 0
    failed_sessions: int = 0
    facts: int = 0
    found: int = 0
    dated: int = 0
    dates_correct: int = 0
    categories_correct: int = 0
    changes: int = 0
    changes_handled: int = 0
    supersedes: int = 0
    supersedes_handled: int = 0
    additions: int = 0
    additions_handled: int = 0
    conflicts_expected: int = 0
    conflicts_raised: int = 0
    conflicts_unexpected: int = 0
    must_nots: int = 0
    violations: int = 0
    memories: int = 0
    junk: int = 0
    processing_seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    # What each conversation left, to read failures against (never printed for holdout).
    listings: dict[str, list[str]] = field(default_factory=dict)


_ASSISTANT_SAID = re.compile(
    r"^the assistant\b|\bassistant (?:told|recommended|suggested|advised|said|thinks)\b",
    re.IGNORECASE,
)


def _from_assistant(version: Version) -> bool:
    """What the assistant said or recommended cannot stand in for what the user said."""
    return "assistant_recommendations" in version.categories or bool(
        _ASSISTANT_SAID.search(normalise(version.content))
    )


def _category_ok(fact: Fact, version: Version) -> bool:
    return bool(fact.categories & set(version.categories)) and (
        len(version.categories) <= MAX_CATEGORIES
    )


def _date_ok(fact: Fact, version: Version) -> bool:
    return fact.date is not None and fact.date.accepts(version.start, version.end)


def best_match(fact: Fact, observed: Observed) -> Version | None:
    """The matching version scoring best on category and date.

    A current fact must be in a current memory; a superseded one counts wherever it is
    (whether it was superseded is the changes' score). A memory of what the assistant
    said never counts for a fact about the user.
    """
    pool = [
        v
        for v in observed.versions
        if (v.current or fact.superseded)
        and fact.matcher.matches(v.content)
        and not (_from_assistant(v) and "assistant_recommendations" not in fact.categories)
    ]
    return max(
        pool, key=lambda v: (_category_ok(fact, v), _date_ok(fact, v), v.current), default=None
    )


def _describe(version: Version) -> str:
    dates = (
        f"{version.start:%Y-%m-%d}..{version.end:%Y-%m-%d}"
        if version.start and version.end
        else "-"
    )
    return f"{version.content!r} [{', '.join(version.categories) or 'no category'}] {dates}"


def score_facts(conversation: Conversation, observed: Observed, tally: Tally) -> None:
    for fact in conversation.facts:
        tally.facts += 1
        found = best_match(fact, observed)
        if found is None:
            tally.failures.append(
                Failure(
                    conversation.id,
                    f"missing fact [{fact.area}]",
                    f"{fact.text} {fact.matcher.source}",
                )
            )
            continue
        tally.found += 1
        if _category_ok(fact, found):
            tally.categories_correct += 1
        else:
            kind = f"wrong category: {'/'.join(sorted(fact.categories))}"
            tally.failures.append(Failure(conversation.id, kind, _describe(found)))
        if fact.date is None:
            continue
        tally.dated += 1
        if _date_ok(fact, found):
            tally.dates_correct += 1
        else:
            detail = f"{fact.text}: expected {fact.date}, got {_describe(found)}"
            tally.failures.append(Failure(conversation.id, f"wrong date [{fact.area}]", detail))


def change_failure(
    old: Fact, new: Fact, reason: ExpirationReason, observed: Observed
) -> str | None:
    """Why the change from `old` to `new` was not handled, or None when it was.

    Handled: a current memory says the new fact (an addition's also still says the old
    one), an older version of that same memory says the old fact and expired for `reason`,
    and (for a supersede) no current memory still says the old fact without the new one.
    """
    addition = reason is ExpirationReason.ADDITION_TO_EXISTING_MEMORY
    heads = [
        v
        for v in observed.current
        if new.matcher.matches(v.content) and (not addition or old.matcher.matches(v.content))
    ]
    if not heads:
        return (
            "addition: no current memory keeps old and new"
            if addition
            else "supersede: new fact not current"
        )
    stale = [
        v
        for v in observed.current
        if old.matcher.matches(v.content) and not new.matcher.matches(v.content)
    ]
    if stale and not addition:
        return "supersede: old fact still current"
    history = [
        v
        for v in observed.versions
        if not v.current
        and v.chain in {h.memory_id for h in heads}
        and old.matcher.matches(v.content)
    ]
    if any(v.expiration_reason is reason for v in history):
        return None
    prefix = "addition" if addition else "supersede"
    return (
        f"{prefix}: old version expired for another reason"
        if history
        else f"{prefix}: no version chain"
    )


def score_changes(conversation: Conversation, observed: Observed, tally: Tally) -> None:
    for change in conversation.changes:
        old, new = conversation.fact(change.old), conversation.fact(change.new)
        failure = change_failure(old, new, change.reason, observed)
        addition = change.reason is ExpirationReason.ADDITION_TO_EXISTING_MEMORY
        tally.changes += 1
        tally.additions += addition
        tally.supersedes += not addition
        if failure is None:
            tally.changes_handled += 1
            tally.additions_handled += addition
            tally.supersedes_handled += not addition
        else:
            tally.failures.append(Failure(conversation.id, failure, f"{old.text} -> {new.text}"))


def score_conflicts(conversation: Conversation, observed: Observed, tally: Tally) -> None:
    unmatched = list(observed.conflicts)
    for expected in conversation.conflicts:
        existing = conversation.fact(expected.existing)
        tally.conflicts_expected += 1
        hit = next(
            (
                c
                for c in unmatched
                if expected.proposal.matches(c.proposal)
                and any(existing.matcher.matches(m) for m in c.conflicting)
            ),
            None,
        )
        if hit is None:
            detail = f"{expected.proposal.source} against {existing.text}"
            tally.failures.append(Failure(conversation.id, "merge conflict not raised", detail))
        else:
            tally.conflicts_raised += 1
            unmatched.remove(hit)
    tally.conflicts_unexpected += len(unmatched)
    for conflict in unmatched:
        tally.failures.append(
            Failure(conversation.id, "unexpected merge conflict", conflict.proposal)
        )


def score_surface(conversation: Conversation, observed: Observed, tally: Tally) -> None:
    for rule in conversation.must_not:
        tally.must_nots += 1
        hits = [v.content for v in observed.versions if rule.hit(v.content)]
        if hits:
            tally.violations += 1
            tally.failures.append(Failure(conversation.id, f"violation: {rule.why}", repr(hits[0])))
    for version in observed.current:
        tally.memories += 1
        kind = junk_kind(version.content)
        if kind is not None:
            tally.junk += 1
            tally.failures.append(Failure(conversation.id, f"junk: {kind}", repr(version.content)))


def score(conversation: Conversation, observed: Observed, tally: Tally) -> None:
    """Adds one conversation's outcome to its split's tally."""
    tally.conversations += 1
    tally.sessions += len(conversation.sessions)
    tally.listings[conversation.id] = [
        ("  " if v.current else "  (old) ") + _describe(v) for v in observed.versions
    ]
    score_facts(conversation, observed, tally)
    score_changes(conversation, observed, tally)
    score_conflicts(conversation, observed, tally)
    score_surface(conversation, observed, tally)


# ---------------------------------------------------------------- running


def _ingest_wave(
    client: RecallrAI, conversations: Sequence[Conversation], wave: int
) -> list[tuple[str, str]]:
    """Creates every conversation's session number `wave` with its messages."""
    pairs = []
    for conversation in conversations:
        if wave >= len(conversation.sessions):
            continue
        if wave == 0:
            user = client.create_user(conversation.id, metadata=dict(conversation.metadata))
            if conversation.merge_conflict_enabled:
                user.update(merge_conflict_enabled=True)
        else:
            user = client.get_user(conversation.id, validate=False)
        gold = conversation.sessions[wave]
        session = user.create_session(
            custom_created_at_utc=gold.created_at,
            metadata=dict(gold.metadata) if gold.metadata is not None else None,
        )
        for role, content in gold.messages:
            session.add_message(role=MessageRole(role), content=content)
        pairs.append((conversation.id, session.session_id))
    return pairs


def _version(memory: UserMemoryItem, chain: str, current: bool) -> Version:
    return Version(
        memory.memory_id,
        chain,
        memory.content,
        tuple(memory.categories),
        memory.event_date_start,
        memory.event_date_end,
        current,
        memory.expiration_reason,
    )


def _versions(user: User) -> list[Version]:
    versions: list[Version] = []
    offset, more = 0, True
    while more:
        page = user.list_memories(offset=offset, limit=PAGE, include_connected_memories=False)
        offset, more = offset + PAGE, page.has_more
        for item in page.items:
            versions.append(_version(item, item.memory_id, current=True))
            # The listing's version info carries no categories: read each version itself.
            versions += [
                _version(
                    user.get_memory(
                        previous.memory_id,
                        include_previous_versions=False,
                        include_connected_memories=False,
                    ),
                    item.memory_id,
                    current=False,
                )
                for previous in item.previous_versions or ()
            ]
    return versions


def observe(user: User) -> Observed:
    conflicts: list[RaisedConflict] = []
    offset, more = 0, True
    while more:
        page = user.list_merge_conflicts(offset=offset, limit=PAGE)
        offset, more = offset + PAGE, page.has_more
        conflicts += [
            RaisedConflict(
                c.proposed_memory_content or "",
                tuple(m.content for m in c.conflicting_memories),
            )
            for c in page.conflicts
        ]
    return Observed(tuple(_versions(user)), tuple(conflicts))


def evaluate(client: RecallrAI, conversations: Sequence[Conversation], timeout: float) -> Tally:
    """Ingests and processes the conversations session by session, in order; scores them."""
    tally = Tally()
    for wave in range(max((len(c.sessions) for c in conversations), default=0)):
        pairs = _ingest_wave(client, conversations, wave)
        started = time.perf_counter()
        process(client, pairs, timeout)
        tally.processing_seconds += time.perf_counter() - started
    for conversation in conversations:
        user = client.get_user(conversation.id, validate=False)
        tally.failed_sessions += user.list_sessions(
            limit=1, status_filter=[SessionStatus.FAILED]
        ).total
        score(conversation, observe(user), tally)
    return tally


# ---------------------------------------------------------------- reporting


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(tally: Tally) -> dict[str, Any]:
    """The aggregate figures of a split: ratios with the counts they come from."""
    return {
        "conversations": tally.conversations,
        "sessions": tally.sessions,
        "failed_sessions": tally.failed_sessions,
        "fact_recall": _ratio(tally.found, tally.facts),
        "facts": f"{tally.found}/{tally.facts}",
        "date_accuracy": _ratio(tally.dates_correct, tally.dated),
        "dates": f"{tally.dates_correct}/{tally.dated}",
        "category_accuracy": _ratio(tally.categories_correct, tally.found),
        "categories": f"{tally.categories_correct}/{tally.found}",
        "change_accuracy": _ratio(tally.changes_handled, tally.changes),
        "supersedes": f"{tally.supersedes_handled}/{tally.supersedes}",
        "additions": f"{tally.additions_handled}/{tally.additions}",
        "merge_conflicts_raised": f"{tally.conflicts_raised}/{tally.conflicts_expected}",
        "unexpected_merge_conflicts": tally.conflicts_unexpected,
        "violations": f"{tally.violations}/{tally.must_nots}",
        "junk_rate": _ratio(tally.junk, tally.memories),
        "junk": f"{tally.junk}/{tally.memories}",
        "memories_per_session": _ratio(tally.memories, tally.sessions),
        "seconds_per_session": tally.processing_seconds / tally.sessions
        if tally.sessions
        else None,
    }


def failure_kinds(failures: Iterable[Failure], top: int = 10) -> list[tuple[str, int]]:
    return Counter(f.kind for f in failures).most_common(top)


def _print_figures(split: str, values: dict[str, Any]) -> None:
    print(f"\n== {split}")
    for name, value in values.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {name:<28} {shown}")


def _print_failures(failures: Sequence[Failure], listings: dict[str, list[str]]) -> None:
    print("\n== dev failures")
    for conversation in sorted({f.conversation for f in failures}):
        print(f"\n-- {conversation}")
        for failure in sorted(
            (f for f in failures if f.conversation == conversation), key=lambda f: f.kind
        ):
            print(f"  {failure.kind}: {failure.detail}")
        print("  memories:")
        for line in listings.get(conversation, []):
            print(f"  {line}")
    print("\n== most common dev failure kinds")
    for kind, count in failure_kinds(failures):
        print(f"  {count:>4}  {kind}")


def run(splits: Sequence[Split], timeout: float) -> dict[str, Tally]:
    data = {split: load(split) for split in splits}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'memory-quality.db'}"
        with (
            running_server(url, in_process_workers=1, worker_processes=0) as (target, _),
            RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=target, timeout=60) as client,
        ):
            return {split: evaluate(client, data[split], timeout) for split in splits}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="dev")
    parser.add_argument("--show-failures", action="store_true", help="dev failures only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per session wave")
    args = parser.parse_args(argv)
    if args.show_failures and args.split == "holdout":
        parser.error("holdout failures are never shown: tune on dev, measure on holdout")
    splits: list[Split] = list(SPLITS) if args.split == "all" else [args.split]
    tallies = run(splits, args.timeout)
    dev_failures = tallies["dev"].failures if "dev" in tallies and args.show_failures else []
    if args.json:
        output: dict[str, Any] = {split: figures(t) for split, t in tallies.items()}
        if args.show_failures:
            output["dev_failures"] = [asdict(f) for f in dev_failures]
            output["dev_failure_kinds"] = failure_kinds(dev_failures)
        json.dump(output, sys.stdout, indent=2)
        print()
        return
    for split, tally in tallies.items():
        _print_figures(split, figures(tally))
    if args.show_failures:
        _print_failures(dev_failures, tallies["dev"].listings)


if __name__ == "__main__":
    main()
