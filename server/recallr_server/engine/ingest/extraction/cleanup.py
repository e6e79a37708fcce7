"""Chat text made plain before it is parsed: the filler, tags and labels people type around
what they say, which would otherwise end up in a memory or confuse the parser.

Each rule is about how people write in chat, never about particular words of a
conversation: laughter and interjections ("haha", "lol", "ugh"), a tag question after a
statement ("I'm learning the piano at 52, is that mad?" states something), a tag that asks
for agreement (", remember?", ", right?"), a topic label before a colon ("Piano update: I'm
...", "Quick correction for the invitations: ..."), "guess who" for "I", "that means" before
what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recallr_server.engine.ingest.extraction.inflection import IRREGULAR_PAST_FORMS

_LAUGHTER = r"(?:ha(?:ha)*h?|he(?:he)+|lol+|lmao|rofl|omg|ugh+|hmm+|umm*|uhh*|meh|xd)"
# Laughter and interjections standing alone, with the comma that set them off.
_FILLER = re.compile(rf"\s*(?:,\s*)?(?<![\w'])(?i:{_LAUGHTER})(?![\w'])(?:\s*,)?\s*")
# Tags after a statement that only ask the listener to agree or react.
_TAGS = (
    r"remember|right|you know|who knows|obviously|classic|so fun|go figure|by the way|btw|"
    r"though|anyway|i guess|just saying|"
    r"(?:is|isn't|does|doesn't|do|don't|did|didn't|was|wasn't|are|aren't|can|could|should|"
    r"would|will|won't)\s+(?:that|it|this|i|we|they|there)\b[^.!?]{0,30}"
)
_TAG = re.compile(rf",\s*(?i:{_TAGS})\s*(?P<end>[.!?]+|$)")
_OPENS_QUESTION = re.compile(
    r"^\W*(?i:who|what|when|where|why|how|which|whose|is|are|am|was|were|do|does|did|can|"
    r"could|would|will|should|shall|have|has|had|may|might|any)\b"
)
# A short label before a colon that opens a sentence: the sentence is what follows it.
_TOPIC_LABEL = re.compile(r"(?:^|(?<=[.!?]\s))(?P<label>[A-Za-z][^:.!?\d]{0,40}?):\s+(?=\S)")
_GUESS_WHO = re.compile(r"(?i:\bguess\s+who)(?:'s|\s+is)?\b")
_MEANS = re.compile(r"(?:^|(?<=[.!?]\s))(?i:that|which|this)\s+means\s+(?:that\s+)?")
# Openings that only announce what follows: "Just so you know, I don't drink".
_ANNOUNCING = re.compile(
    r"(?:^|(?<=[.!?]\s))(?i:just\s+so\s+you\s+know|fun\s+fact|true|for\s+the\s+record|"
    r"to\s+be\s+honest|tbh|honestly)\s*,\s*"
    # Asides that open a sentence with or without their comma ("By the way I'm vegan").
    r"|(?:^|(?<=[.!?]\s))(?i:by\s+the\s+way|btw|oh\s+and|also)\s*,?\s*(?=[A-Za-z])"
)
# A sentence that opens with an irregular past form and a noun phrase has left out its
# "I" ("Tore my meniscus skiing"): the tagger takes such a verb for an imperative.
_OPENING_PAST = re.compile(
    r"(?:^|(?<=[.!?]\s))(?P<verb>[A-Z][a-z]+)(?=\s+(?:my|a|an|the|our|his|her|their|some)\b)"
)
# "though" and "anyway" closing a clause only set it against what came before.
_CLOSING_ADVERB = re.compile(r"(?<=[\w'])(?:,)?\s+(?i:though|anyway|anyways)(?=\s*(?:[,.!?;]|$))")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True, slots=True)
class Cleaned:
    text: str
    # What topic labels named ("piano" for "Piano update:"), lower-case, in order.
    topics: tuple[str, ...]


def clean(text: str) -> Cleaned:
    """`text` without filler, agreement tags and topic labels; what the labels named."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").strip()
    text = _FILLER.sub(_keep_boundary, text)
    text = _TAG.sub(_drop_tag, text)
    text = _CLOSING_ADVERB.sub("", text)
    topics: list[str] = []

    def label(match: re.Match[str]) -> str:
        words = match.group("label").split()
        if len(words) > 7:
            return match.group(0)
        topic = _topic_of([word.lower() for word in words])
        if topic:
            topics.append(topic)
        return ""

    text = _TOPIC_LABEL.sub(label, text)
    text = _GUESS_WHO.sub(
        lambda m: "I'm" if m.group(0).lower().endswith(("'s", "is")) else "I", text
    )
    text = _MEANS.sub("", text)
    text = _ANNOUNCING.sub("", text)
    text = _OPENING_PAST.sub(_with_subject, text)
    text = _SPACES.sub(" ", text).strip()
    return Cleaned(_capitalise_sentences(text), tuple(topics))


def _with_subject(match: re.Match[str]) -> str:
    verb = match.group("verb")
    return f"I {verb.lower()}" if verb.lower() in IRREGULAR_PAST_FORMS else verb


def _guesser(match: re.Match[str]) -> str:
    """ "Guess who quit!" says "I quit!"; "guess who's moving" says "I'm moving"."""
    return "I'm" if match.group(0).lower().endswith(("'s", "is")) else "I"


def _keep_boundary(match: re.Match[str]) -> str:
    """Laughter inside a sentence leaves a space; at an edge of one, nothing."""
    text, start, end = match.string, match.start(), match.end()
    at_edge = start == 0 or end == len(text) or not text[end].isalnum()
    return "" if at_edge or text[start - 1] in ".!?" else " "


def _drop_tag(match: re.Match[str]) -> str:
    start = max(match.string.rfind(mark, 0, match.start()) for mark in ".!?\n") + 1
    statement = match.string[start : match.start()]
    if _OPENS_QUESTION.match(statement):
        return match.group(0)  # a real question with a tag: it stays a question
    end = match.group("end")
    return "." if end.startswith("?") else end or "."


def _topic_of(words: list[str]) -> str | None:
    """ "piano update" and "update on my diet" name their topic; "big news" names none."""
    if "update" not in words:
        return None
    at = words.index("update")
    after = [w for w in words[at + 1 :] if w not in ("on", "about", "my", "the", "our")]
    before = words[:at]
    topic = after or before
    return " ".join(topic) if topic else None


def _capitalise_sentences(text: str) -> str:
    """Capitals where sentences now start, so that the parser reads them as sentences."""
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
