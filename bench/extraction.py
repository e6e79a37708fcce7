"""Throughput of local fact extraction over the LoCoMo dev conversations: turns per second.

Run with `python bench/extraction.py`. CPU time is printed beside wall time because a shared
machine's load inflates the latter. The data is read from `../shared/data/` beside the
project and never copied into it. Each session is extracted with its own date as "now", as
processing does; the speaker whose turns open the conversation plays the user.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recallr_server.domain.categories import DEFAULT_CATEGORIES
from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.ingest.extraction import extract_facts
from recallr_server.engine.ingest.extraction.pipeline import nlp

DATA_FILE = Path(__file__).resolve().parents[2] / "shared/data/locomo-dev.json"
SESSION_TIME_FORMAT = "%I:%M %p on %d %B, %Y"


def sessions(conversation: dict[str, Any]) -> list[tuple[datetime, list[ChatMessage]]]:
    """Each session's time and turns, in order; the first speaker is the user."""
    user = conversation["speaker_a"]
    found = []
    number = 1
    while f"session_{number}" in conversation:
        when = datetime.strptime(
            conversation[f"session_{number}_date_time"], SESSION_TIME_FORMAT
        ).replace(tzinfo=UTC)
        turns = [
            ChatMessage(
                turn["dia_id"], "user" if turn["speaker"] == user else "assistant", turn["text"]
            )
            for turn in conversation[f"session_{number}"]
        ]
        found.append((when, turns))
        number += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA_FILE)
    arguments = parser.parse_args()
    conversations = json.loads(arguments.data.read_text())
    loading = time.perf_counter()
    nlp()
    print(f"model load: {time.perf_counter() - loading:.2f} s")
    total_turns = total_facts = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    for sample in conversations:
        conversation = sample["conversation"]
        for when, turns in sessions(conversation):
            facts = extract_facts(
                turns,
                now=when,
                user_name=conversation["speaker_a"],
                assistant_name=conversation["speaker_b"],
                categories=DEFAULT_CATEGORIES,
            )
            total_turns += len(turns)
            total_facts += len(facts)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(
        f"{len(conversations)} conversations, {total_turns} turns, {total_facts} facts in "
        f"{elapsed:.1f} s wall ({total_turns / elapsed:.0f} turns/s), "
        f"{cpu:.1f} s CPU ({total_turns / cpu:.0f} turns/s)"
    )


if __name__ == "__main__":
    main()
