"""The LoCoMo benchmark's ways of calling: its own call, the client's defaults, labelled
transcripts, and the tuning and held-out conversations.

The figures compare these ways side by side, so each must send exactly what it says: the
default call leaves the thresholds and the strategy to the client, and a labelled
transcript carries names only in its text.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bench.locomo import CallStyle, recallr_runs
from bench.locomo_data import (
    HOLDOUT,
    LABELLED,
    PLAIN,
    Conversation,
    LocomoSession,
    Turn,
    in_split,
)
from recallrai.models import RecallStrategy

TIME = datetime(2023, 5, 8, tzinfo=UTC)


def conversation() -> Conversation:
    turns = [
        Turn("D1:1", "Caroline", "I went to a support group."),
        Turn("D1:2", "Melanie", "Wow!"),
    ]
    return Conversation("conv-x", "Caroline", "Melanie", [LocomoSession(1, TIME, turns)], [])


def options(**given: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "baselines_only": False,
        "strategy": [RecallStrategy.LOW_LATENCY],
        "memory_share": 0.5,
        "defaults": False,
        "labelled": False,
    }
    return argparse.Namespace(**(defaults | given))


def test_the_default_call_gives_only_the_top_k_bounds() -> None:
    assert CallStyle(None).options(10) == {
        "min_top_k": 5,
        "max_top_k": 10,
        "include_metadata_ids": True,
        "include_system_prompt": False,
    }
    zero = CallStyle(None, zero_thresholds=True).options(10)
    assert (zero["memories_threshold"], zero["summaries_threshold"]) == (0.0, 0.0)
    assert "recall_strategy" not in zero


def test_the_benchmark_call_names_its_strategy_and_no_threshold() -> None:
    sent = CallStyle(RecallStrategy.BALANCED, 1.0).options(10)
    assert sent["recall_strategy"] == RecallStrategy.BALANCED
    assert (sent["min_top_k"], sent["max_top_k"], sent["memories_threshold"]) == (10, 10, 0.0)


def test_defaults_and_labelled_switches_add_runs_in_one_table() -> None:
    labels = [run.label for run in recallr_runs(options(defaults=True, labelled=True))]
    assert labels == [
        "Recallr LOW_LATENCY",
        "Recallr client defaults",
        "Recallr client defaults, thresholds 0",
        "Recallr LOW_LATENCY, labelled messages",
        "Recallr client defaults, labelled messages",
        "Recallr client defaults, thresholds 0, labelled messages",
    ]
    only_defaults = recallr_runs(options(strategy=[], defaults=True))
    assert [run.label for run in only_defaults] == [
        "Recallr client defaults",
        "Recallr client defaults, thresholds 0",
    ]
    assert recallr_runs(options(baselines_only=True, defaults=True)) == []


def test_a_labelled_transcript_names_speakers_in_the_text_alone() -> None:
    talk = conversation()
    said = talk.sessions[0].turns[0]
    assert LABELLED.content(said) == "Caroline: I went to a support group."
    assert (LABELLED.user_metadata(talk), LABELLED.session_metadata(talk)) == ({}, {})
    assert LABELLED.user_id(talk) != PLAIN.user_id(talk)
    assert PLAIN.content(said) == "I went to a support group."
    assert PLAIN.user_metadata(talk) == {"name": "Caroline"}
    assert PLAIN.session_metadata(talk) == {"assistant_name": "Melanie"}


def test_held_out_conversations_are_in_no_tuning_run() -> None:
    for sample_id in ("conv-26", "conv-30", "conv-41", "conv-42", "conv-43"):
        assert in_split(sample_id, "all")
        assert in_split(sample_id, "tune") != in_split(sample_id, "holdout")
        assert in_split(sample_id, "holdout") == (sample_id in HOLDOUT)
