"""The numpy all-MiniLM-L6-v2 encoder the server ran before onnxruntime: the baseline.

bench/embeddings.py measures the server's encoder beside this one, in the same run and
through the same tokenisation, batching and pooling (`MiniLMEmbedder(model_dir, NumpyEncoder)`).
It matches sentence-transformers to about 4e-7 (tests/bench/test_numpy_encoder.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

import numpy as np
from numpy.typing import NDArray

from recallr_server.engine.embeddings import Matrix

_MASKED_SCORE = np.finfo(np.float32).min


@dataclass(frozen=True, slots=True)
class _Dense:
    weight: Matrix  # stored (in, out), so the projection is one row-major product
    bias: Matrix

    def __call__(self, x: Matrix) -> Matrix:
        projected: Matrix = x @ self.weight
        projected += self.bias
        return projected


@dataclass(frozen=True, slots=True)
class _LayerNorm:
    weight: Matrix
    bias: Matrix
    eps: float

    def __call__(self, x: Matrix) -> Matrix:
        centred: Matrix = x - x.mean(axis=-1, keepdims=True)
        variance = np.mean(np.square(centred), axis=-1, keepdims=True)
        centred /= np.sqrt(variance + self.eps)
        centred *= self.weight
        centred += self.bias
        return centred


@dataclass(frozen=True, slots=True)
class _EncoderLayer:
    query_key_value: _Dense  # the three projections fused into one product
    attention_output: _Dense
    attention_norm: _LayerNorm
    intermediate: _Dense
    output: _Dense
    output_norm: _LayerNorm


@final
class NumpyEncoder:
    """BERT's encoder layers as numpy matrix products, one BLAS call per projection."""

    def __init__(self, weights: Mapping[str, Matrix], config: Mapping[str, Any]) -> None:
        self._hidden: int = config["hidden_size"]
        self._heads: int = config["num_attention_heads"]
        self._word_embeddings = weights["embeddings.word_embeddings.weight"]
        # Every input is a single segment, so its token type embedding is a constant row.
        self._position_embeddings = (
            weights["embeddings.position_embeddings.weight"]
            + weights["embeddings.token_type_embeddings.weight"][0]
        )
        loader = _WeightLoader(weights, config["layer_norm_eps"])
        self._embedding_norm = loader.layer_norm("embeddings.LayerNorm")
        # Scaling the query projection once spares scaling every attention score matrix.
        query_scale = np.float32(1.0 / math.sqrt(self._hidden // self._heads))
        self._layers = tuple(
            loader.encoder_layer(f"encoder.layer.{index}.", query_scale)
            for index in range(config["num_hidden_layers"])
        )

    def __call__(self, token_ids: NDArray[np.int64], mask: NDArray[np.bool_]) -> Matrix:
        batch, length = token_ids.shape
        real = mask.astype(np.float32)
        head_size = self._hidden // self._heads
        hidden = self._word_embeddings[token_ids] + self._position_embeddings[:length]
        hidden = self._embedding_norm(hidden.reshape(batch * length, self._hidden))
        # Padding keys get the most negative float so that softmax gives them exactly zero.
        attention_bias = ((1.0 - real) * _MASKED_SCORE)[:, None, None, :]
        for layer in self._layers:
            query, key, value = (
                layer.query_key_value(hidden)
                .reshape(batch, length, 3, self._heads, head_size)
                .transpose(2, 0, 3, 1, 4)
            )
            scores = query @ key.transpose(0, 1, 3, 2)
            scores += attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, self._hidden)
            hidden = layer.attention_norm(hidden + layer.attention_output(context))
            intermediate = _gelu(layer.intermediate(hidden))
            hidden = layer.output_norm(hidden + layer.output(intermediate))
        return hidden.reshape(batch, length, self._hidden)


@dataclass(frozen=True, slots=True)
class _WeightLoader:
    weights: Mapping[str, Matrix]
    eps: float

    def dense(self, name: str, scale: np.float32 | None = None) -> _Dense:
        weight = np.ascontiguousarray(self.weights[f"{name}.weight"].T)
        bias = self.weights[f"{name}.bias"]
        if scale is None:
            return _Dense(weight, bias)
        return _Dense(weight * scale, bias * scale)

    def layer_norm(self, name: str) -> _LayerNorm:
        return _LayerNorm(self.weights[f"{name}.weight"], self.weights[f"{name}.bias"], self.eps)

    def encoder_layer(self, prefix: str, query_scale: np.float32) -> _EncoderLayer:
        projections = (
            self.dense(f"{prefix}attention.self.query", query_scale),
            self.dense(f"{prefix}attention.self.key"),
            self.dense(f"{prefix}attention.self.value"),
        )
        return _EncoderLayer(
            query_key_value=_Dense(
                np.concatenate([p.weight for p in projections], axis=1),
                np.concatenate([p.bias for p in projections]),
            ),
            attention_output=self.dense(f"{prefix}attention.output.dense"),
            attention_norm=self.layer_norm(f"{prefix}attention.output.LayerNorm"),
            intermediate=self.dense(f"{prefix}intermediate.dense"),
            output=self.dense(f"{prefix}output.dense"),
            output_norm=self.layer_norm(f"{prefix}output.LayerNorm"),
        )


# numpy has no erf. erf(x) ~ x * P(x^2) / Q(x^2) with the coefficients Eigen and XLA use
# for float32: within 7e-8 of erf on [-4, 4] in exact arithmetic; beyond that range
# float32 erf rounds to +-1.
_ERF_NUMERATOR = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_DENOMINATOR = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)


def _polynomial(x: Matrix, coefficients: Sequence[np.float32]) -> Matrix:
    """Horner's rule, highest power first, in place on one fresh array."""
    result = x * coefficients[0]
    result += coefficients[1]
    for coefficient in coefficients[2:]:
        result *= x
        result += coefficient
    return result


def _gelu(x: Matrix) -> Matrix:
    """BERT's exact GELU, x * Phi(x), not the tanh approximation."""
    # The activations are (tokens x 1536): updating in place spares allocations.
    scaled = x * np.float32(1.0 / math.sqrt(2.0))
    np.clip(scaled, -4.0, 4.0, out=scaled)
    squared = np.square(scaled)
    erf = _polynomial(squared, _ERF_NUMERATOR)
    erf *= scaled
    erf /= _polynomial(squared, _ERF_DENOMINATOR)
    erf += 1.0
    erf *= x
    erf *= 0.5
    return erf
