"""The schemas the engine sends become grammars llama.cpp reads, text patterns and all.

llama-cpp-python turns the schema of a `json_object` request into a llama.cpp grammar. A
schema it cannot convert leaves the reply constrained to any JSON at all, and a grammar
holding an escape llama.cpp's parser does not know (`\\s`, `\\S`, `\\d`, `\\w`) makes its
server abort. No server is needed to see either.
"""

from __future__ import annotations

import json
import re

import pytest
from llama_cpp.llama_grammar import json_schema_to_gbnf

from recallr_server.engine.ingest.llm_steps import FACTS_SCHEMA, QUESTION_SCHEMA, SUMMARY_SCHEMA
from recallr_server.engine.provider.formats import grammar_schema
from recallr_server.engine.provider.llm import JsonObject
from recallr_server.engine.provider.prompting import TEXT
from recallr_server.engine.recall.llm_steps import SEARCH_PLAN_SCHEMA, review_schema

SCHEMAS: dict[str, JsonObject] = {
    "extract_facts": FACTS_SCHEMA,
    "summarise": SUMMARY_SCHEMA,
    "clarify": QUESTION_SCHEMA,
    "recall_plan": SEARCH_PLAN_SCHEMA,
    "recall_review": review_schema(3),
}
# What follows a backslash in a grammar llama.cpp parses (parse_char in llama-grammar.cpp).
KNOWN_ESCAPES = frozenset('xuUtrn\\"[]')
ESCAPE = re.compile(r"\\(.)")


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_becomes_a_grammar_with_escapes_llama_cpp_knows(name: str) -> None:
    # The converter raises on what it cannot convert, where the server would fall back.
    grammar = json_schema_to_gbnf(json.dumps(grammar_schema(SCHEMAS[name])))
    assert {match[1] for match in ESCAPE.finditer(grammar)} <= KNOWN_ESCAPES


def test_the_text_pattern_reaches_the_grammar() -> None:
    assert grammar_schema(TEXT) == TEXT
    grammar = json_schema_to_gbnf(json.dumps(SUMMARY_SCHEMA))
    (rule,) = [line for line in grammar.splitlines() if line.startswith("summary ::=")]
    # At least one character that is not whitespace, a quote or a backslash.
    assert r'[^"\\\x00-\x20]' in rule
