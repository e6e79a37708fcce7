"""The memory-quality yardstick itself: its gold set, its matching rules and its figures.

A yardstick that drifts silently is worse than none, so the rules that decide whether a
memory counts are pinned here on hand-made memories, and one tiny conversation runs
through a real server to pin the figures the scorer prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench import memory_quality
from bench.memory_gold import AREAS, SPLITS, Matcher, load, parse_conversation
from bench.memory_quality import Observed, RaisedConflict, Tally, Version, evaluate, figures, score
from recallrai import RecallrAI
from recallrai.models import ExpirationReason
from tests.conftest import Tenant

DAY = datetime(2024, 5, 14, tzinfo=UTC)


def version(
    content: str,
    *,
    categories: tuple[str, ...] = ("places",),
    current: bool = True,
    chain: str = "m1",
    memory_id: str | None = None,
    reason: ExpirationReason | None = None,
    day: datetime = DAY,
) -> Version:
    return Version(
        memory_id or chain,
        chain,
        content,
        categories,
        day,
        day + timedelta(days=1),
        current,
        reason,
    )


def conversation(**overrides: Any) -> dict[str, Any]:
    """A one-session conversation in the gold set's JSON form."""
    raw: dict[str, Any] = {
        "id": "tiny",
        "user": {"metadata": {"name": "Ana"}},
        "sessions": [
            {
                "created_at": "2024-05-14T10:00:00+00:00",
                "messages": [{"role": "user", "content": "I'm allergic to peanuts."}],
            }
        ],
        "facts": [
            {
                "id": "peanuts",
                "area": "in_passing",
                "text": "Ana is allergic to peanuts",
                "match": ["peanut*", "allerg*"],
                "categories": ["allergies", "health"],
            }
        ],
    }
    raw.update(overrides)
    return raw


def scored(raw: dict[str, Any], *versions: Version, conflicts: tuple[str, ...] = ()) -> Tally:
    tally = Tally()
    raised = tuple(RaisedConflict(c, ("Rui was born in Braga.",)) for c in conflicts)
    score(parse_conversation(raw, "dev"), Observed(versions, raised), tally)
    return tally


def test_every_gold_fact_matches_its_own_reference_wording_and_breaks_no_rule() -> None:
    for split in SPLITS:
        for gold in load(split):
            for fact in gold.facts:
                assert fact.matcher.matches(fact.text), (gold.id, fact.id)
                assert not [rule.why for rule in gold.must_not if rule.hit(fact.text)], (
                    gold.id,
                    fact.id,
                )


def test_both_splits_cover_every_area_and_share_no_conversation() -> None:
    dev, holdout = load("dev"), load("holdout")
    for area in AREAS:
        assert sum(area in c.areas for c in dev) >= 2, area
        assert sum(area in c.areas for c in holdout) >= 2, area
    assert not {c.id for c in dev} & {c.id for c in holdout}
    assert sum(len(c.facts) for c in dev + holdout) >= 300
    assert len(dev) + len(holdout) >= 70


def test_matcher_needs_every_group_as_whole_words_in_any_case() -> None:
    porto = Matcher.parse(["porto", "{LIVE}"])
    assert porto.matches("Ana has LIVED in Porto for three years.")
    assert not porto.matches("Porto, for three years now.")
    assert not porto.matches("Ana lives near Portofino.")
    stem = Matcher.parse(["allerg*", "shellfish"])
    assert stem.matches("Ana has a shellfish allergy.")
    assert not stem.matches("Ana is allergic to shell fish.")
    negated = Matcher.parse(["alcohol", "{NEG}"])
    assert negated.matches("Hiro doesn\u2019t drink alcohol.")
    assert not negated.matches("Hiro drinks alcohol.")


def test_a_date_counts_only_inside_its_window() -> None:
    raw = conversation()
    raw["facts"][0]["date"] = "2024-06-03"
    on_the_day = scored(
        raw, version("Ana is allergic to peanuts.", day=datetime(2024, 6, 3, tzinfo=UTC))
    )
    a_year_early = scored(
        raw, version("Ana is allergic to peanuts.", day=datetime(2023, 6, 3, tzinfo=UTC))
    )
    assert (on_the_day.dated, on_the_day.dates_correct) == (1, 1)
    assert (a_year_early.dated, a_year_early.dates_correct) == (1, 0)


def test_a_category_counts_when_acceptable_and_not_hedged() -> None:
    right = scored(
        conversation(), version("Ana is allergic to peanuts.", categories=("allergies",))
    )
    wrong = scored(
        conversation(), version("Ana is allergic to peanuts.", categories=("food_preferences",))
    )
    hedged = scored(
        conversation(),
        version(
            "Ana is allergic to peanuts.", categories=("allergies", "health", "events", "plans")
        ),
    )
    assert [t.categories_correct for t in (right, wrong, hedged)] == [1, 0, 0]


def test_what_the_assistant_said_never_counts_as_the_users_fact() -> None:
    tally = scored(
        conversation(),
        version("The assistant told Ana that peanut allergies are common.", categories=("health",)),
    )
    assert (tally.facts, tally.found) == (1, 0)


def _move(*versions: Version) -> Tally:
    raw = conversation(
        facts=[
            {
                "id": "lyon",
                "area": "temporal_change",
                "text": "Claire lives in Lyon",
                "match": ["lyon", "{LIVE}"],
                "categories": ["places"],
                "status": "superseded",
            },
            {
                "id": "grenoble",
                "area": "temporal_change",
                "text": "Claire moved to Grenoble",
                "match": ["grenoble", "{LIVE}"],
                "categories": ["places"],
            },
        ],
        changes=[{"old": "lyon", "new": "grenoble", "reason": "temporal_conflict"}],
    )
    return scored(raw, *versions)


