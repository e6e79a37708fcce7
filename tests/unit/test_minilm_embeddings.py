"""The numpy all-MiniLM-L6-v2 embedder reproduces sentence-transformers' vectors."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from recallr_server.engine.embeddings import Embedder, MiniLMEmbedder

REFERENCE_FILE = Path(__file__).resolve().parents[2].parent / "shared/data/minilm-reference.json"
REFERENCE = json.loads(REFERENCE_FILE.read_text())
SENTENCES: list[str] = REFERENCE["sentences"]
VECTORS: NDArray[np.float64] = np.array(REFERENCE["embeddings"], dtype=np.float64)
DIMENSIONS = 384


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder.load()


def assert_matches_reference(actual: NDArray[np.float32], expected: NDArray[np.float64]) -> None:
    cosines = np.sum(actual * expected, axis=1) / (
        np.linalg.norm(actual, axis=1) * np.linalg.norm(expected, axis=1)
    )
    assert cosines.min() > 0.99999
    assert np.abs(actual - expected).max() < 1e-5


@pytest.mark.parametrize(
    ("sentence", "expected"), list(zip(SENTENCES, VECTORS, strict=True)), ids=range(len(SENTENCES))
)
def test_each_reference_sentence_embeds_like_sentence_transformers(
    embedder: MiniLMEmbedder, sentence: str, expected: NDArray[np.float64]
) -> None:
    assert_matches_reference(embedder.embed([sentence]), expected[None, :])


def test_batches_of_mixed_lengths_keep_input_order(embedder: MiniLMEmbedder) -> None:
    order = list(range(len(SENTENCES)))
    random.Random(7).shuffle(order)

    embedded = embedder.embed([SENTENCES[i] for i in order], max_batch_tokens=64)

    assert_matches_reference(embedded, VECTORS[order])


def test_output_is_normalised_float32_rows(embedder: MiniLMEmbedder) -> None:
    embedded = embedder.embed(SENTENCES)

    assert embedded.dtype == np.float32
    assert embedded.shape == (len(SENTENCES), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-6)


def test_no_texts_give_an_empty_matrix(embedder: MiniLMEmbedder) -> None:
    embedded = embedder.embed([])

    assert embedded.dtype == np.float32
    assert embedded.shape == (0, DIMENSIONS)


def test_concurrent_calls_from_threads_agree_with_serial_ones(embedder: MiniLMEmbedder) -> None:
    chunks = [SENTENCES[start::4] for start in range(4)]
    serial = [embedder.embed(chunk) for chunk in chunks]

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(embedder.embed, chunks * 3))

    for index, result in enumerate(concurrent):
        np.testing.assert_allclose(result, serial[index % len(chunks)], rtol=0, atol=1e-6)


def test_implements_the_embedder_protocol(embedder: MiniLMEmbedder) -> None:
    protocol_view: Embedder = embedder

    assert protocol_view.dimensions == DIMENSIONS


def test_load_reuses_one_instance_per_process() -> None:
    assert MiniLMEmbedder.load() is MiniLMEmbedder.load()
