"""Reading a conversation turn by turn: each turn's sentences (an elliptical answer read
with its question), what their words point at, each clause's draft.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from recallr_server.engine.ingest.extraction.clauses import Clause, clauses_of, has_subject, joined
from recallr_server.engine.ingest.extraction.content import addresses_listener, content_words
from recallr_server.engine.ingest.extraction.dialogue import (
    Question,
    Topics,
    answer_split,
    complete,
    question_of,
    question_verb,
    topics_of,
)
from recallr_server.engine.ingest.extraction.discourse import Discourse, Entity, References
from recallr_server.engine.ingest.extraction.drafts import Draft, draft_of
from recallr_server.engine.ingest.extraction.kinds import Kind
from recallr_server.engine.ingest.extraction.parties import NameIndex, Party, Turn
from recallr_server.engine.ingest.extraction.pipeline import nlp
from recallr_server.engine.ingest.extraction.requests import is_request, requests_in
from recallr_server.engine.temporal import resolve_time_expressions

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span


class Reader:
    """Reads one conversation into drafts, in the order things were said."""

    def __init__(self, names: NameIndex, discourse: Discourse, now: datetime) -> None:
        self._names = names
        self._discourse = discourse
        self._now = now
        self.drafts: list[Draft] = []
        # The draft that first mentioned each entity, which a name given later amends.
        self._introductions: dict[int, Draft] = {}

    def read(self, turns: Sequence[Turn], docs: Sequence[Doc]) -> list[Draft]:
        for turn, doc in zip(turns, docs, strict=True):
            if turn.speaker is self._names.user:
                self._discourse.prescan(doc.sents, turn.speaker)
        asked: tuple[Party, Question] | None = None
        topics: dict[str, Topics] = {}
        for turn, doc in zip(turns, docs, strict=True):
            sentences = list(doc.sents)
            if asked is not None and asked[0] != turn.speaker:
                said = topics.get(turn.speaker.label, Topics())
                sentences = self._answered(asked[1], sentences, said)
            self._read_turn(turn, sentences)
            topics[turn.speaker.label] = topics_of(sentences, self._time_phrases)
            question = question_of(sentences)
            asked = (turn.speaker, question) if question is not None else None
        return self.drafts

    def _read_turn(self, turn: Turn, sentences: Sequence[Span]) -> None:
        turn_drafts: list[Draft] = []
        for sentence in sentences:
            since = self._discourse.clock
            refs = self._discourse.read(sentence, turn.speaker, turn.listener)
            if sentence.text.rstrip().endswith("?"):
                continue
            if refs.naming is not None:
                self._name(*refs.naming)
            pairs = self._sentence_drafts(sentence, turn, refs)
            pairs, requests = self._requests(sentence, turn, refs, pairs)
            for clause, draft in pairs:
                draft.message_id = turn.message_id
                self._join_or_add(clause, draft, turn_drafts, turn.speaker)
            turn_drafts.extend(requests)
            drafted = [draft for _, draft in pairs]
            for entity in self._discourse.entities_introduced(since):
                first = next((d for d in drafted if _mentions(d.text, entity)), None)
                if first is not None:
                    self._introductions.setdefault(id(entity), first)
        self.drafts.extend(turn_drafts)

    def _sentence_drafts(
        self, sentence: Span, turn: Turn, refs: References
    ) -> list[tuple[Clause, Draft]]:
        """The sentence's drafts; a clause that only names an entity gives none."""
        skip = refs.naming is not None
        pairs = _sentence_drafts(sentence, turn.speaker, turn.listener, self._names, refs)
        return [
            (clause, draft)
            for clause, draft in pairs
            if draft is not None and not (skip and _is_naming(clause))
        ]

    def _requests(
        self, sentence: Span, turn: Turn, refs: References, pairs: list[tuple[Clause, Draft]]
    ) -> tuple[list[tuple[Clause, Draft]], list[Draft]]:
        """The user's lasting requests of the assistant, and the sentence's other drafts:
        a request replaces the clause it opens, whose rest is read again on its own
        ("please give me recipes in grams, I don't own measuring cups")."""
        if turn.speaker is not self._names.user or not turn.listener.is_assistant:
            return pairs, []
        requests = requests_in(sentence, turn.speaker, turn.listener)
        kept: list[tuple[Clause, Draft]] = []
        for clause, draft in pairs:
            request = next((r for r in requests if is_request(clause.tokens, clause.root, r)), None)
            if request is None:
                kept.append((clause, draft))
            elif clause.root.i not in request.covers:
                rest = [t for t in clause.tokens if t.i >= request.covers.stop and not t.is_punct]
                trimmed = Clause(rest, clause.root, None)
                again = draft_of(trimmed, turn.speaker, turn.listener, self._names, refs)
                if rest and again is not None:
                    kept.append((trimmed, again))
        drafts = [
            Draft(
                Kind.SELF,
                r.text,
                turn.speaker.key,
                None,
                {"preferences"},
                message_id=turn.message_id,
            )
            for r in requests
        ]
        return kept, drafts

    def _join_or_add(
        self, clause: Clause, draft: Draft, drafts: list[Draft], speaker: Party
    ) -> None:
        before = drafts[-1] if drafts else None
        leans = draft.kind is Kind.CONTINUATION or (
            draft.leaning is not None
            and before is not None
            and draft.about is not None
            and _mentions(before.text, draft.about)
        )
        if leans and before is not None and before.attribute is None:
            # A sentence leaning on the one before ("it was so rewarding") joins the fact
            # it continues instead of standing alone.
            before.text = f"{before.text}; {draft.leaning or draft.text}"
            before.categories |= draft.categories
            return
        if draft.kind is Kind.CONTINUATION:
            # A person's opening sentence of that kind is kept as what they said.
            if (
                speaker.is_person
                and draft.leaning is None
                and (has_subject(clause.root) or clause.shared_subject is not None)
                and not addresses_listener(clause.tokens)
                and content_words(clause.tokens) >= 3
            ):
                draft.text = f"{speaker.label} said that {draft.text}"
                drafts.append(draft)
            return
        drafts.append(draft)

    def _answered(self, question: Question, sentences: list[Span], topics: Topics) -> list[Span]:
        """The turn's sentences, an elliptical answer opening it made a full statement."""
        if not sentences:
            return sentences
        split = answer_split(sentences[0])
        if split is None:
            return sentences
        answer, after = split
        completed = complete(question, answer, topics)
        if completed is None:
            return sentences
        verb = question_verb(question)
        when = next((time for lemma, time in reversed(topics.times) if lemma == verb), None)
        if when is not None and not self._time_phrases(completed):
            # "Where are you moving to?" after "I'm moving house on Saturday": the move
            # the answer places is the one on Saturday.
            completed = f"{completed[:-1]} {when}."
        rest = "".join(t.text_with_ws for t in after).strip(" ,;")
        following = " ".join(s.text for s in sentences[1:])
        text = " ".join(part for part in (completed, _sentence_case(rest), following) if part)
        return list(nlp()(text, disable=["ner"]).sents)

    def _time_phrases(self, text: str) -> list[str]:
        return [mention.text for mention in resolve_time_expressions(text, self._now)]

    def _name(self, entity: Entity, name: str) -> None:
        """ "Her name is Pepper" after "We adopted a dog": "... adopted a dog named Pepper"."""
        draft = self._introductions.get(id(entity))
        if draft is None or entity.noun is None or name in draft.text:
            return
        pattern = re.compile(rf"\b{re.escape(entity.noun)}s?\b", re.IGNORECASE)
        match = pattern.search(draft.text)
        if match is not None:
            draft.text = f"{draft.text[: match.end()]} named {name}{draft.text[match.end() :]}"


