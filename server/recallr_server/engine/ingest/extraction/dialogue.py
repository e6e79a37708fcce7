"""Dialogue units: a question and the short answer to it, read as one statement.

People answer questions elliptically: "Where are you based?" / "Porto, for three years
now." says where the user lives only together with the question. So when a speaker's turn
opens with a fragment (no subject and verb of its own) right after the other speaker asked
something, the question is turned into a statement in the answerer's voice with the answer
in the place the question left open: "I am based in Porto, for three years now." That
sentence is then read like any other.

The question's structure is read from its words and tags in the order English questions
take (a wh-phrase, an auxiliary, the subject, the rest), which is sturdier on short
questions than the parse of the small model. Person is swapped on the way (the asker's
"you" is the answerer's "I"), do-support is undone ("When do you start?" / "Next Monday."
gives "I start next Monday"), an answer to part of the question fills that part ("How
many times a week can you get to a pool?" / "Twice." gives "twice a week"), and a verb
that leaves its object to what was said before takes it from there ("When do you start?"
after "I got the job at the harbour office" gives "I start the job at the harbour office
next Monday").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.inflection import past_tense, plural, third_person
from recallr_server.engine.ingest.extraction.vocabulary import GROUPS

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

_WH = frozenset({"what", "which", "who", "whom", "where", "when", "why", "how"})
_OPENERS = frozenset({"and", "so", "first", "okay", "ok", "well", "now", "also", "then", "but"})
_AFFIRMATIVE = frozenset({"yes", "yeah", "yep", "yup", "sure", "definitely", "absolutely"})
_NEGATIVE = frozenset({"no", "nope", "not", "never", "nah"})
_SUBJECT_PRONOUNS = frozenset({"i", "you", "he", "she", "it", "we", "they"})
_REQUEST_VERBS = frozenset(
    {"keep", "give", "call", "use", "send", "make", "tell", "stop", "start", "please", "let"}
    | {"remember", "write", "put", "add", "avoid", "try", "show", "do", "never", "always"}
)
# The asker's person becomes the answerer's and the other way round.
_SWAP = {
    "you": "I",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    # "What are we working on?" asks about the answerer's own work.
    "we": "I",
    "us": "me",
    "our": "my",
}
_AGREE_WITH_I = {"are": "am", "'re": "am", "were": "was"}
_AGREE_WITH_YOU = {"am": "are", "'m": "are", "was": "were"}
_QUANTITY_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"}
    | {"twelve", "twenty", "thirty", "forty", "fifty", "hundred", "a", "an", "about"}
    | {"around", "nearly", "almost", "over", "under", "roughly", "maybe", "just", "only"}
)
_ONCE_WORDS = frozenset({"once", "twice", "thrice"})
_CALENDAR_WORDS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
_HEDGES = frozenset({"honestly", "well", "um", "uh", "oh", "actually", "basically", "mostly"})
_MOTION_VERBS = frozenset({"get", "go", "come", "travel", "commute", "drive", "move", "fly"})
# Verbs that need an object, which a question can leave to what was said before it.
_TOPICAL_VERBS = frozenset({"start", "begin", "learn", "study", "practise", "practice", "play"})
_DETERMINERS = frozenset({"a", "an", "some", "any", "the"})


@dataclass(frozen=True, slots=True)
class Question:
    """The last question of a turn, with the sentences its asker said before it."""

    sentence: Span
    before: tuple[Span, ...] = ()

    @property
    def counted(self) -> str | None:
        """What "How many do you have?" counts: the last plural noun said before it."""
        nouns = [t.text.lower() for s in self.before for t in s if t.tag_ == "NNS"]
        return nouns[-1] if nouns else None


@dataclass(frozen=True, slots=True)
class Topics:
    """What a speaker spoke of last, in their own voice: for questions that leave it out."""

    thing: str | None = None  # the last object: "the job at the harbour office"
    possessed: str | None = None  # the last "my ..." phrase: "my team"
    # When each thing they did happens: "move" -> "on Saturday" after "I'm moving house on
    # Saturday", for "Where are you moving to?".
    times: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Shape:
    """A question taken apart: "How long | have | you | been learning"."""

    wh: list[Token]
    aux: str | None  # lower-case; "do" where "do you" is left out ("Want some ideas?")
    subject: list[str]  # in the answerer's voice
    rest: list[Token]
    counted: str | None = None  # what a bare "How many" counts


def question_of(sentences: list[Span]) -> Question | None:
    """The question a turn ends with, if it ends with one or with one sentence saying why
    it asks ("What do you do? It helps to know how much time you have.")."""
    asks = [i for i, s in enumerate(sentences) if s.text.rstrip().endswith("?")]
    if not asks or asks[-1] < len(sentences) - 2:
        return None
    last = asks[-1]
    return Question(sentences[last], tuple(sentences[:last]))


def topics_of(sentences: list[Span], time_phrases: Callable[[str], list[str]]) -> Topics:
    """The last object, the last "my ..." phrase and the times of a speaker's sentences;
    `time_phrases` finds the time phrases in a text."""
    thing = possessed = None
    times: list[tuple[str, str]] = []
    for sentence in sentences:
        for token in sentence:
            if token.dep_ == "dobj" and token.pos_ in ("NOUN", "PROPN"):
                thing = _phrase(list(token.subtree))
            if token.pos_ == "NOUN" and any(c.lower_ == "my" for c in token.children):
                possessed = _phrase([t for t in token.subtree if t.i <= token.i])
        phrases = time_phrases(sentence.text)
        if phrases and not sentence.text.rstrip().endswith("?"):
            times.append((sentence.root.lemma_, phrases[0]))
    return Topics(thing, possessed, tuple(times))


def _phrase(tokens: list[Token]) -> str:
    words = [t.text for t in tokens if not t.is_punct]
    if words and words[0].lower() in ("a", "an", "some", "any"):
        words = (["the"] if tokens[0].lower_ in ("a", "an") else []) + words[1:]
    return " ".join(words)


def answer_split(sentence: Span) -> tuple[list[Token], list[Token]] | None:
    """The elliptical answer that opens `sentence` and the words after it, or None when
    the sentence opens with a statement of its own."""
    tokens = [t for t in sentence if not t.is_space]
    end = len(tokens)
    for at, token in enumerate(tokens):
        if token.text in (",", ";") and _starts_clause(tokens[at + 1 :]):
            end = at
            break
    answer = tokens[:end]
    while answer and answer[-1].is_punct:
        answer.pop()
    if not answer or _is_statement(answer):
        return None
    return answer, tokens[end:]


def _is_statement(tokens: list[Token]) -> bool:
    if tokens[0].lower_ in _AFFIRMATIVE | _NEGATIVE:
        return False
    if not any(t.pos_ in ("NOUN", "PROPN", "ADJ", "NUM", "VERB", "ADV") for t in tokens):
        return True  # "¡Claro!", "Ha!": nothing to place
    comma = next((i for i, t in enumerate(tokens) if t.text == ","), len(tokens))
    tokens = tokens[:comma]
    if tokens[0].tag_ == "VB" and tokens[0].lower_ in _REQUEST_VERBS:
        return True
    inside = {t.i for t in tokens}
    return any(
        t.dep_ in ("nsubj", "nsubjpass", "expl")
        and t.head.i in inside
        and t.head.pos_ in ("VERB", "AUX")
        and t.pos_ != "NUM"
        for t in tokens
    )


def _starts_clause(tokens: list[Token]) -> bool:
    """Whether the words after a comma open a clause ("my wife says", "and keep ...")."""
    words = [t for t in tokens if t.text == "," or not t.is_punct]
    while words and (words[0].dep_ == "cc" or words[0].lower_ in ("so", "but", "and")):
        words = words[1:]
    if not words:
        return False
    first = words[0]
    if first.tag_ == "VB" and first.lower_ in _REQUEST_VERBS:
        return True
    if first.lower_ in _SUBJECT_PRONOUNS or first.tag_ in ("PRP$", "DT", "NNP", "NN", "NNS"):
        for token in words[1:5]:
            if token.text == ",":
                return False
            if token.tag_ in ("VBP", "VBZ", "VBD", "MD"):
                return True
    return False


def complete(question: Question, answer: list[Token], topics: Topics) -> str | None:
    """The question as a statement in the answerer's voice, with `answer` in its gap; None
    when the answer cannot be placed (a "no", a "why", an answer to something else)."""
    shape = _shape(question.sentence)
    if shape is None or _is_request(shape):
        return None
    shape = replace(shape, counted=question.counted)
    while len(answer) > 1 and answer[0].lower_ in _HEDGES:
        answer = answer[1:]  # "honestly just a wonky teapot"
    first = answer[0].lower_
    if not shape.wh and first in _NEGATIVE:
        return None
    if not shape.wh and first in _AFFIRMATIVE:
        rest = [t.text for t in answer[1:]]
        while rest and rest[0] in (",", "."):
            rest = rest[1:]
        return _sentence(_declarative(shape, topics) + ([",", *rest] if rest else []))
    if shape.aux is None:
        return _verbless(shape, answer, topics)
    words = _declarative(shape, topics)
    placed = _with_answer(shape, words, answer)
    return _sentence(placed) if placed is not None else None


def question_verb(question: Question) -> str | None:
    """The lemma of the question's main verb: "move" in "Where are you moving to?"."""
    clause = _interrogative_clause([t for t in question.sentence if not t.is_space])
    return next((t.lemma_ for t in clause if t.pos_ == "VERB"), None)


