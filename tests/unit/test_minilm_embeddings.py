"""The all-MiniLM-L6-v2 embedder, run by onnxruntime, reproduces sentence-transformers' vectors."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.typing import NDArray

from recallr_server.engine.embeddings import Embedder, MiniLMEmbedder
from recallr_server.engine.encoder_graph import EncoderShape
from tests.support.minilm_reference import SENTENCES, VECTORS, assert_matches_reference

DIMENSIONS = 384


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder.load()


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


def test_a_model_with_another_activation_is_refused_rather_than_run_as_gelu() -> None:
    config = {
        "hidden_act": "relu",
        "hidden_size": 384,
        "num_attention_heads": 12,
        "num_hidden_layers": 6,
        "layer_norm_eps": 1e-12,
    }

    with pytest.raises(ValueError, match="relu"):
        EncoderShape.from_config(config)
