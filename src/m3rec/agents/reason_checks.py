"""The rules a reason for a recommended item must keep: what MAR's reason checker rejects.

The scorer has chosen each item's motivation and evidence; the LLM only words the reason. A
reason that breaks a rule is asked for once more (with `repair_note`), then replaced by
`template_reason`. Each rule has a name:

- `unknown_item`: the reason is for an item not among those shown, or is a second reason for one;
- `fabricated_evidence`: an evidence id is not an item of the history;
- `foreign_title`: the text names a catalogue title that is neither the item's nor a history
  item's (what naming a title takes: `ReasonChecker`);
- `invented_trait`: the text names a genre or category of the catalogue (a category name or a
  part of one, "Creams, Gels & Lotions" holding three; plurals and a few aliases folded, so
  "comedies", "science fiction" and "kids" are Comedy, Sci-Fi and Children) that neither the
  item, nor a cited evidence item, nor a history item the text names by title has, as a category
  or as words of its title and categories. Titles, and the motivation's label and kind words
  quoted whole, are not claims; nor are the category nearly every item has ("Beauty") and
  one-word names that say nothing of an item ("Sets", "Men");
- `unknown_motivation`: the motivation is not a label of the profile (case aside);
- `no_motivation`: the text shares no word (stemmed: "nostalgic" is "nostalgia") with the
  motivation's label, detail or kind words, leaving out the catalogue's category words ("sci-fi"
  names a genre, not a motivation) and words such as "enjoy"; for an unknown motivation, with
  any of the profile's;
- `empty_reason`: the text is blank, shorter than REASON_MIN_CHARS, or only the item's title;
- `not_about_item`: the text names nothing of the item: no word of its title, its genres or
  categories, or its metadata traits ("You are a fan of comedies" said of a crime drama);
- `repeated_reason`: the text of an item listed before it (the first keeps it: a reason is
  judged only with the drafts before it, so one checked as it streams in stays kept);
- `copied_example`: the text uses a word of the prompt's example reply that nothing of this
  request (the item, the motivation, the history) has ("your new flat" for a film);
- `copied_item_text`: the text repeats a run of COPY_RUN words of what the prompt shows of the
  item beside its title (its fields and traits): catalogue text is data, an instruction hidden
  there must not come out in a reason, and a list of genres is no reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from m3rec import prompts
from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.agents.profile_checks import GENERIC_WORDS, content_words, shares_run, words
from m3rec.agents.reason_drafts import (
    PROMPT,
    PROMPTS,
    REASON_MAX_CHARS,
    REASON_MIN_CHARS,
    ReasonDraft,
)
from m3rec.data.traits import GENRE_NEEDS, metadata_traits
from m3rec.data.types import Item
from m3rec.schemas import AlignedItem, HistoryEntry, Motivation, MotivationProfile, Reason

REASON_RULES = (
    "unknown_item",
    "fabricated_evidence",
    "foreign_title",
    "invented_trait",
    "unknown_motivation",
    "no_motivation",
    "empty_reason",
    "not_about_item",
    "repeated_reason",
    "copied_example",
    "copied_item_text",
)
COPY_RUN = 6
# A title is looked for only if it has TITLE_MIN_WORDS content words, or one of TITLE_MIN_CHARS.
TITLE_MIN_WORDS = 2
TITLE_MIN_CHARS = 6
# A category name held by this share of the items ("Beauty") tells no item from another.
UNIVERSAL_SHARE = 0.9
TEMPLATE_TITLES = 2
TEMPLATE_TRAITS = 2
TEMPLATE_TITLE_WORDS = 10

_REPAIRS = {
    "unknown_item": "Write exactly one reason for each item listed, and none for other items.",
    "fabricated_evidence": "Cite as evidence only the ids of the person's history items listed.",
    "foreign_title": (
        "Name no title other than the recommended item's and those of the history items listed."
    ),
    "invented_trait": (
        "Name only genres or categories that the item or the history items you cite have."
    ),
    "unknown_motivation": "Use the motivation given for the item, exactly as written.",
    "no_motivation": "Say which of the person's motivations the item serves, in its own words.",
    "empty_reason": "Write a full sentence on why the item fits, not only its title.",
    "not_about_item": "Say what this item is or offers, from its own details.",
    "repeated_reason": "Write a different reason for each item.",
    "copied_example": "Write about this item and this person, not about the prompt's example.",
    "copied_item_text": "Use your own words, not the item's description.",
}
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
_TRAILING_ARTICLE = re.compile(r",\s*([A-Za-z]+)\s*$")
_CATEGORY_PARTS = re.compile(r"\s*(?:&|,|/)\s*")
_SENTENCE_END = frozenset(".!?:;")
_LEADING_ARTICLES = frozenset(["the", "a", "an"])
_TRAILING_ARTICLES = frozenset(["the", "a", "an", "la", "le", "les", "il", "el", "los", "las"])
# Words that do not make a title distinctive: "It", "Up", "Stand by Me" are not looked for.
_TITLE_STOP_WORDS = (
    "a an and the of for with in on at to or by from as is be are was it its i me my you your "
    "we us our he him his she her they them their this that what who how why when where not no "
    "up out off down over into so all s t ll ve re d m"
)
_TITLE_STOP = frozenset(_TITLE_STOP_WORDS.split())
# Single category words that name no trait of an item ("Sets", "Men", "Novelty, Costumes & More").
_VAGUE = (
    "more top other accessory accessories set kit men women novelty sport combination complex "
    "filler highlight bar base"
)
_VAGUE_TERMS = frozenset(_VAGUE.split())
# Different words for the same genre or category, as folded phrases name them.
_ALIASES = {
    "science fiction": "sci-fi",
    "scifi": "sci-fi",
    "kid": "children",
    "child": "children",
    "comedic": "comedy",
    "romantic": "romance",
    "animated": "animation",
    "cartoon": "animation",
    "noir": "film-noir",
    "skincare": "skin care",
    "haircare": "hair care",
    "perfume": "fragrance",
}
# Words that name no motivation: "you will enjoy this" names none.
_MOTIVE_STOP_WORDS = (
    "you your yours they them this that these those is are was were be been being it as at by "
    "from into about like likes liked enjoy enjoyed enjoying love loved user person people "
    "someone else who what which when where how why all any some more most very just also so "
    "not no but if than then there here has have had will would can could should do does did "
    "one ones need want wanted watch watched watching buy bought use used get got make made "
    "good great nice new pick choice recommend recommended item offer offers"
)
_MOTIVE_STOP = frozenset(_MOTIVE_STOP_WORDS.split())
_SUFFIXES = (
    "ations", "ation", "ions", "ion", "ments", "ment", "ings", "ing", "ness", "able", "ical",
    "ally", "ful", "ism", "ist", "ic", "ia", "ly", "ed", "es", "er", "al", "y", "e",
)  # fmt: skip
_STEM_MIN = 4


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    capital: bool
    sentence_start: bool
    folded: str


@dataclass(frozen=True, slots=True)
class _Support:
    """What one item shows of itself: its category terms and every word of its names."""

    terms: frozenset[tuple[str, ...]]
    words: frozenset[str]

    def has(self, term: tuple[str, ...]) -> bool:
        """Return whether the item has TERM, as a category or as words of its title or names;
        a one-word term may begin a word of them ("sun" of "sunscreen", "lip" of "lipstick")."""
        if term in self.terms or self.words.issuperset(term):
            return True
        return len(term) == 1 and any(w.startswith(term[0]) for w in self.words)


@dataclass(frozen=True, slots=True)
class _Title:
    key: tuple[str, ...]
    capitals: tuple[bool, ...]
    eligible: bool


@dataclass(frozen=True, slots=True)
class _Request:
    """What one check call's drafts share: the history by id, its titles, the profile."""

    history: Mapping[str, HistoryEntry]
    titles: Mapping[tuple[str, ...], tuple[_Title, tuple[str, ...]]]
    profile: MotivationProfile | None