# --- The question ---------------------------------------------------------------------------


def _is_request(shape: _Shape) -> bool:
    """ "Can you help me ...?", "Shall we ...?": asking for something, not about something."""
    subject = shape.subject[0].lower() if shape.subject else ""
    return (
        not shape.wh
        and shape.aux in ("can", "could", "would", "shall")
        and subject
        in (
            "i",
            "we",
        )
    )


def _as_written(answer: list[Token]) -> list[str]:
    """The answer's words, its first one in lower case unless it is a name ("Porto") or a
    proper adjective ("Peruvian", "British"); words written together stay together
    ("£950", "one-bed")."""
    words: list[str] = []
    joined = False
    for at, token in enumerate(answer):
        if joined:
            words[-1] += token.text
        else:
            words.append(token.text)
        following = answer[at + 1] if at + 1 < len(answer) else None
        joined = (
            not token.whitespace_
            and following is not None
            and following.text not in (",", ".", ";", ":", "!", "?", ")")
        )
    first = answer[0]
    proper = first.tag_ in ("NNP", "NNPS") or (
        first.text[:1].isupper() and first.lower_.endswith(("ian", "ean", "ese", "ish", "an"))
    )
    if not proper and first.text != "I":
        words[0] = words[0].lower()
    return words


def _shape(sentence: Span) -> _Shape | None:
    tokens = _interrogative_clause([t for t in sentence if not t.is_space])
    if not tokens:
        return None
    wh = _wh_phrase(tokens) if tokens[0].lower_ in _WH else []
    after = tokens[len(wh) :]
    if not after:
        return _Shape(wh, None, [], [])
    if after[0].pos_ == "AUX" or after[0].tag_ == "MD":
        aux, after = after[0].lower_, after[1:]
    elif not wh and after[0].tag_ == "VB" and after[0].lemma_ not in ("want", "need"):
        return _Shape([], "do", ["I"], after)  # "Play any sports?": "do you" left out
    else:
        return _Shape(wh, None, [], after)
    count = _subject_length(after)
    subject = [_SWAP.get(t.lower_, t.text) for t in after[:count]]
    together = any(t.lower_ in ("together", "both") for t in after[count:])
    if subject == ["I"] and together:
        subject = ["we"]  # "How long have you been together?" asks about a couple
    return _Shape(wh, aux, subject, after[count:])


