"""Entities across sentences: who "she", "it", "they" and "we" are, which "the dog" is
meant, and the names things are given along the way.

A memory must stand on its own, so every pronoun in it has to become what it points at
("He's turning six" after "my son's birthday party" is "Hannah's son is turning six"), and
"we" has to become the people it covers ("Luka and Goran", "Rhys's band"), never "the user
and others". The tracker keeps the entities a conversation mentions in the order they were
last mentioned: people and animals by their relation to a speaker ("my sister", "our
cat") and their names, things by their head noun. A pronoun takes the most recent entity
it can agree with (he and she a person or an animal of that gender or of none known yet, it
a thing or an animal, they a plural or a group); names given later ("Her name is Pepper",
"We named him Gus") name the entity they point at.

Entities from earlier sessions come in as `KnownEntity`s, read from the user's memories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.parties import NameIndex, Party
from recallr_server.engine.ingest.extraction.vocabulary import (
    ANIMALS,
    FEMALE_RELATIONS,
    GENERIC_NOUNS,
    GROUPS,
    MALE_RELATIONS,
    OCCUPATIONS,
    ORGANISATIONS,
    PARTNERS,
    PEOPLE,
    RELATION_NOUNS,
)

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

_TIME_NOUNS = frozenset(
    {"day", "week", "weekend", "month", "year", "morning", "afternoon", "evening", "night"}
    | {"today", "tomorrow", "yesterday", "hour", "minute", "moment", "season", "summer"}
    | {"winter", "spring", "autumn", "fall", "time", "date", "age"}
)
_PLACE_PREPOSITIONS = frozenset({"in", "to", "from", "at", "near", "around", "across", "into"})
_MALE = frozenset({"he", "him", "his", "himself"})
_FEMALE = frozenset({"she", "her", "hers", "herself"})
_NEUTER = frozenset({"it", "its", "itself"})
_PLURAL = frozenset({"they", "them", "their", "theirs", "themselves"})
_WE = frozenset({"we", "us"})
_POSSESSIVE_PRONOUNS = frozenset({"his", "her", "its", "their"})
_NAMING_VERBS = frozenset({"name", "call"})
_CALENDAR = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january"}
    | {"february", "march", "april", "may", "june", "july", "august", "september", "october"}
    | {"november", "december", "christmas", "easter"}
)
_QUANTIFIERS = frozenset({"any", "every", "each", "no", "some", "all", "another", "which", "what"})
# Where a noun with "a" introduces someone or something to speak of later.
_ARGUMENTS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "dative", "conj", "appos"})


@dataclass
class Entity:
    """Someone or something a conversation speaks of."""

    noun: str | None  # the head noun's lemma: "sister", "dog", "trip"
    name: str | None
    owner: Party | Entity | None
    gender: str | None = None  # "f" or "m", from a relation noun or a pronoun
    animate: bool | None = None  # a person or an animal; None for a bare name
    plural: bool = False
    group: bool = False
    introduced_by: Party | None = None
    seen: int = 0
    words: str = ""  # its noun phrase without the determiner: "cracked molar"
    token: Token | None = None  # where it was last mentioned

    @property
    def key(self) -> str:
        """Who a fact about it is about: "user's sister", "Priya", "user's car"."""
        if isinstance(self.owner, Party) and self.owner.key and self.noun:
            return f"{self.owner.key}'s {self.noun}"
        return self.name or self.noun or self.words

    def reference(self, possessive: bool = False) -> str:
        if self.name:
            text = self.name
        elif self.owner is not None and self.noun:
            owner = self.owner if isinstance(self.owner, Party) else None
            owner_text = owner.possessive if owner else self.owner.reference(possessive=True)  # type: ignore[union-attr]
            text = f"{owner_text} {self.words or self.noun}"
        else:
            text = f"the {self.words or self.noun}"
        if not possessive:
            return text
        return text + ("'" if text.endswith("s") and self.plural else "'s")


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """An entity an earlier session spoke of: "Sofia's dog Pepper" is ("dog", "Pepper"),
    "Tariq bought a bike" ("bike", None)."""

    noun: str
    name: str | None


@dataclass
class References:
    """What the words of one sentence point at: token index to its rewriting, and to the
    entity it is, for the subjects that decide whose fact a clause is."""

    texts: dict[int, str] = field(default_factory=dict)
    entities: dict[int, Entity] = field(default_factory=dict)
    # The mention a pronoun points back to: a pronoun whose antecedent is in the same
    # memory stays a pronoun ("... to producers and they liked it").
    antecedents: dict[int, Token] = field(default_factory=dict)
    # Tokens that introduce their entity: a name said for the first time says no more
    # than the words around it.
    fresh: set[int] = field(default_factory=set)
    # A sentence that only names an entity ("Her name is Pepper"): the entity and name.
    naming: tuple[Entity, str] | None = None


class Discourse:
    """The entities of one conversation, read sentence by sentence."""

    def __init__(self, names: NameIndex, known: Iterable[KnownEntity] = ()) -> None:
        self._names = names
        self._entities: list[Entity] = []
        self._clock = 0
        self._companions: dict[str, Entity] = {}
        for entity in known:
            self._entities.append(
                Entity(
                    entity.noun,
                    entity.name,
                    names.user,
                    gender=_gender_of(entity.noun),
                    animate=_is_animate(entity.noun),
                    introduced_by=names.user,
                    words=entity.noun,
                )
            )

    def entities_introduced(self, since: int) -> list[Entity]:
        return [e for e in self._entities if e.seen > since and e.introduced_by is not None]

    @property
    def clock(self) -> int:
        return self._clock

    def read(self, sentence: Span, speaker: Party, listener: Party) -> References:
        refs = References()
        for token in sentence:
            self._clock += 1
            lowered = token.lower_
            if token.tag_ in ("PRP", "PRP$") and lowered in _MALE | _FEMALE | _NEUTER | _PLURAL:
                self._resolve(token, refs)
            elif lowered in _WE and token.tag_ == "PRP":
                companion = self._companion(speaker)
                if companion is not None:
                    refs.texts[token.i] = companion
            elif token.pos_ in ("NOUN", "PROPN") and token.dep_ not in ("compound",):
                self._mention(token, speaker, listener, refs)
        self._note_companions(sentence, speaker)
        refs.naming = _naming(sentence, refs)
        return refs

    def prescan(self, sentences: Iterable[Span], speaker: Party) -> None:
        """Partners named anywhere in the session, so that a "we" said before the name
        ("We adopted a dog! ... My wife Laura ...") can already cover them."""
        for sentence in sentences:
            for token in sentence:
                name = _given_name(token)
                noun = token.lemma_.lower()
                owned = any(c.lower_ in ("my", "our") for c in token.children)
                partner = noun in PARTNERS and owned and name is not None
                if partner and self._owned(noun, speaker) is None:
                    self._new(token, speaker, speaker, name, seen=0)

    # --- Mentions --------------------------------------------------------------------------

    def _mention(self, token: Token, speaker: Party, listener: Party, refs: References) -> None:
        lemma = token.lemma_.lower()
        if lemma in GENERIC_NOUNS or lemma in _TIME_NOUNS or self._names.party(token.text):
            return
        if lemma in _CALENDAR or token.like_num or lemma[:-2].isdigit():
            return  # "Sunday", "the 9th": times, not things to point back at
        if token.dep_ in ("appos", "oprd") and token.head.pos_ == "NOUN":
            return  # a name given to the noun it follows, read with that noun
        if token.pos_ == "PROPN":
            entity = self._named(token.text) or self._partner_named(token, speaker, refs)
            if entity is None:
                entity = self._new(token, speaker, None, token.text)
                entity.animate = not _is_place(token)
                refs.fresh.add(token.i)
        else:
            found = self._noun(token, speaker, listener, refs)
            if found is None:
                return
            entity = found
        entity.seen = self._clock
        entity.token = token
        refs.entities[token.i] = entity
        if entity.name == token.text:
            refs.texts.setdefault(token.i, token.text)  # a name keeps its capital

    def _noun(
        self, token: Token, speaker: Party, listener: Party, refs: References
    ) -> Entity | None:
        lemma = token.lemma_.lower()
        owner = self._owner_of(token, speaker, listener, refs)
        name = _given_name(token)
        determiner = next((c for c in token.children if c.dep_ == "det"), None)
        article = determiner.lower_ if determiner is not None else ""
        if article in _QUANTIFIERS:
            return None  # "any sports", "every mistake": no one thing
        entity = self._named(name) if name is not None else None
        if entity is None and owner is not None:
            entity = self._owned(lemma, owner, _modifiers(token))
        if entity is None and determiner is not None and article in ("the", "this", "that"):
            entity = self._latest(lemma, _modifiers(token))
            relational = lemma in RELATION_NOUNS or lemma in ANIMALS
            if entity is None and relational and speaker.is_person:
                entity = self._new(token, speaker, speaker, None)
            if entity is not None and isinstance(entity.owner, Party) and entity.name is None:
                refs.texts[determiner.i] = entity.owner.possessive
        if entity is None:
            verbless = not any(t.pos_ in ("VERB", "AUX") for t in token.sent)
            if owner is None and name is None and token.dep_ not in _ARGUMENTS and not verbless:
                return None  # "What a neighbour to have!" introduces no one
            entity = self._new(token, speaker, owner, name)
        if name is not None and entity.name is None:
            entity.name = name
        return entity

    def _partner_named(self, token: Token, speaker: Party, refs: References) -> Entity | None:
        """A first name said as a subject while the speaker's partner has no name yet is
        most likely theirs: "My husband and I went kayaking ... Goran used to row"."""
        if token.dep_ not in ("nsubj", "nsubjpass") or not speaker.is_person:
            return None
        unnamed = [e for e in self._entities if e.noun in PARTNERS and e.owner == speaker]
        if len(unnamed) != 1 or unnamed[0].name is not None:
            return None
        partner = unnamed[0]
        refs.texts[token.i] = f"{partner.reference()} {token.text}"
        partner.name = token.text
        return partner

    def _owner_of(
        self, token: Token, speaker: Party, listener: Party, refs: References
    ) -> Party | Entity | None:
        for child in token.children:
            if child.lower_ in ("my", "our"):
                return speaker
            if child.lower_ == "your":
                return listener
            if child.i in refs.entities and child.dep_ == "poss":
                return refs.entities[child.i]
        verb = token.head
        subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        acquired = verb.lemma_ in ("have", "get", "own", "buy", "adopt", "rescue", "bring")
        by_speaker = subject is not None and subject.lower_ in ("i", "we")
        return speaker if token.dep_ == "dobj" and acquired and by_speaker else None

    def _new(
        self,
        token: Token,
        speaker: Party,
        owner: Party | Entity | None,
        name: str | None,
        *,
        seen: int | None = None,
    ) -> Entity:
        lemma = token.lemma_.lower() if token.pos_ == "NOUN" else None
        modifiers = [c for c in token.children if c.dep_ in ("amod", "compound") and c.i < token.i]
        words = " ".join(t.text for t in sorted([*modifiers, token], key=lambda t: t.i))
        entity = Entity(
            lemma,
            name,
            owner,
            gender=_gender_of(lemma),
            animate=_is_animate(lemma) if lemma else None,
            plural=token.tag_ in ("NNS", "NNPS") or lemma in ("kid", "child", "people"),
            group=lemma in GROUPS or lemma in ORGANISATIONS,
            introduced_by=speaker,
            seen=self._clock if seen is None else seen,
            words=words if token.pos_ == "NOUN" else "",
        )
        self._entities.append(entity)
        return entity

    def _named(self, name: str) -> Entity | None:
        lowered = name.lower()
        return next((e for e in self._by_recency() if (e.name or "").lower() == lowered), None)

    def _owned(
        self, noun: str, owner: Party | Entity, modifiers: frozenset[str] = frozenset()
    ) -> Entity | None:
        return next(
            (
                e
                for e in self._by_recency()
                if e.noun == noun and e.owner == owner and _compatible(e, modifiers)
            ),
            None,
        )

    def _latest(self, noun: str, modifiers: frozenset[str] = frozenset()) -> Entity | None:
        """The last entity of that noun whose description does not contradict this one:
        "the advanced course" is not "my pottery course"."""
        return next(
            (e for e in self._by_recency() if e.noun == noun and _compatible(e, modifiers)),
            None,
        )

    def _by_recency(self) -> list[Entity]:
        return sorted(self._entities, key=lambda e: -e.seen)

    # --- Pronouns ----------------------------------------------------------------------------

    def _resolve(self, token: Token, refs: References) -> None:
        lowered = token.lower_
        entity = self._antecedent(lowered)
        if entity is None:
            return
        if entity.gender is None and entity.animate is not False:
            entity.gender = "m" if lowered in _MALE else "f" if lowered in _FEMALE else None
        if entity.animate is None and lowered in _MALE | _FEMALE:
            entity.animate = True
        possessive = token.tag_ == "PRP$" or lowered in ("its", "their")
        refs.texts[token.i] = entity.reference(possessive)
        refs.entities[token.i] = entity
        if entity.token is not None:
            refs.antecedents[token.i] = entity.token
        entity.seen = self._clock

    def _antecedent(self, pronoun: str) -> Entity | None:
        ranked = self._by_recency()
        if pronoun in _PLURAL:
            return next((e for e in ranked if e.plural or e.group), None)
        if pronoun in _NEUTER:
            things = [e for e in ranked if not e.plural and e.animate is False]
            animals = [e for e in ranked if not e.plural and e.noun in ANIMALS]
            return (things + animals)[0] if things or animals else None
        gender = "m" if pronoun in _MALE else "f"
        fits = [
            e
            for e in ranked
            if not e.plural and e.gender in (None, gender) and e.animate is not False
        ]
        return next((e for e in fits if e.animate), fits[0] if fits else None)

    # --- We --------------------------------------------------------------------------------

    def _companion(self, speaker: Party) -> str | None:
        """Who "we" covers besides the speaker, as a fact names them."""
        if not speaker.is_person:
            return None
        owned = [e for e in self._by_recency() if e.owner == speaker or e.introduced_by == speaker]
        candidates = [
            e
            for e in owned
            if e.noun in GROUPS or e.noun in PARTNERS or e is self._companions.get(speaker.label)
        ]
        if candidates:
            chosen = candidates[0]
            if chosen.noun in GROUPS:
                return chosen.reference()
            return f"{speaker.label} and {chosen.reference()}"
        return f"{speaker.possessive} family"

    def _note_companions(self, sentence: Span, speaker: Party) -> None:
        """ "Hugo and I", "my husband and I", "I'm engaged to Sam": who the speaker's next
        "we" is."""
        for token in sentence:
            partner = _partner_by_verb(token)
            if partner is not None and (entity := self._named(partner.text)) is not None:
                entity.animate = True
                self._companions[speaker.label] = entity
            if token.lower_ != "i":
                continue
            for other in (
                [token.head, *token.conjuncts] if token.dep_ == "conj" else token.conjuncts
            ):
                entity = self._named(other.text) if other.pos_ == "PROPN" else None
                entity = entity or (
                    self._owned(other.lemma_.lower(), speaker) if other.pos_ == "NOUN" else None
                )
                if entity is not None:
                    entity.animate = True
                    self._companions[speaker.label] = entity


def _partner_by_verb(token: Token) -> Token | None:
    """Sam in "I'm engaged to Sam", "I married Sam", "I'm dating Sam"."""
    if token.pos_ != "PROPN":
        return None
    head = token.head
    if token.dep_ == "pobj" and head.lower_ == "to" and head.head.lower_ in ("engaged", "married"):
        return token
    if token.dep_ == "dobj" and head.lemma_ in ("marry", "date"):
        return token
    return None


def _modifiers(token: Token) -> frozenset[str]:
    return frozenset(
        c.lower_ for c in token.children if c.dep_ in ("amod", "compound") and c.i < token.i
    )


def _compatible(entity: Entity, modifiers: frozenset[str]) -> bool:
    described = frozenset(entity.words.lower().split()[:-1])
    return not modifiers or not described or bool(modifiers & described)


def _naming(sentence: Span, refs: References) -> tuple[Entity, str] | None:
    """ "Her name is Pepper", "She's called Biscuit", "We named him Gus": an entity
    mentioned before gets its name."""
    for token in sentence:
        if token.lemma_ not in _NAMING_VERBS | {"be"}:
            continue
        subject = next((c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        named = next((c for c in token.children if c.dep_ in ("oprd", "attr")), None)
        if named is None or named.pos_ != "PROPN":
            continue
        if token.lemma_ == "be" and subject is not None and subject.lemma_ == "name":
            owner = next((c for c in subject.children if c.lower_ in _POSSESSIVE_PRONOUNS), None)
            target = refs.entities.get(owner.i) if owner is not None else None
        elif token.lemma_ in _NAMING_VERBS and token.tag_ == "VBN" and subject is not None:
            target = refs.entities.get(subject.i) if subject.tag_ == "PRP" else None
        elif token.lemma_ in _NAMING_VERBS:
            pronoun = next((c for c in token.children if c.dep_ == "dobj"), None)
            target = refs.entities.get(pronoun.i) if pronoun is not None else None
        else:
            target = None
        if target is not None:
            target.name = _full_name(named)
            return target, target.name
    return None


def _given_name(token: Token) -> str | None:
    """The name a noun is given beside it: "my sister Priya", "a cat named Felix"."""
    following = token.nbor(1) if token.i + 1 < len(token.doc) else None
    if (
        following is not None
        and following.pos_ == "PROPN"
        and following.text[:1].isupper()
        and (token.lemma_.lower() in RELATION_NOUNS or token.lemma_.lower() in ANIMALS)
    ):
        return _full_name(following)  # "Our cat Miso is 15", whatever the parse
    for child in token.children:
        if child.dep_ in ("appos", "compound") and child.pos_ == "PROPN" and child.i > token.i:
            return _full_name(child)
        if child.dep_ == "acl" and child.lemma_ in _NAMING_VERBS:
            named = next((c for c in child.children if c.dep_ in ("oprd", "attr", "dobj")), None)
            if named is not None and named.pos_ == "PROPN":
                return _full_name(named)
    return None


def _full_name(token: Token) -> str:
    parts = [c for c in token.children if c.dep_ == "compound" and c.pos_ == "PROPN"]
    return " ".join(t.text for t in sorted([*parts, token], key=lambda t: t.i))


def _is_place(token: Token) -> bool:
    return token.dep_ == "pobj" and token.head.lower_ in _PLACE_PREPOSITIONS


def _is_animate(noun: str | None) -> bool:
    return noun is not None and (
        noun in RELATION_NOUNS or noun in ANIMALS or noun in PEOPLE or noun in OCCUPATIONS
    )


def _gender_of(noun: str | None) -> str | None:
    if noun in FEMALE_RELATIONS:
        return "f"
    if noun in MALE_RELATIONS:
        return "m"
    return None


# "bought a bike", "has an old Volvo": a thing of the user's that later sessions call "the
# bike" or "the Volvo".
_KNOWN_THING = re.compile(
    r"\b(?:bought|got|has|owns|adopted|rescued)\s+(?:a|an)\s+(?:[a-z-]+\s+){0,2}?"
    r"(?P<noun>[A-Za-z]+)\b"
)
_KNOWN = re.compile(
    r"(?:'s|\bmy|\ba|\ban|\bthe)\s+(?:[a-z-]+\s+){0,2}?(?P<noun>[a-z]+)\s+(?:named\s+|called\s+)?"
    r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b"
)


def known_entities(contents: Sequence[str]) -> list[KnownEntity]:
    """The named relations and animals the user's memories speak of: "Sofia adopted a dog
    named Pepper" knows ("dog", "Pepper"), "Sofia's wife Laura ..." knows ("wife", "Laura")."""
    found: dict[str, KnownEntity] = {}
    for content in contents:
        for match in _KNOWN.finditer(content):
            noun = match.group("noun")
            if noun in RELATION_NOUNS or noun in ANIMALS:
                found.setdefault(match.group("name"), KnownEntity(noun, match.group("name")))
        for match in _KNOWN_THING.finditer(content):
            noun = match.group("noun")
            key = noun.lower() if noun.islower() else noun
            if noun.lower() not in GENERIC_NOUNS:
                found.setdefault(key, KnownEntity(noun.lower(), None if noun.islower() else noun))
    return list(found.values())


NO_REFERENCES = References()


def effective_texts(refs: References, tokens: Sequence[Token]) -> dict[int, str]:
    """The rewritings that apply to a clause: not a pronoun's whose antecedent it holds."""
    inside = {(id(t.doc), t.i) for t in tokens}
    return {
        i: text
        for i, text in refs.texts.items()
        if i not in refs.antecedents
        or (id(refs.antecedents[i].doc), refs.antecedents[i].i) not in inside
    }
