"""Throughput of the numpy all-MiniLM-L6-v2 embedder: sentences per second and peak memory.

Run with `python bench/embeddings.py`. Short texts are about 20 word pieces, like a memory
or a query; long ones about 135, like a conversation turn with context.
"""

from __future__ import annotations

import argparse
import importlib.resources
import resource
import statistics
import time

from tokenizers import Tokenizer

from recallr_server.engine.embeddings import MODEL_PACKAGE, MiniLMEmbedder

SUBJECTS = ("my sister", "our landlord", "the new manager", "grandpa", "my best friend")
PLACES = ("Berlin", "a small town near Lyon", "the coast", "Osaka", "the old flat")
ACTIVITIES = ("learning to paint", "training for a marathon", "fixing bikes", "baking bread")


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


def mean_word_pieces(texts: list[str]) -> float:
    tokenizer_file = importlib.resources.files(MODEL_PACKAGE) / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    return statistics.mean(
        sum(encoding.attention_mask) for encoding in tokenizer.encode_batch(texts)
    )


def sentences_per_second(
    embedder: MiniLMEmbedder, texts: list[str], batch_size: int, repeats: int
) -> tuple[float, float]:
    """Median rates per wall-clock second and per CPU second of this process.

    The CPU-time rate stays meaningful on a busy machine, where wall time also measures
    other processes; with several BLAS threads it counts every thread's time.
    """
    wall_rates, cpu_rates = [], []
    for _ in range(repeats):
        wall_started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, len(texts), batch_size):
            embedder.embed(texts[start : start + batch_size])
        wall_rates.append(len(texts) / (time.perf_counter() - wall_started))
        cpu_rates.append(len(texts) / (time.process_time() - cpu_started))
    return statistics.median(wall_rates), statistics.median(cpu_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=128, help="texts per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements; median shown")
    args = parser.parse_args()

    started = time.perf_counter()
    embedder = MiniLMEmbedder.load()
    print(f"model load: {time.perf_counter() - started:.2f} s")
    embedder.embed(short_texts(4))  # first call pays one-off allocator and BLAS set-up

    for label, texts in (("short", short_texts(args.texts)), ("long", long_texts(args.texts))):
        tokens = mean_word_pieces(texts)
        for batch_size in (1, 32):
            wall_rate, cpu_rate = sentences_per_second(embedder, texts, batch_size, args.repeats)
            print(
                f"{label:>5} ({tokens:5.1f} word pieces)  batch {batch_size:>2}: "
                f"{wall_rate:7.1f} sentences/s, {cpu_rate:7.1f} per CPU second"
            )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
