"""What a chat message asks for: a slash command is read as written; anything else is read by
the LLM under a schema (prompt `chat/v1`) and then checked against the list shown and the
catalogue, so a turn names only items and categories that exist. A turn that cannot be
checked becomes a question back, never a guess."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from m3rec import prompts
from m3rec.agents.profile_checks import content_words, words
from m3rec.data.types import Item
from m3rec.errors import Usage
from m3rec.llm.base import LLMBackend, structured
from m3rec.schemas import CHAT_INTENTS, CHAT_TEXT_MAX

PROMPT = ("chat", "v1")
MESSAGE_CHARS = 600  # what the LLM reads of one message
_ITEM_CHARS = 80
_REPLY_TOKENS = 120  # the longest reply the schema allows, at most a token a character, fits
# What a person may call a MovieLens genre; the catalogue's own names match as they are.
_ALIASES = {
    "science fiction": "sci-fi",
    "scifi": "sci-fi",
    "kid": "children's",
    "children": "children's",
    "cartoon": "animation",
    "animated": "animation",
    "scary": "horror",
    "romantic": "romance",
    "funny": "comedy",
    "noir": "film-noir",
    "documentarie": "documentary",
}
_NUMBER = re.compile(r"^#?\s*(\d{1,3})\.?$")
_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
)  # fmt: skip
# What reads as instructions to the recommender rather than a person's wish: a role turn, an
# "ignore the instructions" (in six languages), the reply's own keys, a prompt's data markers
# or template fields, an order for every user. ("Everyone" alone is a person's word: "a film
# everyone in my family can watch".)
_INSTRUCTIONS = re.compile(
    r"(^|\n)\s*\[?(system|assistant|user|developer)\]?\s*:|\[(system|assistant)\]"
    r"|<\|?im_(start|end)\|?>|\"(intent|item|text)\"\s*:|<{3,}|>{3,}|\{\{|\}\}"
    r"|\b(ignore|ignorez|ignora|ignorar|ignoriere|disregard)\b|игнорир|忽略|无视"
    r"|\b(system prompt|you are now|new rules?|every user|all users|todos los usuarios)\b",
    re.IGNORECASE,
)
_RESTART_WORDS = ("start over", "start again", "restart", "reset", "from scratch", "begin again")
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")

HELP = (
    "/help  this list\n"
    "/list  the list again\n"
    "/profile  your motivations, with their dates and sources\n"
    "/why N  why item N of the list was shown\n"
    "/more N  more items like item N\n"
    "/no KIND  no more items of that category (for example /no horror)\n"
    "/forget LABEL  drop one of your motivations\n"
    "/restart  drop what this conversation said and start over\n"
    "/quit  leave (Ctrl-D too); the thread is kept\n"
    "Or say it in words: 'more like the second one', 'no horror', 'a gift for my sister who "
    "loves jazz', 'why the first one?'"
)


class TurnReply(BaseModel):
    """The LLM's reading of a message."""

    intent: str
    item: str = ""
    text: str = ""


@dataclass(frozen=True)
class Turn:
    """A checked turn: the intent; the item it names (a catalogue id); its text (a direction,
    a purpose, a motivation to forget); the categories it excludes; the question to ask back
    when it could not be read; whether a command or the LLM read it, and the LLM's cost."""

    intent: str
    item_id: str | None = None
    text: str = ""
    categories: tuple[str, ...] = ()
    question: str = ""
    source: str = "command"
    usage: Usage = field(default_factory=Usage)


