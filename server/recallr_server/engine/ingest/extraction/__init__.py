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

from recallr_server.engine.ingest.extraction.attributes import canonical_attribute_key
from recallr_server.engine.ingest.extraction.facts import Fact, extract_facts
from recallr_server.engine.ingest.extraction.parties import Cast, speaker_names

__all__ = ["Cast", "Fact", "canonical_attribute_key", "extract_facts", "speaker_names"]
