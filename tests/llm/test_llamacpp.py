"""The in-process llama.cpp backend with the real tiny GGUF model."""

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.llamacpp import LlamaCppBackend, available_cores

pytestmark = pytest.mark.llm


class City(BaseModel):
    name: str = Field(min_length=1)
    country: str
    population_millions: float


@pytest.fixture(scope="module")
def tiny(smollm2_path: Path) -> LlamaCppBackend:
    backend = LlamaCppBackend(smollm2_path, model_name="smollm2-135m", n_ctx=1024, max_tokens=64)
    yield backend
    backend.close()


def test_returns_a_schema_valid_object(tiny: LlamaCppBackend) -> None:
    messages = [
        ChatMessage("user", "Name a large city as JSON: name, country, population_millions.")
    ]
    result = structured(tiny, messages, City)
    assert isinstance(result.value, City)
    assert result.usage.calls == 1  # grammar-constrained: no repair needed
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_uses_all_available_cores_and_reports_cpu(tiny: LlamaCppBackend) -> None:
    described = tiny.describe()
    assert described["n_threads"] == available_cores()
    assert described["device"] == "CPU"
    assert described["model"] == "smollm2-135m"


def test_free_text_respects_max_tokens(tiny: LlamaCppBackend) -> None:
    reply = tiny.complete([ChatMessage("user", "Tell me a long story.")], max_tokens=5)
    assert reply.completion_tokens <= 5
    assert reply.finish_reason == "length"


def test_same_seed_same_answer(tiny: LlamaCppBackend) -> None:
    messages = [ChatMessage("user", "Name a city as JSON: name, country, population_millions.")]
    first = structured(tiny, messages, City).raw_replies
    second = structured(tiny, messages, City).raw_replies
    assert first == second
