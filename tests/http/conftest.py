"""The official SDK, installed by scripts/setup beside the venv (it imports as `recallrai`,
like Recallr's client, so only a process that puts its directory first sees it)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import repo_root

SDK_VERSION = "0.6.6"
SDK_DIR = Path(
    os.environ.get(
        "RECALLR_OFFICIAL_SDK_DIR", repo_root() / ".venv" / f"recallrai-sdk-{SDK_VERSION}"
    )
)
