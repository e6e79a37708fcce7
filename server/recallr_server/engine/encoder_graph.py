"""all-MiniLM-L6-v2's BERT encoder as an ONNX graph, built in memory from the shipped weights.

`OnnxEncoder` runs the graph with onnxruntime; nothing is downloaded or written to disk.
The serialised graph holds only the structure: its weights are marked external and handed
to onnxruntime as arrays, which spares copying 90 MB through protobuf at every start.
The graph uses onnxruntime's fused CPU kernels (`com.microsoft` Attention,
SkipLayerNormalization and BiasGelu): each computes the same float32 function as BERT's
unfused layers, the exact erf GELU included, in one pass over memory where numpy needed a
dozen.

The graph's inputs: `input_ids` (int64, batch x length) and `attention_mask` (int32, 1 for
a real word piece, 0 for padding). Its output: `hidden` (float32, batch x length x hidden),
the last layer's token states, which the caller pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, final

import numpy as np
import onnx
import onnxruntime
from numpy.typing import NDArray
from onnx import TensorProto, helper

INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
HIDDEN = "hidden"

# LayerNormalization entered the default domain in opset 17; the fused kernels live in
# onnxruntime's own domain, version 1.
_OPSETS = (helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1))
_FUSED = "com.microsoft"


@dataclass(frozen=True, slots=True)
class EncoderShape:
    """The sizes a BERT config.json gives."""

    hidden: int
    heads: int
    layers: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EncoderShape:
        if config["hidden_act"] != "gelu":
            raise ValueError(f"unsupported activation {config['hidden_act']!r}")
        return cls(
            config["hidden_size"],
            config["num_attention_heads"],
            config["num_hidden_layers"],
            config["layer_norm_eps"],
        )


@dataclass
class _GraphBuilder:
    """Collects nodes and initializers; each `node` call returns its output's name."""

    weights: Mapping[str, NDArray[np.float32]]
    eps: float
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    arrays: dict[str, NDArray[Any]] = field(default_factory=dict)

    def constant(self, name: str, value: NDArray[Any]) -> str:
        """A weight of the graph, declared with its shape; its values stay in `arrays`."""
        array = np.ascontiguousarray(value)
        self.arrays[name] = array
        tensor = TensorProto(
            name=name,
            dims=array.shape,
            data_type=helper.np_dtype_to_tensor_dtype(array.dtype),
            data_location=TensorProto.EXTERNAL,
        )
        tensor.external_data.add(key="location", value=name)
        self.initializers.append(tensor)
        return name

    def weight(self, name: str) -> str:
        return self.constant(name, self.weights[name])

    def projection(self, name: str) -> str:
        """A dense layer's weight as MatMul's right operand: stored (out, in), used (in, out)."""
        return self.constant(f"{name}.weight", self.weights[f"{name}.weight"].T)

    def node(self, op: str, inputs: list[str], domain: str = "", **attributes: Any) -> str:
        output = f"{op}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attributes))
        return output

    def embeddings(self) -> str:
        # Every input is a single segment, so its token type embedding is a constant row
        # folded into the position table.
        positions = (
            self.weights["embeddings.position_embeddings.weight"]
            + self.weights["embeddings.token_type_embeddings.weight"][0]
        )
        length = self.node(
            "Gather",
            [self.node("Shape", [INPUT_IDS]), self.constant("one", np.array([1], np.int64))],
        )
        first = self.constant("zero", np.array([0], np.int64))
        summed = self.node(
            "Add",
            [
                self.node("Gather", [self.weight("embeddings.word_embeddings.weight"), INPUT_IDS]),
                self.node("Slice", [self.constant("positions", positions), first, length, first]),
            ],
        )
        return self.node(
            "LayerNormalization",
            [
                summed,
                self.weight("embeddings.LayerNorm.weight"),
                self.weight("embeddings.LayerNorm.bias"),
            ],
            axis=-1,
            epsilon=self.eps,
        )

    def skip_norm(self, x: str, residual: str, dense: str, norm: str) -> str:
        """norm(residual + x + dense.bias), in one kernel."""
        return self.node(
            "SkipLayerNormalization",
            [
                x,
                residual,
                self.weight(f"{norm}.weight"),
                self.weight(f"{norm}.bias"),
                self.weight(f"{dense}.bias"),
            ],
            domain=_FUSED,
            epsilon=self.eps,
        )

    def encoder_layer(self, hidden: str, prefix: str, heads: int) -> str:
        projections = [f"{prefix}attention.self.{part}" for part in ("query", "key", "value")]
        query_key_value = self.constant(
            f"{prefix}attention.qkv.weight",
            np.concatenate([self.weights[f"{p}.weight"].T for p in projections], axis=1),
        )
        query_key_value_bias = self.constant(
            f"{prefix}attention.qkv.bias",
            np.concatenate([self.weights[f"{p}.bias"] for p in projections]),
        )
        # Scores are scaled by 1/sqrt(head size) and padding keys masked out, as in BERT.
        context = self.node(
            "Attention",
            [hidden, query_key_value, query_key_value_bias, ATTENTION_MASK],
            domain=_FUSED,
            num_heads=heads,
        )
        attended = self.skip_norm(
            self.node("MatMul", [context, self.projection(f"{prefix}attention.output.dense")]),
            hidden,
            f"{prefix}attention.output.dense",
            f"{prefix}attention.output.LayerNorm",
        )
        intermediate = self.node(
            "BiasGelu",
            [
                self.node("MatMul", [attended, self.projection(f"{prefix}intermediate.dense")]),
                self.weight(f"{prefix}intermediate.dense.bias"),
            ],
            domain=_FUSED,
        )
        return self.skip_norm(
            self.node("MatMul", [intermediate, self.projection(f"{prefix}output.dense")]),
            attended,
            f"{prefix}output.dense",
            f"{prefix}output.LayerNorm",
        )