class ReasonChecker:
    """Check reasons against one catalogue, whose title and category vocabularies are built once.

    A title is named when its words (lower case, without a trailing "(1995)" or aka, a leading
    or trailing article) occur whole in the text, every word the catalogue capitalises is
    capitalised there, and the title is distinctive: TITLE_MIN_WORDS content words, or one of
    TITLE_MIN_CHARS or more that does not start a sentence. At each word the longest title
    wins, so "Toy Story 2" is not also "Toy Story".
    """

    def __init__(
        self,
        items: Mapping[str, Item],
        *,
        extra_categories: Iterable[str] = (),
        universal_share: float = UNIVERSAL_SHARE,
    ) -> None:
        """Build the vocabularies of ITEMS, plus EXTRA_CATEGORIES (held by no item); a category
        held by UNIVERSAL_SHARE of the items is no trait."""
        self.items = items
        self._support: dict[str, _Support] = {}
        self._titles: dict[tuple[str, ...], _Title] = {}
        held: Counter[tuple[str, ...]] = Counter()
        for item_id, item in items.items():
            names = item.category_names()
            self._support[item_id] = _support_of(item.title, names)
            held.update({t for name in names for t in _name_terms(name)})
            title = _title_of(item.title)
            if title.eligible:
                self._add_title(title)
        share = universal_share * max(len(items), 1)
        terms = set(held) | {t for name in extra_categories for t in _name_terms(name)}
        terms = {t for t in terms if held[t] < share and _is_trait(t)}
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {t: t for t in terms}
        for alias, target in _ALIASES.items():
            if (term := _phrase(target)) in terms:
                self._phrases[_phrase(alias)] = term
        self._longest_phrase = max(map(len, self._phrases), default=0)
        self._category_stems = {_stem(w) for term in terms for w in term}
        self._title_lengths: dict[str, set[int]] = {}
        for key in self._titles:
            self._title_lengths.setdefault(key[0], set()).add(len(key))

    def _add_title(self, title: _Title) -> None:
        if (known := self._titles.get(title.key)) is not None:
            capitals = tuple(a and b for a, b in zip(known.capitals, title.capitals, strict=True))
            title = _Title(title.key, capitals, True)
        self._titles[title.key] = title

    def check(
        self,
        drafts: Sequence[ReasonDraft],
        *,
        shown: Sequence[str],
        history: Sequence[HistoryEntry],
        profile: MotivationProfile | None,
    ) -> dict[str, tuple[str, ...]]:
        """Return, for each item of SHOWN that got a draft, the rules its reason broke (in
        REASON_RULES order, empty when kept); a draft for an item not shown is reported under
        its own id as `unknown_item`, and a second draft for one item adds `unknown_item` to
        what either broke. A draft's verdict depends only on the drafts before it. Without a
        PROFILE the motivation rules are not applied."""
        shown_ids = set(shown)
        request = _Request(
            {entry.item_id: entry for entry in history}, _titles_by_key(history), profile
        )
        broken: dict[str, set[str]] = {}
        written: set[str] = set()
        for draft in drafts:
            if draft.item_id not in shown_ids:
                broken.setdefault(draft.item_id, set()).add("unknown_item")
                continue
            rules = self._check_one(draft, request)
            text = " ".join(words(draft.reason))
            if text in written:
                rules.add("repeated_reason")
            written.add(text)
            if draft.item_id in broken:
                rules |= broken[draft.item_id] | {"unknown_item"}
            broken[draft.item_id] = rules
        order = [i for i in shown if i in broken] + [i for i in broken if i not in shown_ids]
        return {i: tuple(r for r in REASON_RULES if r in broken[i]) for i in order}

    def _check_one(self, draft: ReasonDraft, request: _Request) -> set[str]:
        by_id, profile = request.history, request.profile
        rules: set[str] = set()
        if any(e not in by_id for e in draft.evidence):
            rules.add("fabricated_evidence")
        motivation = None
        if profile is not None:
            motivation = _motivation_named(profile, draft.motivation)
            if motivation is None:
                rules.add("unknown_motivation")
        item = self.items.get(draft.item_id)
        if _is_empty(draft.reason, item.title if item else ""):
            return rules | {"empty_reason"}
        tokens = _tokens(draft.reason)
        masked = _quoted_motivation(tokens, motivation)
        allowed = dict(request.titles)
        if item is not None and (own := _title_of(item.title)).key:
            allowed[own.key] = (own, (item.item_id,))
        foreign, named = self._scan_titles(tokens, masked, allowed)
        if foreign:
            rules.add("foreign_title")
        supporters = [self._support_of_id(draft.item_id, item)]
        # A history item lends its genres only if the text names it, by its title or a word of
        # it ("your CeraVe lotion"): "a fairy tale for children" said of Ben-Hur claims it of
        # Ben-Hur, whatever children's film the evidence field cites.
        said = _stems(draft.reason)
        cited = [e for e in draft.evidence if e in by_id and said & _title_stems(by_id[e])]
        lenders = dict.fromkeys([*sorted(named), *cited])
        supporters += [self._support_of_entry(by_id[e]) for e in lenders if e in by_id]
        if any(not any(s.has(t) for s in supporters) for t in self._traits(tokens, masked)):
            rules.add("invented_trait")
        if profile is not None and not self._names_motivation(draft.reason, profile, motivation):
            rules.add("no_motivation")
        if _stems(draft.reason) & _example_stems() - _request_stems(item, motivation, request):
            rules.add("copied_example")
        if item is not None:
            if not _stems(draft.reason) & _item_stems(item):
                rules.add("not_about_item")
            if shares_run(draft.reason, _free_text(item), COPY_RUN):
                rules.add("copied_item_text")
        return rules

    def _support_of_id(self, item_id: str, item: Item | None) -> _Support:
        if (known := self._support.get(item_id)) is not None:
            return known
        return _support_of(item.title, item.category_names()) if item else _support_of("", ())

    def _support_of_entry(self, entry: HistoryEntry) -> _Support:
        own = _support_of(entry.title, entry.categories)
        if (known := self._support.get(entry.item_id)) is None:
            return own
        return _Support(known.terms | own.terms, known.words | own.words)

    def _scan_titles(
        self,
        tokens: list[_Token],
        masked: set[int],
        allowed: Mapping[tuple[str, ...], tuple[_Title, tuple[str, ...]]],
    ) -> tuple[bool, set[str]]:
        """Mark the words of every title named in MASKED; return whether a title not ALLOWED
        is named, and the ids of the allowed ones named."""
        lengths: dict[str, set[int]] = {}
        for key in allowed:
            lengths.setdefault(key[0], set()).add(len(key))
        raw = [t.raw for t in tokens]
        foreign, named = False, set[str]()
        i = 0
        while i < len(tokens):
            candidates = self._title_lengths.get(raw[i], set()) | lengths.get(raw[i], set())
            width = 0
            for n in sorted(candidates, reverse=True):
                span = tokens[i : i + n]
                if len(span) < n or masked.intersection(range(i, i + n)):
                    continue
                key = tuple(raw[i : i + n])
                title, ids = allowed.get(key) or (self._titles.get(key), None)
                if title is None or not title.eligible or not _written_as_title(span, title):
                    continue
                if ids is None:
                    foreign = True
                else:
                    named.update(ids)
                width = n
                break
            masked.update(range(i, i + width))
            i += width or 1
        return foreign, named

    def _traits(self, tokens: list[_Token], masked: set[int]) -> set[tuple[str, ...]]:
        """Return the catalogue's genre and category terms the unmasked words name."""
        found = set()
        runs: list[list[str]] = [[]]
        for n, token in enumerate(tokens):
            if n in masked:
                runs.append([])
            elif token.folded:
                runs[-1].append(token.folded)
        for run in runs:
            i = 0
            while i < len(run):
                for width in range(min(self._longest_phrase, len(run) - i), 0, -1):
                    if (term := self._phrases.get(tuple(run[i : i + width]))) is not None:
                        found.add(term)
                        i += width
                        break
                else:
                    i += 1
        return found

    def _names_motivation(
        self, text: str, profile: MotivationProfile, motivation: Motivation | None
    ) -> bool:
        targets = [motivation] if motivation is not None else profile.motivations
        said = _stems(text)
        for m in targets:
            kind = KIND_WORDS.get(m.kind or "", "")
            own = (_stems(m.label) | _stems(m.description) | _stems(kind)) - self._category_stems
            if said & (own or _stems(m.label)):
                return True
        return False