class Catalogue:
    """The catalogue as turns name it: items by title, category names by their words."""

    def __init__(self, items: Mapping[str, Item]) -> None:
        self.items = items
        self._titles: dict[str, list[str]] = {}
        names: set[str] = set()
        for item_id, item in items.items():
            self._titles.setdefault(_title_key(item.title), []).append(item_id)
            names.update(item.category_names())
        self.categories = sorted(names)
        self._category_words = {name: tuple(words(name)) for name in self.categories}

    def find_title(self, text: str, among: Sequence[str] | None = None) -> list[str]:
        """Return the items whose title TEXT names: an exact title (year aside) first, else the
        titles that hold every word of TEXT; only AMONG these ids when given."""
        key = _title_key(text)
        pool = list(among) if among is not None else None
        exact = [i for i in self._titles.get(key, []) if pool is None or i in pool]
        if exact or not key:
            return exact
        wanted = set(words(key))
        ids = pool if pool is not None else list(self.items)
        return [i for i in ids if wanted <= set(words(self.items[i].title))]

    def resolve(self, text: str, most: int = 5) -> list[str]:
        """Return the items a person may mean by TEXT, best first: titles that are TEXT (year
        aside) or hold all its words, else the titles closest in spelling ("Termintor")."""
        found = self.find_title(text)
        if not found and (key := _title_key(text)):
            close = difflib.get_close_matches(key, list(self._titles), n=most, cutoff=0.75)
            found = [i for title in close for i in self._titles[title]]
        if (year := _YEAR.search(text)) and len(found) > 1:  # "Alien (1979)", not "Aliens"
            found = [i for i in found if year.group(0).strip() in self.items[i].title] or found
        return found[:most]

    def find_categories(self, text: str) -> tuple[str, ...]:
        """Return the catalogue's category names TEXT names ("no horror films": Horror)."""
        said = " ".join(words(text))
        for alias, name in _ALIASES.items():
            said = re.sub(rf"\b{re.escape(alias)}\b", name, said)
        said_words = set(words(said)) | content_words(said)
        found = []
        for name, name_words in self._category_words.items():
            if name_words and set(name_words) <= said_words:
                found.append(name)
        return tuple(found)

    def in_categories(self, item_id: str, categories: Sequence[str]) -> bool:
        """Return whether ITEM_ID has any of CATEGORIES."""
        wanted = set(categories)
        return bool(wanted & set(self.items[item_id].category_names()))


def read_command(message: str, shown: Sequence[str], catalogue: Catalogue) -> Turn | None:
    """Return the turn a slash command asks for; None when MESSAGE is not a command."""
    text = message.strip()
    if not text.startswith("/"):
        return None
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name in ("help", "h", "?"):
        return Turn("help")
    if name in ("quit", "exit", "q"):
        return Turn("quit")
    if name == "profile":
        return Turn("profile")
    if name == "list":
        return Turn("list")
    if name == "restart":
        return Turn("restart")
    if name in ("why", "more"):
        intent = "why" if name == "why" else "more_like"
        return _checked(TurnReply(intent=intent, item=rest), shown, catalogue, "command")
    if name == "no":
        return _checked(TurnReply(intent="exclude", text=rest), shown, catalogue, "command")
    if name == "forget":
        return _checked(TurnReply(intent="forget", text=rest), shown, catalogue, "command")
    return Turn("unclear", question=f"there is no command /{name}: /help lists them")


def understand(llm: LLMBackend, message: str, shown: Sequence[str], catalogue: Catalogue) -> Turn:
    """Return what MESSAGE asks for: a command as written, else the LLM's reading of it,
    checked. SHOWN: the ids of the list on screen, in order."""
    if command := read_command(message, shown, catalogue):
        return command
    if not message.strip():
        return Turn("unclear", question="say what you would like, or /help")
    shown_as = prompts.data_text(message, len(message) + 3)  # zero-width characters gone
    if _INSTRUCTIONS.search(message) or _INSTRUCTIONS.search(shown_as):
        return Turn(
            "unclear",
            question="that reads like instructions to the recommender: say what you would "
            "like in your own words",
        )
    result = structured(
        llm,
        turn_messages(message, [catalogue.items[i].title for i in shown]),
        TurnReply,
        json_schema=turn_schema(),
        max_tokens=_REPLY_TOKENS,
    )
    grounded = ground(result.value, message, shown, catalogue)
    turn = (
        _checked(grounded, shown, catalogue, "llm")
        if isinstance(grounded, TurnReply)
        else Turn("unclear", question=grounded, source="llm")
    )
    return Turn(
        turn.intent,
        turn.item_id,
        turn.text,
        turn.categories,
        turn.question,
        turn.source,
        result.usage,
    )


def turn_messages(message: str, shown_titles: Sequence[str]) -> list[Any]:
    """Return the chat asking the LLM to read MESSAGE, with the titles of the list shown."""
    listed = "\n".join(
        f"{n}. {prompts.data_text(t, _ITEM_CHARS)}" for n, t in enumerate(shown_titles, 1)
    )
    return prompts.render(
        *PROMPT,
        shown=listed or "(nothing yet)",
        message=prompts.data_text(message, MESSAGE_CHARS),
    ).messages


def turn_schema() -> dict[str, Any]:
    """Return the generation schema: an intent of the closed set, an item, a short text."""
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": list(CHAT_INTENTS)},
            "item": {"type": "string", "maxLength": _ITEM_CHARS},
            "text": {"type": "string", "maxLength": CHAT_TEXT_MAX},
        },
        "required": ["intent", "item", "text"],
        "additionalProperties": False,
    }


