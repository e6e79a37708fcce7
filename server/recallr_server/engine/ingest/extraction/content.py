"""Whether a clause says enough to be worth a memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.vocabulary import GENERIC_NOUNS, SECOND_PERSON

if TYPE_CHECKING:
    from spacy.tokens import Token

_LIGHT_VERBS = frozenset(
    {"be", "have", "do", "get", "go", "make", "feel", "think", "know", "say", "see", "look"}
    | {"want", "need", "let", "take", "come", "mean", "guess", "love", "like", "hope", "seem"}
    | {"sound"}
)
_EMPTY_PRAISE = frozenset({"great", "good", "cool", "awesome", "nice", "amazing", "fun", "sweet"})


def addresses_listener(tokens: list[Token]) -> bool:
    return any(token.lower_ in SECOND_PERSON and token.tag_ in ("PRP", "PRP$") for token in tokens)


def leans_on_context(tokens: list[Token]) -> bool:
    """Whether a sentence about "it" or "that" adds anything to the one before."""
    judgements = [
        token
        for token in tokens
        if token.pos_ == "ADJ" and token.dep_ == "acomp" and token.lemma_ not in _EMPTY_PRAISE
    ]
    return content_words(tokens) + len(judgements) >= 1


def has_content(tokens: list[Token], required: int) -> bool:
    """At least one specific noun, and `required` content words unless a name or date."""
    nouns = [
        token
        for token in tokens
        if token.pos_ in ("NOUN", "PROPN", "NUM") and token.lemma_.lower() not in GENERIC_NOUNS
    ]
    if not nouns:
        return False
    return content_words(tokens) >= required or any(t.pos_ == "PROPN" for t in tokens)


def content_words(tokens: list[Token]) -> int:
    return sum(
        1
        for token in tokens
        if (token.pos_ in ("NOUN", "PROPN", "NUM") and token.lemma_.lower() not in GENERIC_NOUNS)
        or (token.pos_ == "VERB" and token.lemma_ not in _LIGHT_VERBS)
        or (token.pos_ == "ADJ" and token.dep_ in ("amod", "compound"))
    )
