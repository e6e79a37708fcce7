"""A sentence's independent clauses: what one fact is made from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.statements import statement_predicate

if TYPE_CHECKING:
    from spacy.tokens import Span, Token


@dataclass(frozen=True, slots=True)
class Clause:
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


def clauses_of(sentence: Span) -> list[Clause]:
    return _split(sentence.root, list(sentence), None)


def _split(head: Token, tokens: list[Token], shared_subject: Token | None) -> list[Clause]:
    """The clause headed by `head`, and the clauses coordinated with it, in sentence order."""
    subject = _subject_of(head) or shared_subject
    parts = [child for child in head.children if _is_separate_clause(head, child, subject)]
    whole = [Clause(_led_by(shared_subject, tokens), head, shared_subject)]
    if not parts:
        return whole
    inside = {token.i for part in parts for token in part.subtree}
    own = [t for t in tokens if t.i not in inside and not (t.is_punct or t.dep_ == "cc")]
    if not own or any(i in inside for i in range(own[0].i, own[-1].i)):
        return whole  # the other clauses sit inside this one
    # The conjunctions and punctuation between clauses belong to neither.
    own = [t for t in tokens if own[0].i <= t.i <= own[-1].i]
    clauses = [Clause(_led_by(shared_subject, own), head, shared_subject)]
    # A predicate without a subject shares the nearest one before it: "I emailed them and
    # one replied and said yes" (the parser attaches every conjunct to the first).
    subjects = [(head.i, subject), *((part.i, _subject_of(part)) for part in parts)]
    for part in parts:
        inherited = None
        if not has_subject(part):
            earlier = [(i, found) for i, found in subjects if i < part.i and found is not None]
            inherited = max(earlier, key=lambda pair: pair[0], default=(head.i, subject))[1]
        words = list(part.subtree)
        while words[0].is_punct or words[0].dep_ == "cc":
            words.pop(0)  # "- might be", "but I hate"
        clauses += _split(part, words, inherited)
    return sorted(clauses, key=lambda clause: clause.root.i)


def _subject_of(verb: Token) -> Token | None:
    return next((child for child in verb.children if child.dep_ in _SUBJECTS), None)


def joined(first: Clause, second: Clause) -> Clause:
    """The two clauses as one, with the words that link them."""
    doc = first.root.doc
    following = doc[first.tokens[-1].i + 1 : second.tokens[-1].i + 1]
    return Clause([*first.tokens, *following], first.root, first.shared_subject)


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
    if child.dep_ == "conj" and child.pos_ in ("VERB", "AUX") and has_subject(child):
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
        return words[0] == child and statement_predicate(words, lowered, 0, False) is not None
    if (
        child.dep_ in ("ccomp", "parataxis")
        and child.pos_ in ("VERB", "AUX")
        and child.i < head.i
        and has_subject(child)
    ):
        # "I live in Paris; I'm allergic to peanuts" parses the first clause as a complement
        # of the second; so does "I live here, I think", which must stay whole.
        separator = head.doc[child.right_edge.i + 1].text
        return separator == ";" or (
            separator == ","
            and any(c.dep_ not in _NOT_COMPLEMENTS for c in head.children if c.i > head.i)
        )
    return False


def has_subject(verb: Token) -> bool:
    return any(child.dep_ in _SUBJECTS for child in verb.children)