def test_a_supersede_needs_the_old_version_expired_on_the_same_memory() -> None:
    chained = _move(
        version("Claire moved to Grenoble."),
        version(
            "Claire lives in Lyon.",
            current=False,
            memory_id="m0",
            reason=ExpirationReason.TEMPORAL_CONFLICT,
        ),
    )
    side_by_side = _move(
        version("Claire moved to Grenoble."),
        version("Claire lives in Lyon.", chain="m2"),
    )
    wrong_reason = _move(
        version("Claire moved to Grenoble."),
        version(
            "Claire lives in Lyon.",
            current=False,
            memory_id="m0",
            reason=ExpirationReason.ADDITION_TO_EXISTING_MEMORY,
        ),
    )
    assert [t.supersedes_handled for t in (chained, side_by_side, wrong_reason)] == [1, 0, 0]
    assert [f.kind for f in side_by_side.failures] == ["supersede: old fact still current"]
    assert (chained.found, side_by_side.found) == (2, 2)


def test_an_addition_keeps_the_old_fact_in_the_new_version() -> None:
    raw = conversation(
        facts=[
            {
                "id": "dog",
                "area": "entities",
                "text": "Sofia has a dog named Pepper",
                "match": ["pepper", "dog"],
                "categories": ["relationships"],
            },
            {
                "id": "breed",
                "area": "addition",
                "text": "Pepper is a border collie",
                "match": ["pepper", "collie"],
                "categories": ["relationships"],
            },
        ],
        changes=[{"old": "dog", "new": "breed", "reason": "addition_to_existing_memory"}],
    )
    old = version(
        "Sofia has a dog named Pepper.",
        current=False,
        memory_id="m0",
        reason=ExpirationReason.ADDITION_TO_EXISTING_MEMORY,
    )
    kept = scored(raw, version("Sofia's dog Pepper is a border collie."), old)
    lost = scored(raw, version("Pepper is a border collie."), old)
    assert (kept.additions_handled, lost.additions_handled) == (1, 0)


def test_merge_conflicts_count_where_expected_and_surplus_ones_count_against() -> None:
    raw = conversation(
        user={"metadata": {"name": "Rui"}, "merge_conflict_enabled": True},
        facts=[
            {
                "id": "braga",
                "area": "merge_conflict",
                "text": "Rui was born in Braga",
                "match": ["braga", "born"],
                "categories": ["personal_info"],
            }
        ],
        merge_conflicts=[{"proposal": ["coimbra", "born"], "existing": "braga"}],
    )
    memory = version("Rui was born in Braga.", categories=("personal_info",))
    raised = scored(raw, memory, conflicts=("Rui was born in Coimbra.", "Rui likes cod."))
    missing = scored(raw, memory)
    assert (raised.conflicts_raised, raised.conflicts_unexpected) == (1, 1)
    assert (missing.conflicts_expected, missing.conflicts_raised) == (1, 0)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("Bea finally finished her pottery course lol.", "filler"),
        ("Ana is, well, a night owl.", "filler"),
        ("So Ana moved to Porto.", "filler"),
        ("It started hurting on 1 October 2024.", "dangling pronoun"),
        ("Sofia said that her name is Pepper.", "dangling pronoun"),
        ("The assistant told the user that Priya: Sounds good.", "speaker label"),
        ("Luka and others are renovating their kitchen.", "'and others'"),
        ("I live in Porto.", "first or second person"),
        ("Porto, mostly.", "fragment"),
        ("Ana moved to the US in 2019.", None),
        ('Ana\'s favourite book is "I, Robot".', None),
    ],
)
def test_junk_is_what_cannot_stand_alone_as_a_clean_fact(content: str, kind: str | None) -> None:
    assert memory_quality.junk_kind(content) == kind


def test_holdout_failures_are_refused_before_anything_runs() -> None:
    with pytest.raises(SystemExit) as refused:
        memory_quality.main(["--split", "holdout", "--show-failures"])
    assert refused.value.code == 2


@pytest.fixture
def client(tenant: Tenant) -> Iterator[RecallrAI]:
    with RecallrAI(
        api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target
    ) as opened:
        yield opened


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_scorer_figures_on_a_real_server(client: RecallrAI) -> None:
    raw = conversation(
        facts=[
            *conversation()["facts"],
            # Never said: it must lower recall, whatever the engine does.
            {
                "id": "cello",
                "area": "in_passing",
                "text": "Ana plays the cello",
                "match": ["cello"],
                "categories": ["hobbies"],
            },
        ],
        # Deliberately true of any memory of the peanut allergy: it must count as a hit.
        must_not=[{"mentions": ["peanut*"], "why": "deliberate hit"}],
    )
    tally = evaluate(client, [parse_conversation(raw, "dev")], timeout=60)
    values = figures(tally)
    assert (tally.sessions, tally.failed_sessions, tally.facts) == (1, 0, 2)
    assert values["fact_recall"] == 0.5
    assert values["violations"] == "1/1"
    assert tally.memories >= 1
    assert values["memories_per_session"] == tally.memories
    kinds = {f.kind for f in tally.failures}
    assert {"missing fact [in_passing]", "violation: deliberate hit"} <= kinds