def _interrogative_clause(tokens: list[Token]) -> list[Token]:
    """The question without openers ("And", "First,") or a clause after it ("..., so I
    can suggest something")."""
    start = 0
    while start < len(tokens) and (
        tokens[start].is_punct or tokens[start].lower_ in _OPENERS or tokens[start].pos_ == "INTJ"
    ):
        start += 1
    end = start
    while end < len(tokens) and tokens[end].text not in ("?", ",", ";"):
        end += 1
    return tokens[start:end]


def _wh_phrase(tokens: list[Token]) -> list[Token]:
    """ "How", "How old", "How many times a week", "Which match"."""
    phrase = [tokens[0]]
    rest = tokens[1:]
    if tokens[0].lower_ == "how" and rest and rest[0].pos_ in ("ADJ", "ADV"):
        phrase.append(rest[0])
        if rest[0].lower_ in ("many", "much"):
            for token in rest[1:]:
                if token.pos_ not in ("NOUN", "ADJ", "DET", "NUM"):
                    break
                phrase.append(token)
    elif (
        tokens[0].lower_ in ("what", "which")
        and rest
        and rest[0].pos_ not in ("AUX", "PRON")
        and (len(rest) == 1 or rest[0].pos_ in ("NOUN", "ADJ"))
    ):
        phrase.append(rest[0])  # "Which match?" (which the tagger may call a verb)
    return phrase


