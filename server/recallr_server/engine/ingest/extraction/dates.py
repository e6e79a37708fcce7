"""Each fact's own dates, read by the tense of the verb its time phrase belongs to.

A date without a year or a direction of its own ("on Friday", "in June", "the 9th") points
forward or back by its verb: "I started on Monday" back, "I start on Monday" and "the party
is on Sunday" forward. The verb that counts is the one the phrase hangs from, not the
sentence's: "I signed up for a class that starts in July" is July ahead. A phrase that
hangs from a noun ("the half marathon on April 6th") dates that event, whose direction the
sentence's past does not give: the nearer of the two dates is meant (in a sentence in the
present or future, the one ahead). So is it for a verb whose
past is its present ("I quit smoking on New Year's Day"), and for one that books an event
("I signed up for the half marathon on April 6th").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypeAlias

from recallr_server.engine.ingest.extraction.inflection import SAME_FORM_PAST
from recallr_server.engine.temporal import (
    MONTHS,
    WEEKDAYS,
    TimeMention,
    resolve_time_expressions,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

Tense: TypeAlias = Literal["past", "future", "nearest"]

_FUTURE_AUXILIARIES = frozenset({"will", "'ll", "shall", "wo", "would", "gon", "gonna"})
_FUTURE_VERBS = frozenset({"plan", "hope", "want", "intend", "expect", "aim"})
_TIME_WORDS = frozenset(
    {m.lower() for m in MONTHS}
    | set(WEEKDAYS)
    | {"tomorrow", "yesterday", "tonight", "weekend", "christmas", "easter", "halloween"}
    | {"thanksgiving", "year's", "eve"}
)
_TIME_NOUNS = frozenset({"day", "week", "month", "year", "weekend", "morning", "night", "time"})


def tense_of(root: Token, tokens: Sequence[Token]) -> Tense:
    """Which way the clause's open dates point (see the module's rules)."""
    time = next((t for t in tokens if _is_time_word(t)), None)
    verb = root
    if time is not None:
        governor = _governor(time)
        if governor is not None and (governor.pos_ in ("NOUN", "PROPN") or _books(governor)):
            # An event said in the present is ahead ("we've got a gig on the 24th").
            return "future" if _verb_tense(root, tokens) == "future" else "nearest"
        verb = governor or root
    return _verb_tense(verb, tokens)


def same_form_past(root: Token, tokens: Sequence[Token]) -> bool:
    """ "I quit on New Year's Day": a verb that reads as present and as past."""
    return (
        root.lemma_ in SAME_FORM_PAST
        and root.tag_ in ("VBP", "VB")
        and any(_is_time_word(t) for t in tokens)
    )


def dated(text: str, now: datetime, tense: Tense, anchor: datetime | None) -> list[TimeMention]:
    """The time phrases of a fact's text, resolved by its tense."""
    if tense != "nearest":
        return resolve_time_expressions(text, now, tense=tense, anchor=anchor)
    back = resolve_time_expressions(text, now, tense="past", anchor=anchor)
    ahead = resolve_time_expressions(text, now, tense="future", anchor=anchor)
    if not back or not ahead:
        return back or ahead
    return back if abs(now - back[0].start) <= abs(ahead[0].start - now) else ahead


def _verb_tense(verb: Token, tokens: Sequence[Token]) -> Tense:
    auxiliaries = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    modals = {t.lower_ for t in tokens if t.dep_ in ("aux", "auxpass") or t.tag_ == "MD"}
    would = any(t.lower_ == "'d" and t.tag_ == "MD" for t in tokens)
    if (
        would
        or modals & _FUTURE_AUXILIARIES
        or any(t.lemma_ in _FUTURE_VERBS and t.tag_ != "VBD" for t in tokens if t.pos_ == "VERB")
    ):
        return "future"
    # "We've got our first gig on the 24th": "have got" is having, in the present.
    had = any(a.lemma_ == "have" for a in auxiliaries) and verb.lower_ != "got"
    if verb.tag_ == "VBD" or had or any(a.tag_ == "VBD" for a in auxiliaries):
        return "past"
    if same_form_past(verb, tokens):
        return "nearest"
    return "future"


# Verbs that take an event: "I signed up for the half marathon on April 6th" dates the race.
_BOOKING_VERBS = frozenset({"sign", "register", "book", "enter", "enrol", "enroll", "reserve"})


def _books(verb: Token) -> bool:
    return verb.lemma_ in _BOOKING_VERBS and any(
        c.dep_ == "prep" and c.lower_ == "for" for c in verb.children
    )


def _is_time_word(token: Token) -> bool:
    lowered = token.lower_
    ordinal = lowered[:-2].isdigit() and lowered.endswith(("st", "nd", "rd", "th"))
    following = token.nbor(1).lower_ if token.i + 1 < len(token.doc) else ""
    new_year = lowered == "year" and following in ("'s", "\u2019s")  # "New Year's Day"
    return lowered in _TIME_WORDS or ordinal or new_year


def _governor(time: Token) -> Token | None:
    """The verb or noun a time phrase hangs from: past prepositions, numbers, time words."""
    token = time
    while token.head.i != token.i:
        token = token.head
        finite = token.tag_ in ("VBD", "VBZ", "VBP", "MD") or any(
            c.dep_ in ("aux", "auxpass") for c in token.children
        )
        if token.pos_ in ("VERB", "AUX") and finite:
            return token  # "went hiking over the weekend": the tense is "went"'s
        event = not _is_time_word(token) and token.lemma_.lower() not in _TIME_NOUNS
        if token.pos_ in ("NOUN", "PROPN") and event:
            return token
    return None
