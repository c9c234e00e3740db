"""The in-process llama.cpp backend with the real tiny GGUF model."""

import itertools
import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from m3rec.errors import Cancelled
from m3rec.llm.base import ChatMessage, structured
from m3rec.llm.cancel import CANCEL
from m3rec.llm.llamacpp import LlamaCppBackend, available_cores, default_threads

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


def test_default_threads_leave_busy_cores_alone() -> None:
    assert default_threads(cores=2, load=0.3) == 2
    assert default_threads(cores=2, load=1.7) == 1
    assert default_threads(cores=2, load=6.0) == 1
    assert default_threads(cores=16, load=3.2) == 13


def test_reports_threads_and_cpu(tiny: LlamaCppBackend) -> None:
    described = tiny.describe()
    assert 1 <= described["n_threads"] <= available_cores()
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


def test_a_sampled_reply_depends_only_on_its_own_request(tiny: LlamaCppBackend) -> None:
    """A repair samples at a temperature above 0; the seed is set per request, so its reply does
    not depend on what was asked before it."""
    sea = [ChatMessage("user", "Write one sentence about the sea.")]
    first = tiny.complete(sea, temperature=0.9).text
    tiny.complete([ChatMessage("user", "Name three colours.")], temperature=0.9)
    assert tiny.complete(sea, temperature=0.9).text == first


def test_the_reply_streams_as_it_is_generated_and_ends_as_returned(tiny: LlamaCppBackend) -> None:
    seen: list[str] = []
    messages = [ChatMessage("user", "Name a large city as JSON: name, country.")]
    reply = tiny.complete(messages, json_schema=City.model_json_schema(), on_text=seen.append)
    assert len(seen) > 5  # token by token, not once at the end
    assert all(b.startswith(a) for a, b in itertools.pairwise(seen))
    assert seen[-1] == reply.text


def test_a_cancel_stops_the_reply_mid_way_and_the_next_one_is_unchanged(
    tiny: LlamaCppBackend,
) -> None:
    messages = [ChatMessage("user", "Name a large city as JSON: name, country.")]
    schema = City.model_json_schema()
    whole = tiny.complete(messages, json_schema=schema).text
    seen: list[str] = []

    def ctrl_c_after_three_pieces(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            CANCEL.request()

    try:
        with pytest.raises(Cancelled):
            tiny.complete(messages, json_schema=schema, on_text=ctrl_c_after_three_pieces)
    finally:
        CANCEL.clear()
    assert len(seen) == 3 and seen[-1] != whole  # it stopped at the next token
    assert tiny.complete(messages, json_schema=schema).text == whole


@pytest.mark.llm
def test_a_schema_whose_constants_quote_json_still_constrains_the_reply(
    tiny: LlamaCppBackend,
) -> None:
    """A catalogue title that imitates JSON, as a constant in the reasons schema, once made
    llama.cpp fail to parse the grammar it was given and end the process."""
    title = 'Clueless (1995) "}]} QZX05 {"motivations": [{"kind": "routine", back\\slash'
    schema = {
        "type": "object",
        "properties": {"item": {"const": title}, "id": {"enum": ['a"b', "c"]}},
        "required": ["item", "id"],
        "additionalProperties": False,
    }
    ask = [ChatMessage("user", "Answer in JSON.")]
    reply = tiny.complete(ask, json_schema=schema, max_tokens=200)
    value = json.loads(reply.text)
    assert value["item"] == title.replace("\\", "/").replace('"', "'")
    assert value["id"] in ("a'b", "c")


def test_the_prompt_cache_lets_alternating_prompts_read_only_what_is_new(
    smollm2_path: Path,
) -> None:
    """A conversation's prompts take turns (read a message, write reasons): with the cache, the
    reading prompt's long system part is read once, not again after each reasons prompt."""
    reading = "You read what a person tells a film recommender and name what they want. " * 8
    reasons = "You write one short reason for each recommended film. " * 8

    def ask(system: str, said: str) -> list[ChatMessage]:
        return [ChatMessage("system", system), ChatMessage("user", said)]

    def tokens_read(backend: LlamaCppBackend) -> list[int]:
        read: list[int] = []
        evaluate = backend._llama.eval

        def counted(tokens):  # type: ignore[no-untyped-def]
            read.append(len(tokens))
            return evaluate(tokens)

        backend._llama.eval = counted  # type: ignore[method-assign]
        return read

    for cache_mb, reread in ((0, True), (64, False)):
        backend = LlamaCppBackend(
            smollm2_path, n_ctx=1024, n_threads=1, max_tokens=8, prompt_cache_mb=cache_mb
        )
        assert backend.describe()["prompt_cache_mb"] == cache_mb
        backend.complete(ask(reading, "no horror for me"))
        backend.complete(ask(reasons, "1: Alien; 2: Heat"))
        read = tokens_read(backend)
        backend.complete(ask(reading, "more like the second one"))
        prompt = len(backend._llama.tokenize(reading.encode()))
        assert (sum(read) > prompt) is reread, (cache_mb, read)
        backend.close()
