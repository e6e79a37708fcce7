"""The OpenAPI document of the HTTP API, generated from the routes' declared schemas.

`python -m recallr_server.http.openapi` rewrites the committed copy beside this module
(scripts/generate runs it, and scripts/check fails when the copy is stale); the server
serves the same document at /openapi.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from recallr_server.http import application

DOCUMENT = Path(__file__).with_name("openapi.json")


def document() -> dict[str, Any]:
    spec: dict[str, Any] = application.build(None).openapi()
    return spec


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCUMENT
    target.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