def check_reasons(
    drafts: list[ReasonDraft],
    *,
    shown: list[str],
    items: Mapping[str, Item],
    history: Sequence[HistoryEntry],
    profile: MotivationProfile | None,
) -> dict[str, tuple[str, ...]]:
    """Return the rules each reason of DRAFTS broke, by item id (see `ReasonChecker.check`); the
    checker of the last ITEMS mapping is kept, so repeated calls on one catalogue are cheap."""
    return _checker_for(items).check(drafts, shown=shown, history=history, profile=profile)


def repair_note(rules: tuple[str, ...]) -> str:
    """Return what to change for a reason that broke RULES: one sentence per rule."""
    unknown = [rule for rule in rules if rule not in _REPAIRS]
    if unknown:
        raise ValueError(f"not a reason rule: {', '.join(unknown)}")
    return " ".join(_REPAIRS[rule] for rule in dict.fromkeys(rules))


def template_reason(
    item: Item,
    aligned: AlignedItem,
    profile: MotivationProfile | None,
    history: Sequence[HistoryEntry],
    *,
    checker: ReasonChecker | None = None,
) -> Reason:
    """Return a reason built from the scorer's choice alone, marked "template".

    It names the motivation (label and kind words), up to TEMPLATE_TITLES of its evidence items
    from the history and TEMPLATE_TRAITS of the item's metadata traits; without a motivation,
    the nearest history items (ALIGNED's evidence, else the latest). Of its wordings, fullest
    first, the first that CHECKER keeps is chosen: pass the catalogue's; by default one over
    the item and the history alone, which knows every MovieLens genre but not the rest of an
    Amazon catalogue's categories."""
    by_id = {entry.item_id: entry for entry in history}
    motivation = None
    if profile is not None and aligned.motivation is not None:
        motivation = profile.motivations[aligned.motivation]
    cited = [by_id[i] for i in dict.fromkeys(aligned.evidence) if i in by_id]
    if motivation is not None and not cited:
        cited = [by_id[i] for i in dict.fromkeys(motivation.evidence) if i in by_id]
    if motivation is None and not cited:
        cited = list(reversed(history))
    cited = cited[:TEMPLATE_TITLES]
    traits = metadata_traits(item) or [n.lower() for n in item.category_names()]
    checker = checker or _local_checker(item, history)
    label = motivation.label if motivation is not None else ""
    checked = profile if motivation is not None else None
    candidates = _template_texts(motivation, [_short(e.title or e.text) for e in cited], traits)
    first_fit: tuple[str, list[str]] | None = None
    for text, n_titles in candidates:
        if len(text) > REASON_MAX_CHARS:
            continue
        evidence = [e.item_id for e in cited[:n_titles]]
        draft = ReasonDraft(item_id=item.item_id, motivation=label, evidence=evidence, reason=text)
        kept = checker.check([draft], shown=[item.item_id], history=history, profile=checked)
        if kept == {item.item_id: ()}:
            return Reason(item.item_id, text, label, tuple(evidence), "template")
        first_fit = first_fit or (text, evidence)
    text, evidence = first_fit or (candidates[-1][0][:REASON_MAX_CHARS], [])
    return Reason(item.item_id, text, label, tuple(evidence), "template")


