"""What a fact does to what was said before: the states it ends ("Marco and I broke up",
"Miso passed away", "I quit smoking") and the thing it says more about ("The bike is a
green Brompton"), read from the parse so that consolidation can find the memories they
change by the words that name them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.vocabulary import FIRST_PERSON, SECOND_PERSON

if TYPE_CHECKING:
    from spacy.tokens import Token

# Verbs (with their particle) that end the state their subject or object names.
_ENDS_SUBJECT = {("die", ""), ("pass", "away"), ("break", "up"), ("split", "up")}
_ENDS_OBJECT = {("quit", ""), ("give", "up"), ("stop", ""), ("leave", ""), ("drop", "out")}
# Leaving ends a state only when what is left is a workplace, a school or a partner
# ("I left Bean Scene"), not when it is a thing ("I left my keys at home").
_LEFT_NOUNS = frozenset({"job", "company", "school", "university", "band", "team", "club"})


def ended_terms(root: Token) -> tuple[str, ...]:
    """The names of what the clause says has ended, if anything."""
    particle = next(
        (c.lower_ for c in root.children if c.dep_ == "prt" or c.lower_ in ("away", "up")), ""
    )
    verb = (root.lemma_, particle)
    if any(c.dep_ == "neg" for c in root.children):
        return ()
    if verb in _ENDS_SUBJECT:
        subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")]
        partners = [_pobj(c) for c in root.children if c.dep_ == "prep" and c.lower_ == "with"]
        people = [*subjects, *(c for s in subjects for c in s.conjuncts), *partners]
        return tuple(_name(t) for t in people if t is not None and _names_someone_else(t))
    if verb in _ENDS_OBJECT:
        objects: list[Token | None] = [c for c in root.children if c.dep_ in ("dobj", "xcomp")]
        objects += [
            _pobj(c) for c in root.children if c.dep_ == "prep" and c.lower_ in ("on", "of")
        ]
        named = [o for o in objects if o is not None and o.pos_ in ("NOUN", "PROPN", "VERB")]
        if root.lemma_ == "leave":
            named = [o for o in named if o.pos_ == "PROPN" or o.lemma_ in _LEFT_NOUNS]
        return tuple(_name(o) for o in named)
    return ()


def described_topic(kind: Kind, subject: Token | None) -> str | None:
    """The named or definite thing a statement describes ("Pepper is a border collie",
    "the Volvo is a 2009 V70"), when it is not a speaker: more about it belongs with the
    memory that introduced it."""
    if kind not in (Kind.REPORTED, Kind.RELATED) or subject is None:
        return None
    if subject.pos_ == "PROPN":
        return _name(subject)
    if subject.pos_ == "NOUN" and any(c.lower_ == "the" for c in subject.children):
        return _name(subject)
    if subject.tag_ == "NN" and subject.is_sent_start and subject.is_title and not subject.n_lefts:
        return _name(subject)  # a name the tagger took for a noun: "Tofu is a Maine Coon"
    return None


def _names_someone_else(token: Token) -> bool:
    lowered = token.lower_
    return token.pos_ in ("PROPN", "NOUN") and lowered not in FIRST_PERSON | SECOND_PERSON


def _pobj(prep: Token) -> Token | None:
    return next((c for c in prep.children if c.dep_ == "pobj"), None)


def _name(token: Token) -> str:
    words = [c for c in token.children if c.dep_ == "compound" and c.i < token.i]
    return " ".join(t.text for t in [*words, token]).lower()