@dataclass(frozen=True, slots=True)
class EncoderGraph:
    """A serialised ONNX model and the values of its external weights, by name."""

    model: bytes
    weights: Mapping[str, NDArray[Any]]


def encoder_graph(weights: Mapping[str, NDArray[np.float32]], shape: EncoderShape) -> EncoderGraph:
    """The ONNX model of the encoder whose safetensors `weights` are given."""
    builder = _GraphBuilder(weights, shape.layer_norm_eps)
    hidden = builder.embeddings()
    for index in range(shape.layers):
        hidden = builder.encoder_layer(hidden, f"encoder.layer.{index}.", shape.heads)
    builder.nodes.append(helper.make_node("Identity", [hidden], [HIDDEN]))
    graph = helper.make_graph(
        builder.nodes,
        "all-MiniLM-L6-v2 encoder",
        [
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT32, ["batch", "length"]),
        ],
        [
            helper.make_tensor_value_info(
                HIDDEN, TensorProto.FLOAT, ["batch", "length", shape.hidden]
            )
        ],
        builder.initializers,
    )
    model = helper.make_model(graph, opset_imports=list(_OPSETS))
    return EncoderGraph(model.SerializeToString(), builder.arrays)


@final
class OnnxEncoder:
    """The encoder of the given weights, run by onnxruntime on its CPU kernels."""

    def __init__(self, weights: Mapping[str, NDArray[np.float32]], config: Mapping[str, Any]):
        graph = encoder_graph(weights, EncoderShape.from_config(config))
        options = _session_options()
        # onnxruntime may read the weights in place rather than copy them, so they live as
        # long as the session does.
        self._weights = [
            onnxruntime.OrtValue.ortvalue_from_numpy(w) for w in graph.weights.values()
        ]
        options.add_external_initializers(list(graph.weights), self._weights)
        self._session = onnxruntime.InferenceSession(
            graph.model, options, providers=["CPUExecutionProvider"]
        )

    def __call__(
        self, token_ids: NDArray[np.int64], mask: NDArray[np.bool_]
    ) -> NDArray[np.float32]:
        # InferenceSession.run may be called from several threads at once.
        hidden: NDArray[np.float32] = self._session.run(
            [HIDDEN], {INPUT_IDS: token_ids, ATTENTION_MASK: mask.astype(np.int32)}
        )[0]
        return hidden


def _session_options() -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    # Each call runs on its caller's thread alone. The server already embeds on a thread
    # pool beside the gRPC loop, and may run a process per core: threads within a call
    # would compete with both for the same cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # Every batch has its own shape; plans cached per shape would grow without bound.
    options.enable_mem_pattern = False
    options.log_severity_level = 3  # errors only: no notes on the graph's optimisation
    return options
