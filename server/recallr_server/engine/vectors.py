"""Embedding vectors: scaled to unit length, and stored as little-endian float32 bytes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float32]


def encode_vector(vector: Vector) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def decode_vector(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype="<f4")


def unit_rows(vectors: Vector) -> Vector:
    """Each row scaled to unit length, so that a dot product is the cosine similarity."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vector = vectors / np.maximum(norms, 1e-12)
    return normalised
