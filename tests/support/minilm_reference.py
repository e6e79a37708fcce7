"""sentence-transformers' all-MiniLM-L6-v2 vectors for a fixed set of sentences.

Every encoder that feeds `MiniLMEmbedder` is held to these vectors, so the server's and the
benchmarks' baselines cannot drift from the model they claim to run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REFERENCE_FILE = Path(__file__).resolve().parents[2].parent / "shared/data/minilm-reference.json"
REFERENCE = json.loads(REFERENCE_FILE.read_text())
SENTENCES: list[str] = REFERENCE["sentences"]
VECTORS: NDArray[np.float64] = np.array(REFERENCE["embeddings"], dtype=np.float64)


def assert_matches_reference(actual: NDArray[np.float32], expected: NDArray[np.float64]) -> None:
    cosines = np.sum(actual * expected, axis=1) / (
        np.linalg.norm(actual, axis=1) * np.linalg.norm(expected, axis=1)
    )
    assert cosines.min() > 0.99999
    assert np.abs(actual - expected).max() < 1e-5