def _template_texts(
    motivation: Motivation | None, titles: list[str], traits: list[str]
) -> list[tuple[str, int]]:
    """Return the template's wordings, fullest first, each with how many titles it names."""
    wordings = []
    for n_titles in range(len(titles), -1, -1):
        for n_traits in range(min(len(traits), TEMPLATE_TRAITS), -1, -1):
            for chosen in _trait_choices(traits, n_traits):
                wordings.append((_template_text(motivation, titles[:n_titles], chosen), n_titles))
    return wordings


def _trait_choices(traits: list[str], n: int) -> list[list[str]]:
    if n == 0:
        return [[]]
    if n == 1:
        return [[t] for t in traits]
    return [[a, b] for i, a in enumerate(traits) for b in traits[i + 1 :]]


def _template_text(motivation: Motivation | None, titles: list[str], traits: list[str]) -> str:
    like = " and ".join(titles)
    offers = ", plus ".join(traits)
    if motivation is None:
        if titles:
            head = f"Close to {like} in your history"
            return f"{head}: it offers {offers}." if traits else f"{head}."
        return f"Recommended for {offers}." if traits else "Recommended as close to your history."
    kind = f" ({KIND_WORDS[motivation.kind]})" if motivation.kind in KIND_WORDS else ""
    head = f"Fits your '{motivation.label}' motivation{kind}"
    if titles and traits:
        return f"{head}: like {like}, it offers {offers}."
    if titles:
        return f"{head}, as {like} did."
    return f"{head}: it offers {offers}." if traits else f"{head}."