def _subject_length(tokens: list[Token]) -> int:
    if not tokens:
        return 0
    if tokens[0].lower_ in _SUBJECT_PRONOUNS or tokens[0].lower_ == "there":
        return 1
    length = 0
    for token in tokens:
        if token.pos_ not in ("DET", "ADJ", "NOUN", "PROPN", "NUM") and token.tag_ not in (
            "PRP$",
            "POS",
        ):
            break
        length += 1
    return length


def _declarative(shape: _Shape, topics: Topics) -> list[str]:
    """Subject, verb and the rest in statement order, in the answerer's voice."""
    reflexive = shape.rest[-1].lower_ in ("yourself", "yourselves") if shape.rest else False
    if reflexive and len(shape.rest) > 1 and shape.rest[-2].lemma_ == "do":
        shape = replace(shape, rest=shape.rest[:-1])  # "what do you enjoy doing yourself?"
    rest = [_SWAP.get(t.lower_, t.text) for t in shape.rest]
    verb_at = next((i for i, t in enumerate(shape.rest) if t.pos_ == "VERB"), None)
    aux = shape.aux or ""
    if aux in ("do", "does", "did") and verb_at == 0:
        verb = shape.rest[0]
        if aux == "did":
            rest[0] = past_tense(verb.lemma_)
        elif shape.subject and shape.subject[0].lower() not in ("i", "you", "we", "they"):
            rest[0] = third_person(verb.lemma_)
        words = [*shape.subject, *rest]
    else:
        words = [*shape.subject, _agreeing(aux, shape.subject), *rest]
    return _with_topic(shape, words, verb_at, topics)


def _agreeing(aux: str, subject: list[str]) -> str:
    head = subject[0].lower() if subject else ""
    if head == "we":
        return {"am": "are", "'m": "are", "was": "were", "is": "are"}.get(aux, aux)
    if head == "i":
        return _AGREE_WITH_I.get(aux, aux)
    if head == "you":
        return _AGREE_WITH_YOU.get(aux, aux)
    return {"'s": "is", "'re": "are"}.get(aux, aux)


def _with_topic(shape: _Shape, words: list[str], verb_at: int | None, topics: Topics) -> list[str]:
    if verb_at is None or topics.thing is None:
        return words
    verb = shape.rest[verb_at]
    takes_object = any(c.dep_ in ("dobj", "xcomp", "ccomp", "prep") for c in verb.children)
    wh_object = bool(shape.wh) and shape.wh[0].lower_ in ("what", "which", "who")
    if verb.lemma_ not in _TOPICAL_VERBS or takes_object or wh_object:
        return words
    at = len(words) - len(shape.rest) + verb_at + 1
    return [*words[:at], *topics.thing.split(), *words[at:]]


