"""English verb and noun forms the rewriting needs: the third person, the past, the plural.

The small pipeline lemmatises but does not inflect, and the forms needed are few: the
irregular verbs of everyday talk, and the regular rules for the rest.
"""

from __future__ import annotations

import re

_IRREGULAR_THIRD_PERSON = {"be": "is", "have": "has", "do": "does", "go": "goes", "wanna": "wants"}
_IRREGULAR_PAST = {
    "be": "was", "have": "had", "do": "did", "go": "went", "make": "made", "get": "got",
    "take": "took", "give": "gave", "see": "saw", "come": "came", "buy": "bought",
    "bring": "brought", "think": "thought", "teach": "taught", "catch": "caught",
    "find": "found", "feel": "felt", "keep": "kept", "leave": "left", "meet": "met",
    "run": "ran", "swim": "swam", "sing": "sang", "begin": "began", "write": "wrote",
    "read": "read", "eat": "ate", "drink": "drank", "drive": "drove", "ride": "rode",
    "fly": "flew", "grow": "grew", "know": "knew", "say": "said", "tell": "told",
    "sell": "sold", "send": "sent", "spend": "spent", "build": "built", "lose": "lost",
    "win": "won", "sit": "sat", "stand": "stood", "break": "broke", "choose": "chose",
    "fall": "fell", "forget": "forgot", "hear": "heard", "hold": "held", "put": "put",
    "set": "set", "cut": "cut", "hit": "hit", "quit": "quit", "let": "let", "pay": "paid",
    "lay": "laid", "wear": "wore", "speak": "spoke", "steal": "stole", "wake": "woke",
    "bake": "baked", "sleep": "slept", "draw": "drew", "understand": "understood",
    "tear": "tore", "shake": "shook", "throw": "threw", "hang": "hung",
    "bite": "bit", "hide": "hid", "light": "lit", "feed": "fed", "lend": "lent",
}  # fmt: skip
# Past forms that are not also base forms ("put", "quit" are both).
IRREGULAR_PAST_FORMS = frozenset(
    form for lemma, form in _IRREGULAR_PAST.items() if form != lemma and not form.endswith("ed")
)
# Verbs whose past is their base form: the tag cannot tell "I quit" now from then.
SAME_FORM_PAST = frozenset(lemma for lemma, form in _IRREGULAR_PAST.items() if form == lemma)
_UNCOUNTED = frozenset({"fish", "sheep", "deer", "series", "species", "people", "children"})
_IRREGULAR_PLURAL = {
    "child": "children", "person": "people", "man": "men", "woman": "women",
    "foot": "feet", "tooth": "teeth", "mouse": "mice", "goose": "geese",
}  # fmt: skip


def third_person(lemma: str, written: str | None = None) -> str:
    """The third-person singular present of a verb: "goes", "watches", "tries"."""
    verb = (written or lemma).lower()
    if lemma in _IRREGULAR_THIRD_PERSON:
        return _IRREGULAR_THIRD_PERSON[lemma]
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def past_tense(lemma: str) -> str:
    """The simple past of a verb: "made", "started", "tried", "stopped"."""
    verb = lemma.lower()
    if verb in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ied"
    if re.search(r"^[^aeiou]*[aeiou][bdgmnpt]$", verb):
        return verb + verb[-1] + "ed"  # "stop", "plan": one syllable, doubled
    return verb + "ed"


def plural(noun: str) -> str:
    """The plural of a count noun: "mistakes", "boxes", "parties", "children"."""
    lowered = noun.lower()
    if lowered in _UNCOUNTED or (lowered.endswith("s") and not lowered.endswith("ss")):
        return noun
    if lowered in _IRREGULAR_PLURAL:
        return _IRREGULAR_PLURAL[lowered]
    if re.search(r"(?:s|sh|ch|x|z)$", lowered):
        return noun + "es"
    if re.search(r"[^aeiou]y$", lowered):
        return noun[:-1] + "ies"
    return noun + "s"