def _short(title: str) -> str:
    parts = title.split()
    return title if len(parts) <= TEMPLATE_TITLE_WORDS else " ".join(parts[:TEMPLATE_TITLE_WORDS])


_last_checker: list[ReasonChecker] = []


def _checker_for(items: Mapping[str, Item]) -> ReasonChecker:
    if not _last_checker or _last_checker[0].items is not items:
        _last_checker[:] = [ReasonChecker(items)]
    return _last_checker[0]


def _local_checker(item: Item, history: Sequence[HistoryEntry]) -> ReasonChecker:
    """Return a checker over ITEM and HISTORY alone that knows every MovieLens genre."""
    items = {
        e.item_id: Item(e.item_id, e.title, {"categories": ";".join(e.categories)}) for e in history
    }
    items[item.item_id] = item
    return ReasonChecker(items, extra_categories=GENRE_NEEDS, universal_share=float("inf"))


def _titles_by_key(
    history: Sequence[HistoryEntry],
) -> dict[tuple[str, ...], tuple[_Title, tuple[str, ...]]]:
    """Return the history's titles by key, with the ids of the items that bear each."""
    ids: dict[tuple[str, ...], list[str]] = {}
    titles: dict[tuple[str, ...], _Title] = {}
    for entry in history:
        if (title := _title_of(entry.title)).key:
            titles.setdefault(title.key, title)
            ids.setdefault(title.key, []).append(entry.item_id)
    return {key: (titles[key], tuple(ids[key])) for key in titles}


