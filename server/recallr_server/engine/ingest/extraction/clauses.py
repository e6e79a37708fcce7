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
    root = sentence.root
    if root.pos_ not in ("VERB", "AUX"):
        # "I'm doing Duolingo for German, 200 day streak": the parser heads the sentence
        # with the verbless tail; the statement is the clause beside it.
        statement = next(
            (
                child
                for child in root.children
                if child.dep_ in ("ccomp", "parataxis", "advcl")
                and child.pos_ in ("VERB", "AUX")
                and has_subject(child)
            ),
            None,
        )
        if statement is not None:
            return _split(statement, list(statement.subtree), None)
    return [part for clause in _split(root, list(sentence), None) for part in _predicates(clause)]


# Dependents that do not make a predicate say more than one word: "tired and hungry".
_BARE = frozenset({"cc", "punct", "conj", "advmod", "det"})


def _predicates(clause: Clause) -> list[Clause]:
    """A copula's coordinated predicates as clauses of their own, so that each fact can
    change alone: "I'm vegetarian and allergic to shellfish" is a diet and an allergy.
    Bare pairs of words ("tired and hungry", "married and happy") stay one clause."""
    root = clause.root
    inside = {token.i for token in clause.tokens}
    predicate = next(
        (c for c in root.children if c.dep_ in ("acomp", "attr") and c.i in inside), None
    )
    if root.lemma_ != "be" or predicate is None:
        return [clause]
    conjuncts = [c for c in predicate.children if c.dep_ == "conj" and _predicative(c)]
    said = [predicate, *conjuncts]
    if not conjuncts or not any(c.dep_ not in _BARE for p in said for c in p.children):
        return [clause]
    # What follows a conjunct belongs to it, wherever the parser hung it: "to shellfish"
    # of "vegetarian and allergic to shellfish" is often hung on "vegetarian".
    end = predicate.right_edge.i
    starts = [c.left_edge.i for c in conjuncts]
    own = {
        c.i: [t for t in clause.tokens if start <= t.i <= end and t.i < stop]
        for c, start, stop in zip(conjuncts, starts, [*starts[1:], end + 1], strict=True)
    }
    apart = {t.i for tokens in own.values() for t in tokens}
    apart |= {c.i for c in predicate.children if c.dep_ == "cc"}
    lead = [t for t in clause.tokens if t.i < predicate.left_edge.i]
    first = Clause([t for t in clause.tokens if t.i not in apart], root, clause.shared_subject)
    return [first, *(Clause([*lead, *own[c.i]], root, clause.shared_subject) for c in conjuncts)]


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
        if not has_subject(part) and part.lemma_ != "let":
            earlier = [(i, found) for i, found in subjects if i < part.i and found is not None]
            inherited = max(earlier, key=lambda pair: pair[0], default=(head.i, subject))[1]
        words = list(part.subtree)
        while words[0].is_punct or words[0].dep_ == "cc":
            words.pop(0)  # "- might be", "but I hate"
        clauses += _split(part, words, inherited)
    return sorted(clauses, key=lambda clause: clause.root.i)


def _predicative(token: Token) -> bool:
    """An adjective, or a noun with its article ("a mother of two"): a noun without one
    is often a verb the tagger missed ("is a vet and lives in Cork")."""
    return token.pos_ == "ADJ" or (
        token.pos_ == "NOUN" and any(c.dep_ == "det" for c in token.children)
    )


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
        coordinated = any(c.dep_ == "cc" for m in (head, *head.conjuncts) for c in m.children)
        has_dependents = any(c.dep_ not in ("cc", "punct") for c in child.children)
        if not coordinated and child.lemma_ in _REMARKS and _after_comma(child):
            # Without a conjunction ("I start at the museum next week, wish me luck") the
            # parser has joined a remark of its own, which must not ride along.
            return True
        if subject is None or not coordinated or not has_dependents:
            return False
        if child.pos_ in ("VERB", "AUX"):
            return _parallel_predicates(head, child)
        # The tagger can take a second verb for a noun ("... and work at Acme"): a
        # conjunct of a verb that reads as a plain predicate is one.
        words = list(child.subtree)
        lowered = [word.lower_ for word in words]
        return words[0] == child and statement_predicate(words, lowered, 0, False) is not None
    verbal = child.pos_ in ("VERB", "AUX") or (child.pos_ == "NOUN" and has_subject(child))
    if not verbal or child.dep_ not in ("ccomp", "parataxis", "advcl"):
        return False  # (a noun with a subject is a verb the tagger missed: "I have type 1 ...")
    if child.i < head.i:
        return _spliced_before(head, child)
    return _spliced_after(child)


# Verbs of remarks a speaker adds to a statement: "wish me luck", "see you there".
_REMARKS = frozenset({"wish", "see", "let", "come", "guess", "imagine", "hope", "thank", "say"})
# Verbs that, said of oneself after a comma, hedge what comes before: "I live here, I think".
_PARENTHETICAL = frozenset({"think", "guess", "suppose", "believe", "reckon", "bet", "know"})
# Conjunctions that make a clause part of another: a condition, a time, a reason.
_SUBORDINATORS = frozenset(
    {"if", "when", "while", "because", "although", "though", "unless", "since", "after"}
    | {"before", "as", "once", "until", "till", "whether", "whenever", "where", "cause"}
)
_PURPOSE_MODALS = frozenset({"can", "could", "will", "would", "'ll", "'d", "might", "may"})


def _spliced_before(head: Token, child: Token) -> bool:
    """A clause before the head one, joined by a comma or semicolon: two statements.

    "I live in Paris; I'm allergic to peanuts" and "I went hiking, my legs are destroyed"
    parse the first clause as a complement of the second; "I live here, I think" must stay
    whole, and so must a condition or a time before its clause ("If it rains, we stay").
    """
    if _subordinator(child) is not None or not (has_subject(child) or child.lemma_ == "let"):
        return False
    separator = head.doc[child.right_edge.i + 1].text
    if separator == ";":
        return True
    hedge = head.lemma_ in _PARENTHETICAL and not any(
        c.dep_ not in _NOT_COMPLEMENTS for c in head.children if c.i > head.i
    )
    return separator == "," and has_subject(head) and not hedge


def _spliced_after(child: Token) -> bool:
    """A clause after a comma, or a consequence after "so", is a statement of its own:
    "I have diabetes, so I need snacks". A purpose is not ("so I can take it along")."""
    mark = _subordinator(child)
    if not has_subject(child):
        # "I don't drink alcohol, so suggest places with mocktails": a request after a
        # statement is not part of it.
        return mark == "so" and child.tag_ == "VB"
    if mark == "so":
        return not any(c.lower_ in _PURPOSE_MODALS for c in child.children if c.dep_ == "aux")
    before = child.doc[child.left_edge.i - 1] if child.left_edge.i > 0 else None
    return mark is None and before is not None and before.text in (",", ";")


def _after_comma(token: Token) -> bool:
    start = token.left_edge.i
    return start > 0 and token.doc[start - 1].text in (",", ";")


def _subordinator(verb: Token) -> str | None:
    """The conjunction that ties the clause to another ("so", "if", ...), if any."""
    for child in verb.children:
        if child.i < verb.i and child.dep_ in ("mark", "advmod") and child.lower_ == "so":
            return "so"
        if child.dep_ == "mark" and child.lower_ in _SUBORDINATORS:
            return child.lower_
    return None


def has_subject(verb: Token) -> bool:
    return any(child.dep_ in _SUBJECTS for child in verb.children)
