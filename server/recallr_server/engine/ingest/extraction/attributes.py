"""Single-valued attributes that change over time (residence, employer, job title,
relationship, diet, favourites, age, name), and the one spelling of their keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.clauses import Clause
from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.pipeline import entity_label
from recallr_server.engine.ingest.extraction.statements import Statement
from recallr_server.engine.ingest.extraction.vocabulary import OCCUPATIONS
from recallr_server.engine.ingest.slots import PERSONAL_RECORDS

if TYPE_CHECKING:
    from spacy.tokens import Token


def canonical_attribute_key(key: str) -> str:
    """The one spelling of an attribute key: "favorite:colour" and "fav:color" are both
    "favourite:color", so that a changed value is recognised whoever wrote either key."""
    kind, colon, thing = key.strip().lower().partition(":")
    if kind in _FAVOURITE_WORDS:
        kind = "favourite"
    return kind + colon + " ".join(_KEY_WORDS.get(word, word) for word in thing.split())


_DIETS = frozenset(
    {"vegetarian", "vegan", "pescatarian", "pescetarian", "keto", "paleo", "carnivore"}
    | {"gluten-free", "halal", "kosher", "flexitarian"}
)
_RELATIONSHIP_STATUSES = frozenset(
    {"single", "married", "engaged", "divorced", "widowed", "separated"}
)

_PLACE_ENTITIES = frozenset({"GPE", "LOC", "FAC"})


def attribute_of(
    clause: Clause, tokens: list[Token], kind: Kind, statement: Statement | None
) -> tuple[str, str] | None:
    """A (key, value) for a single-valued attribute the clause sets, if any."""
    rules: tuple[Callable[[Token, Token], tuple[str, str] | None], ...]
    if kind in (Kind.SELF, Kind.RELATED):
        rules = (
            _birthplace,
            _residence,
            _employer,
            _job_title,
            _relationship,
            _diet,
            _favourite,
            _personal_record,
            _age,
        )
    elif kind is Kind.INVOLVED:
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
            if found is not None and not _in_another_clause(found[1], tokens):
                return found
    return statement.attribute if statement is not None else None


def _in_another_clause(value: str, tokens: list[Token]) -> bool:
    """The value is a word of the sentence outside the clause: "vegetarian" is not the
    diet of "allergic to shellfish", split from "I'm vegetarian and allergic to shellfish"."""
    if not tokens:
        return False
    words = set(value.lower().split())
    inside = any(t.lower_ in words for t in tokens)
    return not inside and any(t.lower_ in words for t in tokens[0].sent)


def _birthplace(subject: Token, verb: Token) -> tuple[str, str] | None:
    if verb.lemma_ != "bear" or verb.tag_ != "VBN":
        return None
    for prep in verb.children:
        if prep.dep_ == "prep" and prep.lower_ == "in":
            place = _child(prep, "pobj")
            # "Born in" names a place, whatever the tagger calls the name.
            if place is not None and place.pos_ == "PROPN":
                return "birthplace", _entity_text(place)
    return None


def _personal_record(subject: Token, verb: Token) -> tuple[str, str] | None:
    """ "My blood type is O negative", "my birthday is on March 3rd"."""
    key = _noun_phrase(subject).lower()
    if verb.lemma_ != "be" or key not in PERSONAL_RECORDS:
        return None
    if not any(c.lower_ in ("my", "our") for c in subject.children):
        return None
    value = [
        t.text
        for t in verb.subtree
        if t.i > verb.i and not t.is_punct and t.lower_ not in ("on", "in", "the")
    ]
    return (key, " ".join(value)) if value else None


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
    if verb.lemma_ in ("work", "start", "begin", "join"):
        for prep in verb.children:
            if prep.dep_ == "prep" and prep.lower_ == "as" and (role := _child(prep, "pobj")):
                return "job_title", _noun_phrase(role)
    if verb.lemma_ in ("be", "become") and verb.tag_ != "VBD":
        role = _child(verb, "attr")
        if role is not None and role.lemma_.lower() in OCCUPATIONS:
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
    label = entity_label(token)
    return label in _PLACE_ENTITIES or (token.pos_ == "PROPN" and label != "PERSON")


def _is_organisation(token: Token) -> bool:
    return token.pos_ == "PROPN" and entity_label(token) not in ("PERSON", *_PLACE_ENTITIES)


def _entity_text(token: Token) -> str:
    for entity in token.doc.ents:
        if entity.start <= token.i < entity.end:
            return entity.text
    return _noun_phrase(token)


def _noun_phrase(token: Token) -> str:
    """The noun with its compounds and adjectives, without determiners or clauses."""
    words = [c for c in token.children if c.dep_ in ("compound", "amod") and c.i < token.i]
    return " ".join(t.text for t in sorted([*words, token], key=lambda t: t.i))