def _motivation_named(profile: MotivationProfile, label: str) -> Motivation | None:
    wanted = label.strip().casefold()
    return next((m for m in profile.motivations if m.label.strip().casefold() == wanted), None)


def _is_empty(text: str, title: str) -> bool:
    text = text.strip()
    if len(text) < REASON_MIN_CHARS:
        return True
    said = set(words(text)) - set(words(title)) - GENERIC_WORDS - _TITLE_STOP
    return not {w for w in said if not w.isdigit()}


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    end = 0
    for match in _TOKEN.finditer(text):
        gap = text[end : match.start()]
        start = not tokens or bool(_SENTENCE_END.intersection(gap))
        word = match.group()
        tokens.append(_Token(word.lower(), word[0].isupper(), start, _fold(word)))
        end = match.end()
    return tokens


def _quoted_motivation(tokens: list[_Token], motivation: Motivation | None) -> set[int]:
    """Return the positions of the words quoting MOTIVATION's label or kind words: a quoted
    label is the profile's, not a claim about the item."""
    if motivation is None:
        return set()
    raw = [t.raw for t in tokens]
    masked: set[int] = set()
    for phrase in (motivation.label, KIND_WORDS.get(motivation.kind or "", "")):
        quoted = [w.lower() for w in _TOKEN.findall(phrase)]
        n = len(quoted)
        starts = range(len(raw) - n + 1) if n else range(0)
        masked.update(j for i in starts if raw[i : i + n] == quoted for j in range(i, i + n))
    return masked


def _written_as_title(tokens: list[_Token], title: _Title) -> bool:
    if any(cap and not token.capital for token, cap in zip(tokens, title.capitals, strict=True)):
        return False
    content = [w for w in title.key if w not in _TITLE_STOP and not w.isdigit()]
    return len(content) >= TITLE_MIN_WORDS or not tokens[0].sentence_start


@lru_cache(maxsize=16384)
def _title_of(title: str) -> _Title:
    text = title.strip()
    while (match := _TRAILING_PARENS.search(text)) and match.start() > 0:
        text = text[: match.start()]
    if (match := _TRAILING_ARTICLE.search(text)) and match.group(1).lower() in _TRAILING_ARTICLES:
        text = text[: match.start()]
    found = _TOKEN.findall(text)
    if len(found) > 1 and found[0].lower() in _LEADING_ARTICLES:
        found = found[1:]
    key = tuple(w.lower() for w in found)
    content = [w for w in key if w not in _TITLE_STOP and not w.isdigit()]
    eligible = len(content) >= TITLE_MIN_WORDS or (
        len(content) == 1 and len(content[0]) >= TITLE_MIN_CHARS
    )
    return _Title(key, tuple(w[0].isupper() for w in found), eligible)


@lru_cache(maxsize=4096)
def _support_of(title: str, names: tuple[str, ...]) -> _Support:
    terms = frozenset(t for name in names for t in _name_terms(name))
    found = {w for name in names for w in _phrase(name)} | set(_phrase(title))
    return _Support(terms, frozenset(found))


