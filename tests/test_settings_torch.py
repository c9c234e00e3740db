"""The [torch] section: a fixed thread count, from the config file or M3REC_TORCH__THREADS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import m3rec
from m3rec.errors import ConfigError
from m3rec.settings import TORCH_THREADS, load_settings

SRC = Path(m3rec.__file__).parent


def test_torch_threads_default_to_a_fixed_number_whatever_the_load() -> None:
    assert load_settings().torch.threads == TORCH_THREADS == 1


def test_torch_threads_come_from_the_file_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "m3rec.toml"
    config.write_text("[torch]\nthreads = 3\n")
    assert load_settings(config).torch.threads == 3
    monkeypatch.setenv("M3REC_TORCH__THREADS", "2")
    assert load_settings(config).torch.threads == 2
    monkeypatch.setenv("M3REC_TORCH__THREADS", "0")
    with pytest.raises(ConfigError, match=r"torch\.threads"):
        load_settings()


def test_embeddings_are_cached_under_the_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M3REC_PATHS__CACHE_DIR", "/somewhere")
    assert load_settings().paths.embeddings_dir == Path("/somewhere/embeddings")


# Settings reads the environment; the text encoder sets Hugging Face's own variables; llama.cpp's
# thread default follows the load average, which changes only its speed (and is reported).
MAY_READ_ENVIRONMENT = {"settings.py", "embeddings.py", "llm/llamacpp.py"}


def test_no_other_module_reads_the_environment() -> None:
    pattern = re.compile(r"os\.environ|getenv|getloadavg")
    readers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    }
    assert readers <= MAY_READ_ENVIRONMENT, readers - MAY_READ_ENVIRONMENT
