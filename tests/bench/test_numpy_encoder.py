"""The numpy encoder that bench/embeddings.py measures as the baseline still runs the model.

A baseline that drifted from the model would make the speed-up it reports meaningless, so it
is held to the same sentence-transformers vectors as the server's encoder.
"""

from __future__ import annotations

import importlib.resources
import random

import pytest

from bench.numpy_encoder import NumpyEncoder
from recallr_server.engine.embeddings import MODEL_PACKAGE, MiniLMEmbedder
from tests.support.minilm_reference import SENTENCES, VECTORS, assert_matches_reference


@pytest.fixture(scope="module")
def baseline() -> MiniLMEmbedder:
    with importlib.resources.as_file(
        importlib.resources.files(MODEL_PACKAGE) / "model"
    ) as model_dir:
        return MiniLMEmbedder(model_dir, NumpyEncoder)


def test_baseline_embeds_single_texts_like_sentence_transformers(
    baseline: MiniLMEmbedder,
) -> None:
    for sentence, expected in zip(SENTENCES, VECTORS, strict=True):
        assert_matches_reference(baseline.embed([sentence]), expected[None, :])


def test_baseline_embeds_padded_batches_like_sentence_transformers(
    baseline: MiniLMEmbedder,
) -> None:
    order = list(range(len(SENTENCES)))
    random.Random(11).shuffle(order)

    embedded = baseline.embed([SENTENCES[i] for i in order], max_batch_tokens=64)

    assert_matches_reference(embedded, VECTORS[order])
