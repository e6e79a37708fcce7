"""Chat and embedding models behind an OpenAI-compatible HTTP API.

OpenAI, vLLM, Ollama and llama.cpp's server all speak `POST /chat/completions` and
`POST /embeddings`, so one client serves them all. Nothing here is used unless a base URL
is configured: without one the engine stays on its local extractor and embedder.

Every call is synchronous, because the engine already runs planning in a worker thread.
A call either returns a complete, schema-valid result or raises `LLMError`; the caller
never sees half an answer, so a processing job fails (and is retried) rather than writing
a partial plan.
"""

from __future__ import annotations

import email.utils
import enum
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from types import TracebackType
from typing import Any, Protocol, Self, final

import httpx
import numpy as np

from recallr_server import metrics
from recallr_server.engine.embeddings import Matrix
from recallr_server.engine.provider.breaker import (
    DEFAULT_BREAKER_COOLDOWN_SECONDS,
    DEFAULT_BREAKER_FAILURES,
    CircuitBreaker,
)
from recallr_server.engine.provider.formats import (
    FORMATS,
    FormatMemory,
    ResponseFormat,
    refuses_format,
)
from recallr_server.engine.vectors import unit_rows as _normalise

log = logging.getLogger("recallr.llm")

JsonObject = dict[str, Any]

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 1.0
DEFAULT_EMBEDDING_BATCH_SIZE = 64
# A provider that asks for a longer pause than this is better retried by the job queue,
# which holds no worker thread while it waits.
MAX_RETRY_WAIT_SECONDS = 30.0
MAX_ERROR_DETAIL = 300


class LLMError(Exception):
    """A provider call failed for good: refused, unreachable, or still invalid after retries.

    The message never contains the API key.
    """


class CircuitOpen(LLMError):
    """The chat model was not asked: its server failed the last requests (see llm_breaker)."""


class FormatRefused(LLMError):
    """The server refused the request's response format; a simpler form may still work."""


class ModelFallback(enum.StrEnum):
    """What processing does with a session when the chat model gives no usable answer."""

    # The job fails (and is retried); after its last attempt the session is FAILED.
    FAIL = "fail"
    # The session is processed by the local engine instead, which the session records.
    LOCAL = "local"


# --- Settings ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _ProviderSettings:
    base_url: str
    model: str
    # Local servers (vLLM, Ollama, llama.cpp) usually need none.
    api_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://: {self.base_url!r}")
        if not self.model:
            raise ValueError("a model name is required")
        if not self.timeout_seconds > 0:
            raise ValueError("timeout_seconds must be positive")


