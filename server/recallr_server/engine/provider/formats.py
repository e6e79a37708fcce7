"""How a chat server is asked for JSON, and which way each server takes.

Servers differ in the structured output they accept. OpenAI and vLLM take
`response_format: {"type": "json_schema", ...}`; llama-cpp-python's server refuses it but
takes `{"type": "json_object", "schema": ...}` and constrains its output to that schema;
some take neither, and then only the prompt can ask for JSON. The chat client asks in that
order, and `FormatMemory` keeps, for the life of the process, the form each server (base
URL and model) last accepted, so a refused form is not sent again on every call.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("recallr.llm")

JsonObject = dict[str, Any]


class ResponseFormat(enum.StrEnum):
    """The ways of asking for JSON, the most constrained first."""

    # `response_format: {"type": "json_schema", "json_schema": {...}}` (OpenAI, vLLM).
    JSON_SCHEMA = "json_schema"
    # `response_format: {"type": "json_object", "schema": {...}}` (llama-cpp-python; servers
    # that do not read the schema there still get it in the system message).
    JSON_OBJECT = "json_object"
    # No `response_format`: the schema in the system message, the reply parsed strictly.
    PROMPT = "prompt"

    @property
    def simpler(self) -> ResponseFormat | None:
        """The form to try when a server refuses this one; None after the last."""
        forms = list(ResponseFormat)
        index = forms.index(self)
        return forms[index + 1] if index + 1 < len(forms) else None

    def request_fields(self, name: str, schema: JsonObject) -> JsonObject:
        """The fields this form adds to a chat completion request."""
        if self is ResponseFormat.JSON_SCHEMA:
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
            }
        if self is ResponseFormat.JSON_OBJECT:
            return {"response_format": {"type": "json_object", "schema": grammar_schema(schema)}}
        return {}

    def messages(
        self, messages: Sequence[dict[str, str]], schema: JsonObject
    ) -> list[dict[str, str]]:
        """`messages` with the schema spelled out in the system message, unless the server
        is given the schema to enforce (`JSON_SCHEMA`)."""
        if self is ResponseFormat.JSON_SCHEMA or not messages:
            return list(messages)
        system, *rest = messages
        schema_text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
        content = f"{system['content']}\n\n{SCHEMA_INSTRUCTION}\n{schema_text}"
        return [{**system, "content": content}, *rest]


SCHEMA_INSTRUCTION = "The JSON object must match this JSON schema:"


def grammar_schema(schema: JsonObject) -> JsonObject:
    """`schema` without the patterns a grammar-constrained server would get wrong.

    A JSON-schema pattern is a search, but llama.cpp's schema-to-grammar converters (that
    of llama-cpp-python 0.3 included) read it as a whole-string match: they refuse one
    that is not anchored at both ends, and llama-cpp-python then constrains the reply to
    any JSON at all, which a small model can fill until its context runs out. Such
    patterns are left out here; the reply is still validated against the whole schema.
    """
    adapted: JsonObject = {}
    for key, value in schema.items():
        if key == "pattern" and not (value.startswith("^") and value.endswith("$")):
            continue
        if key == "properties":
            adapted[key] = {name: grammar_schema(member) for name, member in value.items()}
        elif key == "items":
            adapted[key] = grammar_schema(value)
        else:
            adapted[key] = value
    return adapted


# The statuses servers use to refuse a request field: 400 and 422 for validation errors,
# and 500 from servers (llama-cpp-python 0.3) that let the validation error escape.
REFUSAL_STATUSES = frozenset({400, 422, 500})
_FORMAT_WORDS = re.compile(r"response[_ ]?format|json_schema|json_object|structured output", re.I)


def refuses_format(status: int, body: str) -> bool:
    """Whether an error answer says the server does not take the request's response format.

    Only a refusal that names the format counts: any other 4xx is an error of its own, and
    any other 5xx a failure to retry. The client then tries the next simpler form, and
    learns a form only once a server has accepted it, so a server whose error merely
    echoes the request (`response_format` and all) teaches it nothing.
    """
    return status in REFUSAL_STATUSES and _FORMAT_WORDS.search(body) is not None


class FormatMemory:
    """The response format each server (base URL and model) accepted, learned once.

    Safe to share between threads. A server is asked `JSON_SCHEMA` first, until it has
    refused it and accepted a simpler form; it is never asked a refused form again in this
    process (a restart asks again, so an upgraded server is found out then).
    """

    def __init__(self) -> None:
        self._learned: dict[tuple[str, str], ResponseFormat] = {}
        self._lock = threading.Lock()

    def form(self, base_url: str, model: str) -> ResponseFormat:
        with self._lock:
            return self._learned.get((base_url, model), ResponseFormat.JSON_SCHEMA)

    def learn(
        self, base_url: str, model: str, accepted: ResponseFormat, refused: Mapping[str, str]
    ) -> None:
        """Records that the server accepted `accepted` after refusing the forms before it
        (`refused`: each form's refusal); logs it the first time only."""
        with self._lock:
            if self._learned.get((base_url, model)) is accepted:
                return
            self._learned[(base_url, model)] = accepted
        log.warning(
            "chat model %s at %s refused response format %s; asking with %s from now on. %s",
            model,
            base_url,
            " and ".join(refused),
            accepted,
            " ".join(f"{form}: {answer}" for form, answer in refused.items()),
        )

    def forget(self) -> None:
        """Forgets every server, so each is asked from `JSON_SCHEMA` again."""
        with self._lock:
            self._learned.clear()


# One per process: every chat client of a server learns from the others.
FORMATS = FormatMemory()