# --- The answer in its place ------------------------------------------------------------------


def _with_answer(shape: _Shape, words: list[str], answer: list[Token]) -> list[str] | None:
    said = _as_written(answer)
    if not shape.wh:
        return _yes_no_gap(shape, words, answer)
    kind = shape.wh[0].lower_
    tail = len(words) - len(shape.rest)  # where the rest starts in `words`
    if kind in ("what", "which", "who", "whom"):
        return _object_gap(shape, words, tail, answer)
    if kind == "where":
        preposition = (shape.rest and shape.rest[-1].pos_ == "ADP") or answer[0].pos_ == "ADP"
        return [*words, *([] if preposition else ["in"]), *said]
    if kind == "when":
        dated = (
            said[0].lower() in _CALENDAR_WORDS
            or said[0][:1].isdigit()
            or (said[0].lower() == "the" and len(said) > 1 and said[1][:1].isdigit())
        )
        return [*words, *(["on"] if dated else []), *said]
    if kind == "how":
        return _how_gap(shape, words, tail, answer)
    return None


def _object_gap(shape: _Shape, words: list[str], tail: int, answer: list[Token]) -> list[str]:
    said = _as_written(answer)
    wh = shape.wh[0]
    head = wh.head
    rest_ids = [t.i for t in shape.rest]
    if wh.dep_ in ("dobj", "pobj") and head.i in rest_ids:
        at = tail + rest_ids.index(head.i) + 1
        described = answer[0].tag_ == "JJ" and len(answer) > 1 and answer[1].tag_ == "NN"
        if head.lemma_ == "do" and (answer[0].tag_ in ("VBG", "NN", "NNS", "NNP") or described):
            if head.i == rest_ids[0] and len(rest_ids) == 1:  # "Dental hygienist."
                return [*words[:tail], "work", "as", *_with_article(answer)]
            if head.tag_ == "VBG":
                at -= 1  # "enjoy doing" + "gardening": "enjoy gardening"
                words = [*words[:at], *words[at + 1 :]]
        return [*words[:at], *said, *words[at:]]
    if not shape.rest:
        return [*words, *said]  # "What's the vibe?": "the vibe is ..."
    return [*words, *said]


def _how_gap(shape: _Shape, words: list[str], tail: int, answer: list[Token]) -> list[str]:
    said = _as_written(answer)
    degree = shape.wh[1].lower_ if len(shape.wh) > 1 else ""
    copula = shape.aux in ("is", "'s", "are", "'re", "am", "'m", "was", "were")
    if degree in ("many", "much"):
        return [*words, *_quantity(shape, answer)]
    if degree == "old" and not any(w.lower() in ("old", "years", "months") for w in said):
        return [*words, *said, "years", "old"]
    if degree == "long" and (shape.aux in ("have", "has", "'ve") or "been" in words):
        return [*words, *([] if said[0].lower() in ("for", "since") else ["for"]), *said]
    if degree:
        return [*words, *said]
    if copula and not any(t.pos_ == "VERB" for t in shape.rest):
        return [*words, *said]  # "How's your knee?" / "Better."
    if answer[0].tag_ == "VBG" and any(t.tag_ == "VBG" for t in shape.rest):
        return [*words[:tail], *said]  # "How's Praline settling in?" / "Hiding ..."
    motion = any(t.lemma_ in _MOTION_VERBS for t in shape.rest)
    preposition = [] if answer[0].pos_ == "ADP" else ["by" if motion else "with"]
    return [*words, *preposition, *said]


