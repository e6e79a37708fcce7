"""Plain statements about the speaker, read from the words alone.

The small model mis-tags uncommon nouns as verbs ("I'm allergic to shellfish" parses
"shellfish" as an infinitive), which would drop the clearest statements; these are read
from word forms, never tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.vocabulary import (
    DEPENDENT_SUBJECTS,
    FIRST_PERSON,
    GENERIC_NOUNS,
    RELATION_NOUNS,
    SECOND_PERSON,
)

if TYPE_CHECKING:
    from spacy.tokens import Token

_BE_FORMS = frozenset({"'m", "am", "is", "'s", "are", "'re", "been"})
_NEGATIONS = frozenset({"not", "n't", "never"})
# Words between a subject and its predicate that leave a statement as plain as it was.
_MODIFIERS = frozenset(
    {"also", "really", "still", "now", "just", "actually", "currently", "absolutely", "truly"}
    | {"totally", "definitely", "personally", "seriously", "very", "so", "severely", "mildly"}
    | {"slightly", "quite", "super", "extremely", "highly", "deathly", "kinda", "do", "does"}
    | {"have", "has", "'ve", "always"}
)
_ALLERGY_WORDS = frozenset({"allergic", "intolerant", "sensitive"})
_PREFERENCE_VERBS = frozenset(
    {"love", "loves", "like", "likes", "hate", "hates", "prefer", "prefers", "enjoy", "enjoys"}
    | {"adore", "adores", "dislike", "dislikes", "detest", "detests"}
)
_POSSESSION_VERBS = frozenset({"have", "has", "own", "owns"})
_HAVE_FORMS = frozenset({"have", "has", "'ve", "'s"})  # before "got": "I've got a cat"
_FINITE_AUXILIARIES = _BE_FORMS | _HAVE_FORMS | {"do", "does"}
# Each verb with the preposition that introduces its place or organisation; only forms that
# say where someone is now ("lived in" does not).
_RESIDENCE_VERBS = {
    "live": "in",
    "lives": "in",
    "living": "in",
    "reside": "in",
    "resides": "in",
    "based": "in",
    "moved": "to",
    "relocated": "to",
}
_WORK_VERBS = frozenset({"work", "works", "working"})
# Words after "have" that make it an auxiliary or a modal ("I have to go").
_NOT_OBJECTS = _BE_FORMS | _NEGATIONS | _MODIFIERS | {"to", "got"}
_POINTING_WORDS = DEPENDENT_SUBJECTS | SECOND_PERSON


@dataclass(frozen=True, slots=True)
class Statement:
    """A plain statement about the speaker or their relative, read from its words alone."""

    kind: Kind  # SELF or RELATED
    subject: Token
    category: str | None
    attribute: tuple[str, str] | None
    # The verb that must agree with "I" once it is a name ("'m", "do", "love"), whatever
    # its tag: None when the subject is already in the third person.
    finite: Token | None


def read_statement(tokens: list[Token]) -> Statement | None:
    """ "I'm (also) allergic to X", "I love X", "I have X", "I live in X", "I work at X".

    Only word forms are read, never tags, because these statements matter most where the
    tagger fails on their object. The object must name something, and must not point at
    the conversation ("I love that", "I like your idea"): those are replies, not facts.
    """
    words = [token.lower_ for token in tokens]
    if words[0] == "i":
        kind, subject, start = Kind.SELF, tokens[0], 1
    elif len(words) > 2 and words[0] in ("my", "our") and _is_relation_word(words[1]):
        kind, subject, start = Kind.RELATED, tokens[1], 2
    else:
        return None
    after_be = negated = False
    finite: Token | None = None
    for at in range(start, len(words) - 1):
        word = words[at]
        found = statement_predicate(tokens, words, at, after_be)
        if finite is None and (found is not None or word in _FINITE_AUXILIARIES):
            finite = tokens[at]
        if found is not None:
            category, attribute = found
            return Statement(
                kind,
                subject,
                category,
                None if negated else attribute,
                finite if kind is Kind.SELF else None,
            )
        if word in _BE_FORMS:
            after_be = True
        elif word in _NEGATIONS:
            negated = True
        elif word not in _MODIFIERS:
            return None
    return None


def statement_predicate(
    tokens: list[Token], words: list[str], at: int, after_be: bool
) -> tuple[str | None, tuple[str, str] | None] | None:
    """The category and attribute of a predicate starting at `at`, if it is one we read."""
    word, following = words[at], words[at + 1]
    if after_be and word in _ALLERGY_WORDS and following == "to":
        return ("allergies", None) if _names_something(tokens[at + 2 :]) else None
    if after_be and following in _ALLERGY_WORDS and _names_something(tokens[at : at + 1]):
        return "allergies", None  # "I'm lactose intolerant"
    if word in _RESIDENCE_VERBS and following == _RESIDENCE_VERBS[word]:
        return "places", _named("residence", tokens[at + 2 :])
    if word in _WORK_VERBS and following in ("at", "for"):
        return "work", _named("employer", tokens[at + 2 :])
    if after_be:
        return None
    thing = tokens[at + 1 :]
    if word in _PREFERENCE_VERBS and _names_something(thing):
        return "preferences", None
    owns = word in _POSSESSION_VERBS or (word == "got" and words[at - 1] in _HAVE_FORMS)
    if owns and _names_something(thing):
        first = thing[0]
        if first.lower_ in _NOT_OBJECTS or (
            first.tag_ in ("VBN", "VBD") and first.lemma_.lower() != first.lower_
        ):
            return None  # "I have moved", "I haven't been": an auxiliary, not a possession
        owns_relative = any(_is_relation_word(token.lower_) for token in thing)
        return (None if owns_relative else "possessions"), None
    return None


def _names_something(tokens: list[Token]) -> bool:
    if not tokens or any(token.lower_ in _POINTING_WORDS for token in tokens):
        return False
    return any(
        token.is_alpha
        and not token.is_stop
        and token.lower_ not in GENERIC_NOUNS
        and token.tag_ != "VBG"  # "I love hearing about it" is a reply
        for token in tokens
    )


def _named(key: str, tokens: list[Token]) -> tuple[str, str] | None:
    """A place or organisation by its capitalised name: "in New York", "at the BBC"."""
    if tokens and tokens[0].lower_ == "the":
        tokens = tokens[1:]
    name: list[Token] = []
    for token in tokens:
        if not token.text[:1].isupper() or token.lower_ in FIRST_PERSON:
            break
        name.append(token)
    following = tokens[len(name)] if len(name) < len(tokens) else None
    if not name or (following is not None and following.lower_ == "'s"):
        return None  # "in Tom's flat" is not a place called Tom
    return key, " ".join(token.text for token in name)


def _is_relation_word(word: str) -> bool:
    return word in RELATION_NOUNS or (word.endswith("s") and word[:-1] in RELATION_NOUNS)
