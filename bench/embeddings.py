"""all-MiniLM-L6-v2 embedding speed: the server's onnxruntime encoder beside the numpy one.

    .venv/bin/python -m bench.embeddings [--texts 256] [--questions 200] [--repeats 5]

Both encoders sit behind the same `MiniLMEmbedder` (tokenisation, length batching, pooling)
and run in one process, on one thread each, taking turns in every round so that both see
the same machine state. Figures:
- facts/s: fact-sized texts (about 20 word pieces) embedded 32 to a call, as processing
  embeds a session's facts, and one to a call; conversation turns with context (about 135
  word pieces) 32 to a call;
- question latency: LoCoMo's questions embedded one at a time, as recall embeds a question
  (wall-clock p50 and p90, and the p50 of the CPU time each call took).
Each rate is the median over rounds, per wall-clock second and per CPU second of this
process (the CPU-time rate stays meaningful on a busy machine). The two encoders' vectors
are compared too: their lowest cosine over every text embedded.
"""

from __future__ import annotations

# The server's package limits numpy to one BLAS thread before numpy loads; the baseline
# must run as the server ran it, so that import comes first.
import recallr_server  # noqa: F401

# isort: split

import argparse
import importlib.resources
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from bench.locomo_data import conversations
from bench.numpy_encoder import NumpyEncoder
from recallr_server.engine.embeddings import MODEL_PACKAGE, Matrix, MiniLMEmbedder

SUBJECTS = ("my sister", "our landlord", "the new manager", "grandpa", "my best friend")
PLACES = ("Berlin", "a small town near Lyon", "the coast", "Osaka", "the old flat")
ACTIVITIES = ("learning to paint", "training for a marathon", "fixing bikes", "baking bread")
FACTS_PER_CALL = 32


def short_texts(count: int) -> list[str]:
    return [
        f"Last week {SUBJECTS[i % 5]} moved to {PLACES[i // 5 % 5]} and started "
        f"{ACTIVITIES[i % 4]} (note {i})."
        for i in range(count)
    ]


def long_texts(count: int) -> list[str]:
    return [
        " ".join(
            f"In session {i}.{part}, {SUBJECTS[(i + part) % 5]} talked about moving to "
            f"{PLACES[(i * part) % 5]} and spending the weekends {ACTIVITIES[part % 4]}."
            for part in range(6)
        )
        for i in range(count)
    ]


def locomo_questions(count: int) -> list[str]:
    questions = [qa["question"] for c in conversations() for qa in c.qa]
    return questions[:count]


def mean_word_pieces(texts: Sequence[str]) -> float:
    tokenizer_file = importlib.resources.files(MODEL_PACKAGE) / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    return statistics.mean(
        sum(encoding.attention_mask) for encoding in tokenizer.encode_batch(list(texts))
    )


@dataclass(frozen=True)
class Workload:
    label: str
    texts: list[str]
    per_call: int


@dataclass
class Samples:
    """Texts per wall second and per CPU second, one value per round; every call's latency."""

    wall_rates: list[float]
    cpu_rates: list[float]
    wall_ms: list[float]
    cpu_ms: list[float]


def run_round(embed: Callable[[Sequence[str]], Matrix], workload: Workload, into: Samples) -> None:
    texts, per_call = workload.texts, workload.per_call
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), per_call):
        call_wall, call_cpu = time.perf_counter(), time.process_time()
        embed(texts[start : start + per_call])
        into.wall_ms.append((time.perf_counter() - call_wall) * 1000)
        into.cpu_ms.append((time.process_time() - call_cpu) * 1000)
    into.wall_rates.append(len(texts) / (time.perf_counter() - wall_started))
    into.cpu_rates.append(len(texts) / (time.process_time() - cpu_started))


def measure(
    embedders: dict[str, MiniLMEmbedder], workload: Workload, repeats: int
) -> dict[str, Samples]:
    samples = {name: Samples([], [], [], []) for name in embedders}
    names = list(embedders)
    for round_index in range(repeats):
        # Alternating who goes first spreads any drift in the machine's load evenly.
        for name in names if round_index % 2 == 0 else names[::-1]:
            run_round(embedders[name].embed, workload, samples[name])
    return samples


def load_embedders() -> dict[str, MiniLMEmbedder]:
    package = importlib.resources.files(MODEL_PACKAGE)
    with importlib.resources.as_file(package / "model") as model_dir:
        embedders = {"onnxruntime": MiniLMEmbedder.load()}
        embedders["numpy"] = MiniLMEmbedder(model_dir, NumpyEncoder)
    for embedder in embedders.values():
        embedder.embed(short_texts(4))  # the first call pays one-off allocator set-up
    return embedders


def lowest_cosine(embedders: dict[str, MiniLMEmbedder], texts: Sequence[str]) -> float:
    new, old = (embedder.embed(texts) for embedder in embedders.values())
    return float(np.min(np.sum(new * old, axis=1)))


def throughput_row(workload: Workload, samples: dict[str, Samples]) -> str:
    new, old = samples["onnxruntime"], samples["numpy"]
    wall = [statistics.median(s.wall_rates) for s in (new, old)]
    cpu = [statistics.median(s.cpu_rates) for s in (new, old)]
    tokens = mean_word_pieces(workload.texts)
    return (
        f"| {workload.label} ({tokens:.0f} word pieces), {workload.per_call} per call "
        f"| {wall[0]:.1f} | {wall[1]:.1f} | {wall[0] / wall[1]:.2f}x "
        f"| {cpu[0]:.1f} | {cpu[1]:.1f} | {cpu[0] / cpu[1]:.2f}x |"
    )


def latency_row(workload: Workload, samples: dict[str, Samples]) -> str:
    cells = []
    for clock, fraction in (("wall", 0.5), ("wall", 0.9), ("cpu", 0.5)):
        new, old = (
            float(np.quantile(getattr(samples[name], f"{clock}_ms"), fraction))
            for name in ("onnxruntime", "numpy")
        )
        cells.append(f"{new:.2f} ms | {old:.2f} ms | {old / new:.2f}x")
    tokens = mean_word_pieces(workload.texts)
    return f"| {workload.label} ({tokens:.0f} word pieces) | " + " | ".join(cells) + " |"


def table_head(first: str, *figures: str) -> str:
    cells = [first] + [
        f"{f} {name}" for f in figures for name in ("onnxruntime", "numpy", "speed-up")
    ]
    return "\n| " + " | ".join(cells) + " |\n" + "|---" * len(cells) + "|"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=256, help="texts per throughput round")
    parser.add_argument("--questions", type=int, default=200, help="questions per round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; medians shown")
    args = parser.parse_args()

    embedders = load_embedders()
    facts, turns = short_texts(args.texts), long_texts(args.texts // 4)
    questions = locomo_questions(args.questions)
    print(f"lowest cosine, onnxruntime vs numpy: {lowest_cosine(embedders, facts + turns):.7f}")

    print(table_head("texts/s, median of rounds", "texts/s", "texts per CPU s"))
    for workload in (
        Workload("facts", facts, FACTS_PER_CALL),
        Workload("facts", facts[: args.texts // 4], 1),
        Workload("turns", turns, FACTS_PER_CALL),
    ):
        print(throughput_row(workload, measure(embedders, workload, args.repeats)))

    print(table_head("one question per call", "p50", "p90", "CPU p50"))
    workload = Workload("LoCoMo questions", questions, 1)
    print(latency_row(workload, measure(embedders, workload, args.repeats)))


if __name__ == "__main__":
    main()
