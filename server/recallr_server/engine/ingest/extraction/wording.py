"""Rewriting a clause into the third person: both speakers named, the verbs agreeing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.clauses import has_subject
from recallr_server.engine.ingest.extraction.inflection import third_person
from recallr_server.engine.ingest.extraction.parties import Party
from recallr_server.engine.ingest.extraction.vocabulary import (
    FIRST_PERSON,
    RECOMMEND_LEMMAS,
    SECOND_PERSON,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

_REFLEXIVES = frozenset({"myself", "ourselves", "yourself", "yourselves"})

_CONTRACTED = {"'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would", "'s": "is"}


def rewrite(
    tokens: list[Token],
    speaker: Party,
    listener: Party,
    agreeing: Set[int] = frozenset(),
    references: Mapping[int, str] | None = None,
) -> str:
    """The tokens with both speakers named and the verbs made to agree.

    `agreeing` adds verbs that must agree although the parse does not link them to their
    subject. `references` rewrites words that point elsewhere (token index to its text:
    "she" to "Meera's sister", "we" to "Luka and Goran"). The first word is lower-cased
    unless it is a name, so the result can follow a prefix such as "Caroline said that";
    `sentence_case` capitalises the finished fact.
    """
    references = references or {}
    singular = _verbs_agreeing_with(tokens) | agreeing
    pieces: list[str] = []
    plural_subject = False
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        # A shared subject comes from elsewhere in the sentence: "it" of "it's ... and has".
        adjacent = following is None or following.i == token.i + 1
        joined = adjacent or (following is not None and following.is_punct)
        space = token.whitespace_ or ("" if joined else " ")
        plural_subject = plural_subject or token.lower_ == "we"
        word = "their" if plural_subject and token.lower_ == "our" else None
        word = word or references.get(token.i) or _pronoun(token, speaker, listener)
        if word is None:
            word = _agreeing_verb(token) if token.i in singular else _expanded(token)
        if word is None:
            keep_case = (
                token.i != tokens[0].i
                or token.pos_ == "PROPN"
                or (token.text.isupper() and len(token.text) > 1)  # "BER", not "A"
            )
            written = token.text + space
            pieces.append(written if keep_case else written[:1].lower() + written[1:])
            continue
        if token.text.startswith("'") or token.lower_ == "na":
            word = " " + word  # a contraction has no space before it
        pieces.append(word + space)
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def _pronoun(token: Token, speaker: Party, listener: Party) -> str | None:
    lowered = token.lower_
    if not token.whitespace_ and token.i + 1 < len(token.doc) and token.nbor().text == "-":
        return None  # part of a compound such as "me-time"
    if lowered in FIRST_PERSON or lowered in ("myself", "ourselves"):
        party = speaker
    elif lowered in SECOND_PERSON and token.tag_ in ("PRP", "PRP$"):
        party = listener
    else:
        return None
    if lowered in ("my", "mine", "our", "ours", "your", "yours"):
        return party.possessive
    if lowered in _REFLEXIVES:
        return "themselves"
    if lowered in ("we", "us"):
        return f"{party.label} and others"
    return party.label


def _verbs_agreeing_with(tokens: list[Token]) -> set[int]:
    """Indices of the finite verbs whose subject is "I" or "you", both now one named person."""
    indices: set[int] = set()
    for token in tokens:
        if token.lower_ not in ("i", "you") or token.dep_ not in ("nsubj", "nsubjpass"):
            continue
        verb = token.head
        # Later predicates of the same subject agree too. The parser tags them as base forms
        # ("I live in Paris and work at Acme") where a present verb shares its tense; only
        # the main verb's, as elsewhere its conjuncts are often misattached.
        shared = [c for c in verb.conjuncts if c.i > verb.i and not has_subject(c)]
        for predicate in (verb, *shared):
            auxiliaries = [c for c in predicate.children if c.dep_ in ("aux", "auxpass")]
            bare = predicate != verb and not auxiliaries and predicate.tag_ == "VB"
            indices.update(
                t.i
                for t in (predicate, *auxiliaries)
                if t.tag_ in ("VBP", "VBD")
                or t.lower_ in _CONTRACTED
                or (t == predicate and bare and verb.tag_ == "VBP" and verb.dep_ == "ROOT")
            )
    return indices


def _agreeing_verb(token: Token) -> str | None:
    lowered = token.lower_
    if token.tag_ == "VBD":
        return "was" if lowered == "were" else None
    if lowered in ("am", "'m", "are", "'re"):
        return "is"
    if lowered == "'ve":
        return "has"
    if lowered in ("'d", "'ll"):
        return _CONTRACTED[lowered]
    if token.tag_ in ("VBZ", "VBN", "VBG", "MD"):
        return None  # agrees already, or is not finite; any other tag is a mis-tagged verb
    if lowered == "wanna":
        return "wants to"
    return third_person(token.lemma_.lower(), lowered)


def _expanded(token: Token) -> str | None:
    lowered = token.lower_
    if lowered in ("'re", "'ve", "'ll", "'m"):
        return _CONTRACTED[lowered]
    if lowered == "'d":
        return "had" if token.tag_ == "VBD" else "would"
    if lowered == "'s" and token.pos_ == "AUX":
        # "Hannah's son's turning six" would read as a possessive: "is" or "has".
        perfect = token.dep_ == "aux" and token.head.tag_ == "VBN"
        return "has" if token.lemma_ == "have" or perfect else "is"
    if lowered == "gon":
        return "going"
    if lowered == "na" and token.i > 0 and token.nbor(-1).lower_ in ("gon", "wan"):
        return "to"
    if lowered == "wan":
        return "want"
    if lowered == "wanna":
        return "want to"
    return None


def complete_fragment(tokens: list[Token], rewritten: str, speaker: Party) -> str:
    first = tokens[0]
    if first.lower_ in ("gon", "gonna") or first.tag_ == "VBG":
        return f"{speaker.label} is {rewritten}"
    return f"{speaker.label} {rewritten}"


def recommendation(root: Token, tokens: list[Token], speaker: Party, listener: Party) -> str | None:
    """ "You should try X" / "Try X" / "I'd recommend X" as "<speaker> recommended ..."."""
    if root.lemma_ in RECOMMEND_LEMMAS:
        rest = [t for t in tokens if t.i > root.i]
        if rest and rest[0].lower_ == "that":
            rest = rest[1:]
        if not rest:
            return None
        return f"{speaker.label} recommended {rewrite(rest, speaker, listener)}"
    rest = [t for t in tokens if t.i >= root.i]
    body = rewrite(rest, speaker, listener)
    return f"{speaker.label} recommended {listener.label} {body}"


def request(root: Token, tokens: list[Token], speaker: Party, listener: Party) -> str:
    """ "You should correct only the big mistakes", said to the assistant, as what the
    speaker wants of it."""
    body = rewrite([t for t in tokens if t.i >= root.i], speaker, listener)
    return f"{speaker.label} wants {listener.label} to {body}"


def sentence_case(text: str) -> str:
    text = text.strip().rstrip(" -\u2013\u2014,;:")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", '"', "'", ")")) else f"{text}."