def _provider_env(env: Mapping[str, str] | None, prefix: str) -> dict[str, Any] | None:
    """The settings every provider shares, or None when `{prefix}BASE_URL` is unset."""
    values = os.environ if env is None else env
    base_url = values.get(f"{prefix}BASE_URL", "").strip()
    if not base_url:
        return None
    model = values.get(f"{prefix}MODEL", "").strip()
    if not model:
        raise ValueError(f"{prefix}MODEL is required when {prefix}BASE_URL is set")
    timeout = values.get(f"{prefix}TIMEOUT_SECONDS", "").strip()
    return {
        "base_url": base_url,
        "model": model,
        "api_key": values.get(f"{prefix}API_KEY") or None,
        "timeout_seconds": float(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS,
    }


@dataclass(frozen=True, kw_only=True)
class LLMSettings(_ProviderSettings):
    """Where the chat model is, and what to do when it fails. `repr()` leaves out the API key.

    After `breaker_failures` consecutive failed requests (0: never) the model is not asked
    for `breaker_cooldown_seconds`; `fallback` is the policy for a session whose model
    answers stay unusable.
    """

    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_cooldown_seconds: float = DEFAULT_BREAKER_COOLDOWN_SECONDS
    fallback: ModelFallback = ModelFallback.FAIL
    # Sent as `max_tokens` when set: a small model can repeat itself until its context is
    # full, which on a CPU takes minutes. OpenAI's reasoning models refuse the field.
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise ValueError("max_tokens must be positive")
        if self.breaker_failures < 0:
            raise ValueError("breaker_failures must be 0 (no breaker) or more")
        if not self.breaker_cooldown_seconds > 0:
            raise ValueError("breaker_cooldown_seconds must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMSettings | None:
        """From `RECALLR_LLM_*`; None (use the local extractor) without a base URL."""
        common = _provider_env(env, "RECALLR_LLM_")
        if common is None:
            return None
        values = os.environ if env is None else env
        failures = values.get("RECALLR_LLM_BREAKER_FAILURES", "").strip()
        cooldown = values.get("RECALLR_LLM_BREAKER_COOLDOWN_SECONDS", "").strip()
        max_tokens = values.get("RECALLR_LLM_MAX_TOKENS", "").strip()
        fallback = values.get("RECALLR_LLM_FALLBACK", "").strip().lower()
        if fallback and fallback not in set(ModelFallback):
            raise ValueError(
                f"RECALLR_LLM_FALLBACK must be one of {', '.join(ModelFallback)}, not {fallback!r}"
            )
        return cls(
            **common,
            breaker_failures=int(failures) if failures else DEFAULT_BREAKER_FAILURES,
            breaker_cooldown_seconds=(
                float(cooldown) if cooldown else DEFAULT_BREAKER_COOLDOWN_SECONDS
            ),
            fallback=ModelFallback(fallback) if fallback else ModelFallback.FAIL,
            max_tokens=int(max_tokens) if max_tokens else None,
        )


@dataclass(frozen=True, kw_only=True)
class EmbeddingSettings(_ProviderSettings):
    """Where the embedding model is. `repr()` leaves out the API key.

    `dimensions`, when set, is sent with every request (models such as OpenAI's
    text-embedding-3 shorten their vectors to it) and every vector is checked against it;
    unset, the model's own size is learned from its first answer.
    """

    dimensions: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dimensions is not None and self.dimensions <= 0:
            raise ValueError("dimensions must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmbeddingSettings | None:
        """From `RECALLR_EMBEDDING_*`; None (use local MiniLM) without a base URL."""
        common = _provider_env(env, "RECALLR_EMBEDDING_")
        if common is None:
            return None
        dimensions = (os.environ if env is None else env).get("RECALLR_EMBEDDING_DIMENSIONS")
        return cls(**common, dimensions=int(dimensions) if dimensions else None)


# --- HTTP ------------------------------------------------------------------------------------


@final
class _Endpoint:
    """POSTs JSON to one provider, retrying rate limits, server errors and lost connections."""

    def __init__(
        self, settings: _ProviderSettings, *, max_attempts: int, backoff_seconds: float
    ) -> None:
        headers = {"Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._client = httpx.Client(
            base_url=settings.base_url, headers=headers, timeout=settings.timeout_seconds
        )
        self._secret = settings.api_key
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds

    def close(self) -> None:
        self._client.close()

    def post(
        self, path: str, body: JsonObject, *, refused: Callable[[int, str], bool] | None = None
    ) -> JsonObject:
        """The provider's JSON answer. An error answer for which `refused(status, body)`
        holds raises `FormatRefused` at once, neither retried nor an error of its own."""
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            wait = self._backoff_seconds * 2 ** (attempt - 1)
            try:
                response = self._client.post(path, json=body)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if (
                    response.is_error
                    and refused is not None
                    and refused(response.status_code, response.text)
                ):
                    raise FormatRefused(
                        self._redact(f"HTTP {response.status_code}: {_error_detail(response)}")
                    )
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code}: {_error_detail(response)}"
                    wait = max(wait, _retry_after(response))
                elif response.is_error:
                    raise self._error(
                        f"{path} answered HTTP {response.status_code}: {_error_detail(response)}"
                    )
                else:
                    return self._json(path, response)
            if attempt == self._max_attempts:
                break
            if wait > MAX_RETRY_WAIT_SECONDS:
                raise self._error(f"{path} asked for a {wait:.0f}s pause after {problem}")
            log.warning(
                "%s failed (attempt %d of %d), retrying in %.1fs: %s",
                path,
                attempt,
                self._max_attempts,
                wait,
                self._redact(problem),
            )
            time.sleep(wait)
        raise self._error(f"{path} failed {self._max_attempts} times; last: {problem}")

    def _json(self, path: str, response: httpx.Response) -> JsonObject:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._error(f"{path} answered with something other than a JSON object")
        return body

    def _redact(self, text: str) -> str:
        # Some proxies echo the key they rejected.
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def _error(self, message: str) -> LLMError:
        return LLMError(self._redact(message))


def _error_detail(response: httpx.Response) -> str:
    """The provider's own explanation (OpenAI's `{"error": {"message": ...}}`), shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_ERROR_DETAIL]
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return str(message if message is not None else body)[:MAX_ERROR_DETAIL]


def _retry_after(response: httpx.Response) -> float:
    """Seconds the provider asked us to wait (`Retry-After`: seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


# --- Prompts ---------------------------------------------------------------------------------

_PROMPT_NAME = re.compile(r"(?P<name>[a-z_]+)\.v(?P<version>[0-9]+)")
_PROMPT_SECTIONS = re.compile(r"^# System\n(?P<system>.*)^# User\n(?P<user>.*)\Z", re.M | re.S)
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt from `prompts/`: a system part and a user template.

    The template names its variables as `{{name}}`. A changed prompt is a new file with a
    higher version, so what produced a memory stays reproducible.
    """

    name: str
    version: int
    system: str
    user_template: str

    @classmethod
    def load(cls, name: str) -> Prompt:
        """The prompt in `prompts/{name}.md`, `name` with its version: "extract_facts.v1"."""
        match = _PROMPT_NAME.fullmatch(name)
        if match is None:
            raise ValueError(f"a prompt name looks like 'extract_facts.v1', not {name!r}")
        text = (resources.files(__package__) / "prompts" / f"{name}.md").read_text("utf-8")
        sections = _PROMPT_SECTIONS.match(text)
        if sections is None:
            raise ValueError(f"prompt {name} must have a '# System' then a '# User' section")
        return cls(
            match["name"],
            int(match["version"]),
            sections["system"].strip(),
            sections["user"].strip(),
        )

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(_VARIABLE.findall(self.user_template))

    def render(self, variables: Mapping[str, str]) -> list[dict[str, str]]:
        """The chat messages: system, then the user template filled in."""
        if variables.keys() != self.variables:
            raise ValueError(
                f"prompt {self.name}.v{self.version} takes {sorted(self.variables)}, "
                f"not {sorted(variables)}"
            )
        # One pass, so that braces inside a value (a message quoting a template) stay as is.
        user = _VARIABLE.sub(lambda match: variables[match[1]], self.user_template)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


# --- Chat ------------------------------------------------------------------------------------


class ChatModel(Protocol):
    """Answers a prompt with one JSON object that matches a schema."""

    @property
    def extractor(self) -> str:
        """What a session processed with this model records as its extractor."""
        ...

    @property
    def fallback(self) -> ModelFallback:
        """The operator's policy for a session this model gives no usable answer for."""
        ...

    def complete_json(
        self, prompt: Prompt, variables: Mapping[str, str], schema: JsonObject
    ) -> JsonObject:
        """The answer, valid against `schema`; `LLMError` (`CircuitOpen` when the model
        was not even asked) when there is none."""
        ...


_RETRY_NOTE = (
    "Your previous reply was not usable: {problem}. Reply again with exactly one JSON "
    "object that matches the schema, with no other text."
)


class _EndpointClient:
    """Closing and context-manager plumbing shared by the chat and embedding clients."""

    _endpoint: _Endpoint

    def close(self) -> None:
        self._endpoint.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@final
class OpenAICompatibleChat(_EndpointClient):
    """A chat model behind `POST {base_url}/chat/completions`, asked for schema-bound JSON.

    The response format is the first of `ResponseFormat` the server takes, learned once per
    process in `formats`; a circuit breaker stops asking a server that keeps failing.
    Safe to share between threads.
    """

    def __init__(
        self,
        settings: LLMSettings,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        formats: FormatMemory = FORMATS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = settings.base_url
        self._model = settings.model
        self._fallback = settings.fallback
        self._limit: JsonObject = (
            {} if settings.max_tokens is None else {"max_tokens": settings.max_tokens}
        )
        self._max_attempts = max_attempts
        self._endpoint = _Endpoint(
            settings, max_attempts=max_attempts, backoff_seconds=backoff_seconds
        )
        self._formats = formats
        self._breaker = CircuitBreaker(
            settings.breaker_failures,
            settings.breaker_cooldown_seconds,
            clock=clock,
            on_change=metrics.set_llm_circuit_open,
        )

    @property
    def extractor(self) -> str:
        return f"model:{self._model}"

    @property
    def fallback(self) -> ModelFallback:
        return self._fallback

    def complete_json(
        self, prompt: Prompt, variables: Mapping[str, str], schema: JsonObject
    ) -> JsonObject:
        """The model's answer, repaired where that is safe and valid against `schema`.

        An answer that cannot be repaired is asked for again (at most `max_attempts` times
        in all), showing the model what was wrong; HTTP failures are retried separately.
        Raises `LLMError` when no valid answer comes, `CircuitOpen` without asking while
        the server is held to be failing.
        """
        request = prompt.render(variables)
        messages = request
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            text = _reply_text(self._complete(prompt.name, messages, schema))
            try:
                return parse_json_reply(text, schema)
            except InvalidOutput as error:
                problem = str(error)
            log.warning(
                "%s.v%d: unusable reply (attempt %d of %d): %s",
                prompt.name,
                prompt.version,
                attempt,
                self._max_attempts,
                problem,
            )
            messages = [
                *request,
                {"role": "assistant", "content": text},
                {"role": "user", "content": _RETRY_NOTE.format(problem=problem)},
            ]
        raise LLMError(
            f"{prompt.name}.v{prompt.version}: no usable reply in {self._max_attempts} "
            f"attempts; last: {problem}"
        )

    def _complete(
        self, name: str, messages: Sequence[dict[str, str]], schema: JsonObject
    ) -> JsonObject:
        """One chat completion, in the first response format the server takes."""
        form = self._formats.form(self._base_url, self._model)
        refused: dict[str, str] = {}
        while True:
            body = {
                "model": self._model,
                "messages": form.messages(messages, schema),
                "temperature": 0,
                **self._limit,
                **form.request_fields(name, schema),
            }
            simpler = form.simpler
            try:
                reply = self._post(form, body, refusable=simpler is not None)
            except FormatRefused as refusal:
                assert simpler is not None, "only a form with a simpler one is refusable"
                refused[form] = str(refusal)
                form = simpler
                continue
            if refused:
                self._formats.learn(self._base_url, self._model, form, refused)
            return reply

    def _post(self, form: ResponseFormat, body: JsonObject, *, refusable: bool) -> JsonObject:
        """POSTs through the breaker, counting the request by its format and outcome.

        `refusable`: a refusal of the format raises `FormatRefused`, else it is an error.
        """
        refusal = self._breaker.admit()
        if refusal is not None:
            raise CircuitOpen(refusal)
        try:
            reply = self._endpoint.post(
                "/chat/completions", body, refused=refuses_format if refusable else None
            )
        except FormatRefused:
            self._breaker.succeeded()  # the server answered
            metrics.llm_chat_request(form, "refused")
            raise
        except LLMError as error:
            self._breaker.failed(str(error))
            metrics.llm_chat_request(form, "failed")
            raise
        except BaseException:
            self._breaker.abandoned()
            raise
        self._breaker.succeeded()
        metrics.llm_chat_request(form, "ok")
        return reply


def _reply_text(reply: JsonObject) -> str:
    try:
        message = reply["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as error:
        raise LLMError("the chat completion has no choices[0].message") from error
    content = message.get("content") if isinstance(message, dict) else None
    # A refusal (OpenAI's `refusal` field) or an empty answer is retried like bad JSON.
    return content if isinstance(content, str) else ""


# --- Reading a reply -----------------------------------------------------------------------------


class InvalidOutput(ValueError):
    """The model's text is not (and cannot safely be made) a schema-valid JSON object."""


# Reasoning models served by Ollama or llama.cpp think aloud before answering, braces and all.
_THINKING = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)


def parse_json_reply(text: str, schema: JsonObject) -> JsonObject:
    """The JSON object in a model's reply, valid against `schema`, or `InvalidOutput`.

    Repairs only what cannot change the meaning: reasoning blocks are removed; the object
    is read from its first brace, so markdown fences and prose around it are ignored; and a
    reply cut off by the token limit is closed after its last complete element (dropping the
    incomplete one, never completing it), provided what remains is valid.
    """
    text = _THINKING.sub("", text)
    start = text.find("{")
    if start < 0:
        raise InvalidOutput("the reply contains no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as error:
        for closed in _closings(text[start:]):
            try:
                candidate = json.loads(closed)
            except json.JSONDecodeError:
                continue
            if validation_error(candidate, schema) is None:
                log.warning(
                    "closed a truncated reply, dropping %d characters", len(text) - len(closed)
                )
                return dict(candidate)
        raise InvalidOutput(f"the reply is not valid JSON ({error.msg} at {error.pos})") from None
    problem = validation_error(value, schema)
    if problem is not None:
        raise InvalidOutput(problem)
    return dict(value)


def _closings(text: str) -> Iterator[str]:
    """`text` cut after each complete element and closed, the longest first.

    Empty when `text` is not a prefix of a JSON object (brackets that do not nest).
    """
    closers: list[str] = []
    cuts: list[tuple[int, str]] = []
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]":
            if not closers or closers.pop() != char:
                return
            if closers:
                cuts.append((index + 1, "".join(reversed(closers))))
        elif char == "," and closers:
            cuts.append((index, "".join(reversed(closers))))
    for end, closing in reversed(cuts):
        yield text[:end] + closing


# --- The JSON-schema subset the prompts use ---------------------------------------------------

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "pattern"}
)
_ANNOTATIONS = frozenset({"description"})


def validation_error(value: Any, schema: JsonObject, path: str = "$") -> str | None:
    """The first way `value` breaks `schema`, or None.

    Understands type, properties, required, additionalProperties (false), items, enum and
    pattern: what OpenAI's strict mode accepts and the prompts need. Any other keyword is refused
    rather than silently ignored.
    """
    unknown = schema.keys() - _KEYWORDS - _ANNOTATIONS
    if unknown:
        raise ValueError(f"unsupported JSON-schema keywords at {path}: {sorted(unknown)}")
    if "type" in schema:
        allowed = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not any(_is_type(value, name) for name in allowed):
            return f"{path}: expected {' or '.join(allowed)}, got {_describe(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {json.dumps(value)} is not one of {json.dumps(schema['enum'])}"
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return f"{path}: {json.dumps(value)} does not match {schema['pattern']}"
    if isinstance(value, dict):
        properties: JsonObject = schema.get("properties", {})
        missing = [name for name in schema.get("required", []) if name not in value]
        if missing:
            return f"{path}: missing {', '.join(missing)}"
        if schema.get("additionalProperties") is False:
            extra = sorted(value.keys() - properties.keys())
            if extra:
                return f"{path}: unexpected {', '.join(extra)}"
        for name, member in properties.items():
            if name in value:
                problem = validation_error(value[name], member, f"{path}.{name}")
                if problem is not None:
                    return problem
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problem = validation_error(item, schema["items"], f"{path}[{index}]")
            if problem is not None:
                return problem
    return None


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name != "boolean":
        return False  # JSON booleans are not numbers, though Python's are ints
    return isinstance(value, _JSON_TYPES[name])


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --- Embeddings ------------------------------------------------------------------------------


@final
class OpenAICompatibleEmbedder(_EndpointClient):
    """An `Embedder` behind `POST {base_url}/embeddings`. Safe to share between threads.

    Vectors are normalised here, since not every server returns unit vectors.
    """

    def __init__(
        self,
        settings: EmbeddingSettings,
        *,
        batch_size: int = DEFAULT_EMBEDDING_BATCH_SIZE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    ) -> None:
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        self._model = settings.model
        self._requested_dimensions = settings.dimensions
        self._dimensions = settings.dimensions
        self._dimensions_lock = threading.Lock()
        self._batch_size = batch_size
        self._endpoint = _Endpoint(
            settings, max_attempts=max_attempts, backoff_seconds=backoff_seconds
        )

    @property
    def dimensions(self) -> int:
        """The configured size, or the model's own, asked for once when not yet known."""
        if self._dimensions is None:
            self._batch(["dimensions"])
        assert self._dimensions is not None
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        batches = [
            self._batch(texts[start : start + self._batch_size])
            for start in range(0, len(texts), self._batch_size)
        ]
        return _normalise(np.concatenate(batches))

    def _batch(self, texts: Sequence[str]) -> Matrix:
        body: JsonObject = {"model": self._model, "input": list(texts)}
        if self._requested_dimensions is not None:
            body["dimensions"] = self._requested_dimensions
        reply = self._endpoint.post("/embeddings", body)
        try:
            items = sorted(reply["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in items], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as error:
            raise LLMError(f"the embeddings response is malformed: {error!r}") from error
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise LLMError(f"asked for {len(texts)} embeddings, got {vectors.shape[0]}")
        if not np.isfinite(vectors).all():
            raise LLMError("the embeddings response holds NaN or infinite values")
        with self._dimensions_lock:
            if self._dimensions is None:
                self._dimensions = vectors.shape[1]
        if vectors.shape[1] != self._dimensions:
            raise LLMError(
                f"expected {self._dimensions}-dimensional embeddings, got {vectors.shape[1]}"
            )
        return vectors
