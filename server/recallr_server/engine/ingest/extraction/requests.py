"""Requests about how the assistant should behave ("give me recipes in grams", "no bullet
points please", "call me Kit"), kept as the user's preferences.

Most imperatives a user gives an assistant ask for the task at hand ("give me a banana
bread recipe") and are not worth remembering. A request lasts when it says so: a habit
("always", "never", "stop"), a negation ("don't use emojis"), a condition ("when you give
me feedback, ..."), the assistant's own ways ("keep your answers short"), a name to be
called, or things of a kind in a form ("recipes in grams"). Each is read from one segment
of a sentence, between its commas, colons and semicolons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.parties import Party
from recallr_server.engine.ingest.extraction.wording import rewrite

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

_BREAKS = frozenset({",", ";", ":"})
_DASHES = frozenset({"\u2014", "\u2013", "-"})  # breaks when spaced: "a - b", not "a-b"
_LEADING = frozenset({"and", "also", "oh", "so", "but", "please", "plus", "ok", "okay", "just"})
_HABITS = frozenset({"always", "never"})
# Imperatives of conversation, not of how to work: "don't worry", "never mind".
_NOT_REQUESTS = frozenset(
    {"worry", "mind", "hesitate", "be", "laugh", "judge", "panic", "bother", "apologise"}
    | {"apologize", "feel", "hold", "wait", "forget", "get", "let", "guess", "see", "look"}
    | {"thank", "imagine", "go", "come", "say", "tell", "stay", "have"}
)
# "No problem", "no thanks": replies, not requests.
_NOT_WANTED = frozenset(
    {"problem", "problems", "worries", "worry", "thanks", "idea", "way", "rush", "clue"}
    | {"doubt", "wonder", "kidding", "joke", "one", "matter", "need", "time", "chance"}
)
_FORMS = frozenset({"in", "with", "without", "as"})


@dataclass(frozen=True, slots=True)
class Request:
    text: str  # without the closing full stop
    # The indices of the tokens of the segment that makes the request: a clause that
    # opens or hangs from inside it is the request, not a fact.
    covers: range


def is_request(clause_tokens: list[Token], root: Token, request: Request) -> bool:
    """The clause is the request: it hangs from it, or opens with it."""
    if root.i in request.covers:
        return True
    before = [t for t in clause_tokens if t.i < request.covers.start]
    within = any(t.i in request.covers for t in clause_tokens)
    return within and all(t.is_punct or t.lower_ in _LEADING for t in before)


def requests_in(sentence: Span, speaker: Party, listener: Party) -> list[Request]:
    """The lasting requests the user makes of the assistant in this sentence."""
    found: list[Request] = []
    condition: list[Token] | None = None
    for segment in _segments(sentence):
        words = _without_leading(segment)
        if len(words) >= 2 and words[0].lower_ in ("when", "whenever") and words[1].lower_ == "you":
            condition = words
            continue
        text = _unwanted(words, speaker) or _imperative(words, speaker, listener, condition)
        if text is not None:
            found.append(Request(text, range(segment[0].i, segment[-1].i + 1)))
        condition = None
    return found


def _segments(sentence: Span) -> list[list[Token]]:
    segments: list[list[Token]] = [[]]
    for token in sentence:
        if token.text in _BREAKS or (token.text in _DASHES and token.whitespace_):
            segments.append([])
        elif not token.is_space:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def _without_leading(segment: list[Token]) -> list[Token]:
    start = 0
    while start < len(segment) and (segment[start].lower_ in _LEADING or segment[start].is_punct):
        start += 1
    end = len(segment)
    while end > start and (
        segment[end - 1].text in (".", "!", "?") or segment[end - 1].lower_ == "please"
    ):
        end -= 1
    return segment[start:end]


def _unwanted(words: list[Token], speaker: Party) -> str | None:
    """ "No bullet points please": a verbless "no" and what is not wanted."""
    if len(words) < 2 or words[0].lower_ != "no" or words[-1].lower_ in _NOT_WANTED:
        return None
    if any(t.pos_ in ("VERB", "AUX", "PRON") for t in words) or words[1].pos_ == "ADV":
        return None
    return f"{speaker.label} wants no " + "".join(t.text_with_ws for t in words[1:]).strip()


def _imperative(
    words: list[Token], speaker: Party, listener: Party, condition: list[Token] | None
) -> str | None:
    prefix = ""
    if words and words[0].lower_ in _HABITS:
        prefix, words = f"{words[0].lower_} ", _without_leading(words[1:])
    elif (
        len(words) >= 2 and words[0].lower_ in ("do", "does") and words[1].lower_ in ("n't", "not")
    ):
        prefix, words = "not ", words[2:]
    verb = words[0] if words else None
    if verb is None or not _bare_verb(verb) or verb.lemma_ in _NOT_REQUESTS:
        return None
    lasting = (
        prefix
        or condition is not None
        or verb.lemma_ == "stop"
        or (verb.lemma_ == "call" and len(words) > 1 and words[1].lower_ == "me")
        or any(t.lower_ == "your" for t in words)
        or _things_in_a_form(verb)
    )
    if not lasting:
        return None
    body = rewrite([t for t in words if t.lower_ != "please"], speaker, listener)
    wanted = f"not to {body}" if prefix == "not " else f"to {prefix}{body}"
    text = f"{speaker.label} wants {listener.label} {wanted}"
    if condition is not None:
        text += ", " + rewrite(condition, speaker, listener)
    return text


def _bare_verb(token: Token) -> bool:
    """A verb in its base form with no subject: an imperative (the tagger sometimes calls
    one a present tense)."""
    subject = any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in token.children)
    return token.tag_ in ("VB", "VBP") and not subject


def _things_in_a_form(verb: Token) -> bool:
    """ "Give me recipes in grams": things of a kind (a bare plural), in a stated form."""
    for thing in verb.children:
        if thing.dep_ != "dobj" or thing.tag_ != "NNS":
            continue
        if any(c.dep_ in ("det", "poss", "nummod") for c in thing.children):
            continue
        preps = [*thing.children, *verb.children]
        if any(p.dep_ == "prep" and p.lower_ in _FORMS for p in preps):
            return True
    return False
