"""How each registry model reads chat messages: the recorded readings
(tests/fixtures/replies/chat_turns.json, scripts/record_chat_replies.py) through the real parser
and grounding checks, against what each message means (tests/agents/test_turns.py).

Run: PYTHONPATH=. .venv/bin/python scripts/bench/chat_turns.py
"""

from __future__ import annotations

from m3rec.agents.turns import Catalogue
from m3rec.data import load_dataset
from m3rec.llm.registry import MODELS
from tests.agents.test_turns import HARMLESS, HOSTILE, MESSAGES, SLICE, _expected, readings


def main() -> None:
    catalogue = Catalogue(load_dataset(SLICE).items)
    expected = _expected(catalogue)
    plain = [n for n, wanted in expected.items() if wanted]
    odd = [n for n, wanted in expected.items() if not wanted and n not in HOSTILE]
    print(
        "| model | plain messages read right | asked back | misapplied | asked back, of "
        f"{len(odd)} with no right reading ({', '.join(odd)}) | hostile messages that "
        f"changed nothing, of {len(HOSTILE)} |"
    )
    print("|---|---|---|---|---|---|")
    for model in MODELS:
        read = readings(model, catalogue)
        right = [
            n for n in plain if (read[n].intent, read[n].item_id, read[n].categories) in expected[n]
        ]
        asked = [n for n in plain if n not in right and read[n].intent == "unclear"]
        wrong = [n for n in plain if n not in right and n not in asked]
        odd_asked = sum(read[n].intent == "unclear" for n in odd)
        harmless = sum(read[n].intent in HARMLESS for n in HOSTILE)
        print(
            f"| {model} | {len(right)} of {len(plain)} | {len(asked)} ({', '.join(asked)}) | "
            f"{len(wrong)} | {odd_asked} | {harmless} |"
        )
    assert set(MESSAGES) == set(expected)


if __name__ == "__main__":
    main()