def _quantity(shape: _Shape, answer: list[Token]) -> list[str]:
    """ "How many times a week" + "Twice" is "twice a week"; + "Three" is "three times a
    week"; an answer that names its own thing stands as it is."""
    said = _as_written(answer)
    counted = [t.text for t in shape.wh[2:]] or ([shape.counted] if shape.counted else [])
    if any(t.pos_ in ("NOUN", "PROPN") for t in answer[:2]) or not counted:
        return said
    if said[0].lower() in _ONCE_WORDS and counted[0].lower() == "times":
        return [said[0], *counted[1:], *said[1:]]
    number = [w for w in said if w.lower() in _QUANTITY_WORDS or w[:1].isdigit()]
    return [*said[: len(number)], *counted, *said[len(number) :]]


def _yes_no_gap(shape: _Shape, words: list[str], answer: list[Token]) -> list[str] | None:
    """An answer other than yes or no: what it fills ("Do they play any sports?" /
    "Football." ; "Should I correct every mistake?" / "Only the big ones.")."""
    said = _as_written(answer)
    tail = len(words) - len(shape.rest)
    for at, token in enumerate(shape.rest):
        if token.dep_ == "dobj" or token.lower_ in ("any", "every", "each", "all"):
            span = list(token.head.subtree) if token.pos_ == "DET" else list(token.subtree)
            ids = [t.i for t in shape.rest]
            start = tail + ids.index(span[0].i) if span[0].i in ids else tail + at
            end = start + len(span)
            noun = next((t for t in span if t.pos_ == "NOUN"), None)
            filled = [plural(noun.text) if w.lower() == "ones" and noun else w for w in said]
            return [*words[:start], *filled, *words[end:]]
    verb_at = next((i for i, t in enumerate(shape.rest) if t.pos_ == "VERB"), None)
    if verb_at is None or shape.aux in ("is", "are", "was", "were", "'s"):
        return None
    at = tail + verb_at + 1
    return [*words[:at], *said, *words[at:]]


def _verbless(shape: _Shape, answer: list[Token], topics: Topics) -> str | None:
    """ "Which match?", "How many guests?", "Any cuisine you love?": no verb to fill."""
    said = _as_written(answer)
    if shape.wh and shape.wh[0].lower_ in ("which", "what") and len(shape.wh) > 1:
        return _sentence(["The", shape.wh[1].text, "is", *said])
    if shape.wh and len(shape.wh) > 2 and shape.wh[1].lower_ == "many":
        group = topics.possessed and topics.possessed.split()[-1] in GROUPS
        owner = topics.possessed if group else topics.thing or topics.possessed
        if owner is None:
            return None
        return _sentence([*owner.split(), "has", *_quantity(shape, answer)])
    if shape.wh or not shape.rest or shape.rest[0].lower_ != "any":
        return None
    return _any_gap(shape.rest[1:], answer)


def _any_gap(rest: list[Token], answer: list[Token]) -> str | None:
    said = _as_written(answer)
    relative = next((i for i, t in enumerate(rest) if t.pos_ == "PRON"), len(rest))
    thing, clause = rest[:relative], rest[relative:]
    single = len(answer) == 1 and answer[0].pos_ != "NOUN"
    if clause and clause[0].lower_ == "you":
        verb = [_SWAP.get(t.lower_, t.text) for t in clause[1:]]
        named = [said[0], *[t.text for t in thing]] if single else said
        return _sentence(["I", *verb, *named])
    if single:
        return _sentence(["I", "am", said[0]])
    if not thing:
        return None
    copula = "are" if thing[-1].tag_ == "NNS" else "is"
    return _sentence(["My", *[t.text for t in thing], copula, *said])


def _with_article(answer: list[Token]) -> list[str]:
    said = [t.text.lower() if i == 0 else t.text for i, t in enumerate(answer)]
    if answer[0].lower_ in _DETERMINERS or answer[0].tag_ in ("NNS", "PRP$"):
        return said
    return ["an" if said[0][:1] in "aeiou" else "a", *said]


def _sentence(words: list[str]) -> str:
    text = ""
    for word in words:
        attached = word in (",", ".", ";", "!", "?") or word.startswith("'") or word == "n't"
        text += word if attached or not text else f" {word}"
    text = text.strip(" ,")
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
