"""Lexical search: English word stems and an Okapi BM25 index that grows in place.

Documents get stable integer positions. Removing one only marks it dead, so an index can
follow a user's corpus with small deltas; the owner rebuilds it when dead documents pile
up (`dead_fraction`). Document frequencies count dead documents until then, which shifts
scores slightly and never changes which documents match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import Stemmer
from numpy.typing import NDArray

Scores = NDArray[np.float64]

# Okapi BM25 as usually tuned for short documents.
K1 = 1.2
B = 0.75

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Function words, pronouns and chat filler: they match everything and mean nothing.
_STOPWORD_LIST = """a about above after again against all also am an and any are as at be because
    been before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves ok okay oh hey hi yeah yes wow really thanks thank im ive dont that's
    it's i'm i've i'll you're don't get got go going went lot lots like know think so well
    did does much many thing things one sure"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65_536)
def stem_of(word: str) -> str:
    stem: str = _stemmer.stemWord(word)
    return stem


def words(text: str) -> list[str]:
    """The content words of `text`, lowercased, possessives dropped, in order."""
    found = []
    for word in _WORD.findall(text.lower()):
        word = word.removesuffix("'s")
        if word not in STOPWORDS and len(word) > 1:
            found.append(word)
    return found


def terms(text: str) -> list[str]:
    """The index terms of `text`: its content words, stemmed."""
    return [stem_of(word) for word in words(text)]


class BM25Index:
    def __init__(self) -> None:
        self._postings: dict[str, tuple[list[int], list[int]]] = {}
        # Per-term arrays, built on first use and dropped when the term's postings grow.
        self._arrays: dict[str, tuple[NDArray[np.intp], NDArray[np.float64]]] = {}
        self._lengths: list[int] = []
        self._alive: list[bool] = []
        self._dead = 0
        self._total_length = 0
        self._length_array: NDArray[np.float64] | None = None
        self._alive_array: NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return len(self._lengths)

    @property
    def dead_fraction(self) -> float:
        return self._dead / len(self._lengths) if self._lengths else 0.0

    def add(self, document_terms: Sequence[str]) -> int:
        """Adds a document; returns its position."""
        position = len(self._lengths)
        for term, count in Counter(document_terms).items():
            documents, counts = self._postings.setdefault(term, ([], []))
            documents.append(position)
            counts.append(count)
            self._arrays.pop(term, None)
        self._lengths.append(len(document_terms))
        self._alive.append(True)
        self._total_length += len(document_terms)
        self._length_array = self._alive_array = None
        return position

    def remove(self, position: int) -> None:
        if self._alive[position]:
            self._alive[position] = False
            self._dead += 1
            self._alive_array = None

    def alive(self) -> NDArray[np.bool_]:
        """Which positions hold a document that has not been removed."""
        if self._alive_array is None:
            self._alive_array = np.asarray(self._alive, dtype=np.bool_)
        return self._alive_array

    def idf(self, term: str) -> float:
        """BM25's (always positive) inverse document frequency; 0 for an unknown term."""
        postings = self._postings.get(term)
        if postings is None:
            return 0.0
        frequency = len(postings[0])
        return float(np.log1p((len(self._lengths) - frequency + 0.5) / (frequency + 0.5)))

    def scores(self, query: Mapping[str, float]) -> tuple[Scores, Scores]:
        """BM25 scores of every position for weighted query terms, and the matched share.

        The share is the fraction of the query's IDF-weighted mass that a document
        contains: 1.0 when it has every query term, whatever their frequencies. Dead
        documents score 0 on both.
        """
        count = len(self._lengths)
        scores = np.zeros(count)
        matched = np.zeros(count)
        if count == 0:
            return scores, matched
        if self._length_array is None:
            self._length_array = np.asarray(self._lengths, dtype=np.float64)
        normaliser = K1 * (1 - B + B * self._length_array / max(self._total_length / count, 1.0))
        total_mass = 0.0
        # A term no document has counts as the rarest possible: a query whose other
        # words are unknown is not matched in full by a text with its one known word.
        unseen_idf = float(np.log1p((count + 0.5) / 0.5))
        for term, weight in query.items():
            idf = self.idf(term)
            total_mass += weight * (idf or unseen_idf)
            if idf == 0.0:
                continue
            documents, frequencies = self._postings_array(term)
            scores[documents] += (
                weight * idf * frequencies * (K1 + 1) / (frequencies + normaliser[documents])
            )
            matched[documents] += weight * idf
        if total_mass > 0:
            matched /= total_mass
        if self._dead:
            dead = ~self.alive()
            scores[dead] = 0.0
            matched[dead] = 0.0
        return scores, matched

    def _postings_array(self, term: str) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        arrays = self._arrays.get(term)
        if arrays is None:
            documents, counts = self._postings[term]
            arrays = (np.asarray(documents, dtype=np.intp), np.asarray(counts, dtype=np.float64))
            self._arrays[term] = arrays
        return arrays


def weighted_terms(texts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Query term weights from texts of different importance; a term keeps its best weight."""
    weights: dict[str, float] = {}
    for text, weight in texts:
        for term in terms(text):
            weights[term] = max(weights.get(term, 0.0), weight)
    return weights