def ground(
    reply: TurnReply, message: str, shown: Sequence[str], catalogue: Catalogue
) -> TurnReply | str:
    """Return the LLM's reading with every slot taken from MESSAGE itself, or the question to
    ask when a slot is not there: an item the message names by its number, an ordinal or its
    title; categories the message names; a direction, purpose or motivation in its words;
    starting over only when the message says so. A reading that copies the prompt's examples,
    or guesses, comes back as a question, not as a turn."""
    said = set(words(message))
    intent = reply.intent
    if intent in ("more_like", "why", "why_not"):
        item = _named_item(reply.item, said, shown, catalogue)
        if item is None:
            return "which item do you mean? give its number in the list, or its title"
        return TurnReply(intent=intent, item=item)
    if intent == "exclude":
        categories = catalogue.find_categories(message)
        if not categories:
            some = ", ".join(catalogue.categories[:12])
            return f"which kind of item should go? name a category, such as {some}"
        return TurnReply(intent=intent, text="; ".join(categories))
    if intent in ("different", "purpose", "forget"):
        text = content_words(reply.text)
        if not text or len(text & (said | content_words(message))) * 2 < len(text):
            return _ASK[intent]
        return reply
    if intent == "restart" and not any(w in message.lower() for w in _RESTART_WORDS):
        return "start over? say 'start over' (or /restart) to drop what this thread said"
    return reply


def _named_item(
    item: str, said: set[str], shown: Sequence[str], catalogue: Catalogue
) -> str | None:
    """Return ITEM (a list number, or a title) if the message's words SAID name it."""
    item = item.strip()
    if number := _NUMBER.match(item):
        n = int(number.group(1))
        named = str(n) in said or (n <= len(_ORDINALS) and _ORDINALS[n - 1] in said)
        named = named or (n == len(shown) and "last" in said)
        if 1 <= n <= len(shown):
            named = named or _names(catalogue.items[shown[n - 1]].title, said)
        return str(n) if named else None
    return item if _names(item, said) else None


def _names(title: str, said: set[str]) -> bool:
    """Whether the words SAID hold at least half of TITLE's words (its year aside)."""
    wanted = content_words(_YEAR.sub("", title))
    return bool(wanted) and len(wanted & said) * 2 >= len(wanted)


def _checked(reply: TurnReply, shown: Sequence[str], catalogue: Catalogue, source: str) -> Turn:
    intent = reply.intent if reply.intent in CHAT_INTENTS else "unclear"
    text = " ".join(reply.text.split())[:CHAT_TEXT_MAX]
    if intent in ("more_like", "why", "why_not"):
        found = _item(reply.item, shown, catalogue, in_list=intent != "why_not")
        if isinstance(found, str) and found in catalogue.items:
            return Turn(intent, item_id=found, source=source)
        return Turn("unclear", question=found or "which item? give its number in the list")
    if intent == "exclude":
        categories = catalogue.find_categories(text)
        if not categories:
            some = ", ".join(catalogue.categories[:12])
            return Turn(
                "unclear",
                question=f"no category of this catalogue is called '{text}': try one of {some}",
            )
        return Turn(intent, text=text, categories=categories, source=source)
    if intent in ("different", "purpose", "forget"):
        if len(content_words(text)) == 0:
            return Turn("unclear", question=_ASK[intent])
        return Turn(intent, text=text, source=source)
    if intent == "unclear":
        return Turn(
            intent,
            question="I did not follow: say what you would like more or less of, or /help",
            source=source,
        )
    return Turn(intent, source=source)


_ASK = {
    "different": "different in what way? for example 'something lighter'",
    "purpose": "what is it for? for example 'a gift for my brother who cooks'",
    "forget": "which motivation? /profile lists them",
}


def _item(said: str, shown: Sequence[str], catalogue: Catalogue, *, in_list: bool) -> str | None:
    """Return the item id SAID names (a number of the list shown, or a title), or the question
    to ask back (a string that is no id), or None when nothing was said."""
    said = said.strip()
    if not said:
        return None
    if number := _NUMBER.match(said):
        n = int(number.group(1))
        if 1 <= n <= len(shown):
            return shown[n - 1]
        return f"the list has {len(shown)} items: give a number from 1 to {len(shown)}"
    found = catalogue.find_title(said, shown) if in_list else []
    found = found or catalogue.find_title(said)
    if len(found) == 1:
        return found[0]
    if not found:
        return f"no item of this catalogue is called '{said}'"
    named = "; ".join(catalogue.items[i].title for i in found[:3])
    return f"'{said}' could be {named}{' ...' if len(found) > 3 else ''}: which one?"


def _title_key(title: str) -> str:
    return " ".join(words(_YEAR.sub("", title)))