@lru_cache(maxsize=4096)
def _name_terms(name: str) -> tuple[tuple[str, ...], ...]:
    """Return the terms a category name holds: "Creams, Gels & Lotions" holds three."""
    if name.startswith("("):  # "(no genres listed)"
        return ()
    return tuple(p for part in _CATEGORY_PARTS.split(name) if (p := _phrase(part)))


def _is_trait(term: tuple[str, ...]) -> bool:
    if len(term) > 1:
        return True
    return len(term[0]) >= 3 and term[0] not in GENERIC_WORDS | _VAGUE_TERMS


@lru_cache(maxsize=4096)
def _phrase(text: str) -> tuple[str, ...]:
    return tuple(f for w in _TOKEN.findall(text) if (f := _fold(w)))


@lru_cache(maxsize=16384)
def _fold(word: str) -> str:
    """Return WORD as genres and categories are matched: lower case, plurals folded
    ("comedies" is "comedy", "brushes" "brush"), and a lone "s" (of "children's") dropped."""
    (folded,) = words(word)
    if folded == "s":
        return ""
    for end, again in (("ie", "y"), ("she", "sh"), ("che", "ch"), ("xe", "x"), ("sse", "ss")):
        if folded.endswith(end) and len(folded) > len(end) + 2:
            return folded[: -len(end)] + again
    return folded


def _title_stems(entry: HistoryEntry) -> set[str]:
    """Return the stems of an item's title that name it rather than its kind: no category
    words, no numbers."""
    stems = _stems(_TRAILING_PARENS.sub("", entry.title or entry.text))
    kinds = {stem for name in entry.categories for stem in _stems(name)}
    return {stem for stem in stems - kinds if not stem[:1].isdigit()}


def _item_stems(item: Item) -> set[str]:
    """Return the stems of what an item is: its title, genres, categories and traits; no
    numbers ("1980s" is said of any film of the decade)."""
    title = _TRAILING_PARENS.sub("", item.title)
    said = [title, *item.category_names(), *metadata_traits(item)]
    return {stem for text in said for stem in _stems(text) if not stem[:1].isdigit()}


# Words any reason may link with ("the next one after X"): never a sign of a copied example.
_LINKING = "after next find finder before"


@lru_cache(maxsize=1)
def _example_stems() -> frozenset[str]:
    """Return the stems of the reasons prompts' example replies (items, details and reasons)."""
    found: set[str] = set()
    instructions = set()
    block = re.compile(r"<<<ITEMS.*?ITEMS>>>|^\{[^\n]*$", re.DOTALL | re.MULTILINE)
    for version in PROMPTS:
        for example in prompts.examples(PROMPT[0], version):
            for reason in example.get("reasons", {}).values():
                said = (reason.get(key, "") for key in ("item", "detail", "reason"))
                found |= _stems(" ".join(said))
        rules = prompts.render(PROMPT[0], version, items="", repair_rule="").messages[0].content
        instructions |= _stems(block.sub(" ", rules))  # without the example's block and reply
    return frozenset(found - instructions - _stems(_LINKING))


def _request_stems(item: Item | None, motivation: Motivation | None, request: _Request) -> set[str]:
    """Return the stems of what a reason was given: the item, its motivation, the history."""
    said = [item.text() if item else ""]
    if motivation is not None:
        said += [
            motivation.label,
            motivation.description,
            KIND_WORDS.get(motivation.kind or "", ""),
        ]
    said += [entry.title or entry.text for entry in request.history.values()]
    return {stem for text in said for stem in _stems(text)}


def _free_text(item: Item) -> str:
    """Return what the prompt shows of an item beside its title: every field and its traits,
    as a reason must not copy them out ("Action, Adventure, Animation, Horror | adrenaline and
    spectacle, escape on a journey...")."""
    fields = [v for k, v in item.fields.items() if k != "year"]
    return " | ".join([*fields, ", ".join(metadata_traits(item))])


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in content_words(text) if len(w) >= 3 and w not in _MOTIVE_STOP}


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """Return WORD without up to two suffixes ("emotional" and "emotion" are "emot")."""
    for _ in range(2):
        suffix = next((s for s in _SUFFIXES if word.endswith(s)), "")
        if not suffix or len(word) - len(suffix) < _STEM_MIN:
            break
        word = word[: -len(suffix)]
    return word