def _mentions(text: str, entity: Entity) -> bool:
    words = [w for w in (entity.name, entity.noun) if w]
    return any(re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE) for w in words)


def _is_naming(clause: Clause) -> bool:
    root = clause.root
    return root.lemma_ in ("name", "call") or any(
        c.lemma_ == "name" and c.dep_ in ("nsubj", "nsubjpass") for c in root.children
    )


def _sentence_case(text: str) -> str:
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _sentence_drafts(
    sentence: Span, speaker: Party, listener: Party, names: NameIndex, refs: References
) -> list[tuple[Clause, Draft | None]]:
    """Each clause of the sentence with its draft, None where it is not worth keeping.

    A clause that cannot stand alone stays with its neighbour, as it was said, when a
    conjunction ties them and together they still make a fact: "... and they really liked
    it" with the clause before it, an opening "Losing my job was tough" with the clause
    after it unless that one sets an attribute, which must stay a fact of its own. Clauses
    only set side by side ("I'm so jealous, my landlord doesn't allow pets") stay apart.
    """
    drafted: list[tuple[Clause, Draft | None]] = []
    for clause in clauses_of(sentence):
        draft = draft_of(clause, speaker, listener, names, refs)
        if drafted and _conjoined(drafted[-1][0], clause) and not _is_naming(drafted[-1][0]):
            before, before_draft = drafted[-1]
            weak = draft is None or draft.kind is Kind.CONTINUATION
            opening_weak = before_draft is None and len(drafted) == 1
            if weak or (opening_weak and draft is not None and draft.attribute is None):
                whole = joined(before, clause)
                whole_draft = draft_of(whole, speaker, listener, names, refs)
                if whole_draft is not None:
                    drafted[-1] = (whole, whole_draft)
                    continue
        drafted.append((clause, draft))
    return drafted


def _conjoined(first: Clause, second: Clause) -> bool:
    between = first.root.doc[first.tokens[-1].i + 1 : second.tokens[0].i + 1]
    return any(token.dep_ == "cc" or token.pos_ == "CCONJ" for token in between)
