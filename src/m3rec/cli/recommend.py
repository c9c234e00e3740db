"""`m3rec recommend`: one user through the graph, a checked reason for every item."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from m3rec.cli.build import checkpoint_for
from m3rec.cli.errors import reports_errors
from m3rec.cli.options import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    load_data,
    store_flag,
    with_llm_settings,
)
from m3rec.cli.render import (
    console,
    item_titles,
    print_explanation,
    print_json,
    print_profile,
    print_ranked,
    print_reason,
    print_reasons,
    spinner,
)
from m3rec.data.histories import PRODUCT_ITEMS
from m3rec.settings import Settings

if TYPE_CHECKING:
    from m3rec.data import Dataset
    from m3rec.recommending import Recommendations, RecommendPipeline
    from m3rec.schemas import AlignedItem, MotivationProfile, Reason

CheckpointOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="A MOTE checkpoint from `m3rec train` on --data. Default: built on first use "
        "and cached under paths.cache_dir (keyed by the data and settings), then reused.",
        show_default=False,
    ),
]
UserOpt = Annotated[
    str, typer.Option("--user", help="The user to recommend for.", show_default=False)
]
ItemsOpt = Annotated[
    int,
    typer.Option(
        "--items",
        min=1,
        max=60,
        help="How many of the user's most recent items are read (as `profile --user` "
        "reads them, so its stored profile is reused).",
    ),
]
NoLlmOpt = Annotated[
    bool,
    typer.Option(
        "--no-llm",
        help="Call no LLM: motivations only from the store (none stored: ranked by history "
        "alone) and template reasons.",
    ),
]


@reports_errors
@with_llm_settings
def recommend(
    user: UserOpt,
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: ItemsOpt = PRODUCT_ITEMS,
    k: Annotated[
        int, typer.Option("--k", "--top", min=1, max=200, help="How many items to recommend.")
    ] = 10,
    no_llm: NoLlmOpt = False,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Recommend items to a user, each with why it fits.

    The user's motivations (MOPE) come from the store or are written now by the LLM. Candidates
    come from a Chroma search over MOTE's item vectors and from items co-consumed with the
    history; MAR scores each against the history and every motivation, keeps the motivation it
    serves best and the user's items that show it, and the LLM words a reason for the top
    items (mar.reasons, default 5). Every reason is checked against the history, the profile
    and the item: a rejected one is written once more, then replaced by a template reason.
    """
    from m3rec.recommending import RecommendPipeline

    dataset = load_data(data, data_format)
    checkpoint = checkpoint_for(settings, dataset, checkpoint)
    with spinner("loading MOTE and the catalogue"):
        pipeline = RecommendPipeline(
            settings,
            dataset,
            checkpoint,
            top_k=k,
            use_llm=not no_llm,
            store_flag=store_flag(store),
        )
    head = None if as_json else partial(_print_head, dataset, user)
    answer, streamed = stream_answer(pipeline, dataset, user, items, head)
    if as_json:
        print_json(recommendations_json(dataset, answer))
        return
    print_rest(dataset, answer, streamed)


Head = Callable[["list[AlignedItem]", "MotivationProfile | None"], None]


class LiveAnswer:
    """Shows an answer as it is made: HEAD is shown the ranking and profile as soon as they are
    known, then each checked reason is printed under "Why" as it passes; `streamed` lists the
    items whose reasons were printed."""

    def __init__(self, dataset: Dataset, head: Head | None) -> None:
        self.dataset, self.head = dataset, head
        self.ranks: dict[str, int] = {}
        self.streamed: list[str] = []

    def on_ranked(self, ranked: list[AlignedItem], profile: MotivationProfile | None) -> None:
        """Remember the ranks and show the head."""
        self.ranks = {a.item_id: rank for rank, a in enumerate(ranked, 1)}
        if self.head is not None:
            self.head(ranked, profile)

    def on_reason(self, reason: Reason) -> None:
        """Print a checked reason of a ranked item."""
        if self.head is not None and reason.item_id in self.ranks:
            if not self.streamed:
                console.print("[bold]Why[/bold]")
            print_reason(self.dataset, self.ranks[reason.item_id], reason)
            self.streamed.append(reason.item_id)


def stream_answer(
    pipeline: RecommendPipeline, dataset: Dataset, user: str, items: int, head: Head | None
) -> tuple[Recommendations, list[str]]:
    """Run PIPELINE for USER's ITEMS most recent items and close it, shown live (`LiveAnswer`)
    when HEAD is given; return the answer and the items whose reasons were printed."""
    live = LiveAnswer(dataset, head)
    try:
        with spinner("reading the motivations, ranking, and writing the reasons"):
            answer = pipeline.recommend(
                user, n_items=items, on_ranked=live.on_ranked, on_reason=live.on_reason
            )
    finally:
        pipeline.close()
    return answer, live.streamed


def print_rest(dataset: Dataset, answer: Recommendations, streamed: list[str]) -> None:
    """Print the answer's warnings and the reasons not STREAMED already."""
    for error in answer.errors:
        console.print(f"[yellow]warning:[/yellow] {escape(error)}", highlight=False)
    print_reasons(dataset, answer.ranked, answer.reasons, printed=streamed)


def _print_head(
    dataset: Dataset,
    user: str,
    ranked: list[AlignedItem],
    profile: MotivationProfile | None,
) -> None:
    if profile is not None:
        console.print(f"[bold]User {escape(user)}[/bold]: why they act")
        print_profile(profile, item_titles(dataset))
    else:
        console.print(f"[bold]User {escape(user)}[/bold]: no motivations; ranked by history alone")
    print_ranked(dataset, ranked, profile)


def recommendations_json(dataset: Dataset, answer: Recommendations) -> dict[str, Any]:
    """Return the `recommend --json` document."""

    def evidence(ids: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"item_id": i, "title": dataset.items[i].title} for i in ids if i in dataset.items]

    profile = answer.profile
    rows = []
    for aligned in answer.ranked:
        reason = answer.reasons.get(aligned.item_id)
        served = (
            profile.motivations[aligned.motivation].label
            if profile is not None and aligned.motivation is not None
            else None
        )
        rows.append(
            {
                "item_id": aligned.item_id,
                "title": dataset.items[aligned.item_id].title,
                "score": round(aligned.score, 6),
                "history_score": round(aligned.history_score, 6),
                "alignment": round(aligned.alignment, 6),
                "motivation": served,
                "reason": reason.text if reason else None,
                "reason_source": reason.source if reason else None,
                "rejected": list(reason.rejected) if reason else [],
                "evidence": evidence(reason.evidence if reason else aligned.evidence),
            }
        )
    usage = answer.reason_usage
    return {
        "user": answer.user_id,
        "profile_source": answer.profile_source,
        "profile": profile.model_dump(mode="json") if profile else None,
        "items": rows,
        "reason_llm": {
            "calls": usage.calls,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "seconds": round(usage.seconds, 3),
        },
        "errors": answer.errors,
    }


@reports_errors
@with_llm_settings
def explain(
    user: UserOpt,
    item: Annotated[str, typer.Option("--item", help="The item to explain.", show_default=False)],
    checkpoint: CheckpointOpt = None,
    data: DataOpt = None,
    data_format: FormatOpt = "auto",
    items: ItemsOpt = PRODUCT_ITEMS,
    no_llm: NoLlmOpt = False,
    store: Path | None = None,
    *,
    settings: Settings,
    as_json: JsonOpt = False,
) -> None:
    """Explain why an item fits a user, or why it does not.

    Shows the item's rank among everything the user could get, its score, how it aligns with
    each of the user's motivations, and the user's items nearest to it. An item that ranks in
    the top 100 gets a reason (checked like `recommend`'s); one further down gets the numbers.
    """
    from m3rec.recommending import RecommendPipeline

    dataset = load_data(data, data_format)
    checkpoint = checkpoint_for(settings, dataset, checkpoint)
    with spinner("loading MOTE and the catalogue"):
        pipeline = RecommendPipeline(
            settings, dataset, checkpoint, use_llm=not no_llm, store_flag=store_flag(store)
        )
    try:
        with spinner("reading the motivations, scoring every item, and writing the reason"):
            answer = pipeline.explain(user, item, n_items=items)
    finally:
        pipeline.close()
    document = explanation_json(dataset, answer)
    if as_json:
        print_json(document)
        return
    for error in answer.errors:
        console.print(f"[yellow]warning:[/yellow] {escape(error)}", highlight=False)
    print_explanation(document)


def explanation_json(dataset: Dataset, answer: Recommendations) -> dict[str, Any]:
    """Return the `explain --json` document."""
    focus, profile = answer.focus, answer.profile
    if focus is None or not answer.ranked:
        return {"user": answer.user_id, "errors": answer.errors}
    row = recommendations_json(dataset, answer)["items"][0]
    motivations = []
    if profile is not None:
        for m, cosine in zip(profile.motivations, focus.cosines, strict=False):
            motivations.append({"label": m.label, "kind": m.kind, "cosine": round(cosine, 6)})
    return {
        "user": answer.user_id,
        "profile_source": answer.profile_source,
        "item": {"item_id": focus.item_id, "title": dataset.items[focus.item_id].title},
        "rank": focus.rank,
        "of": focus.of,
        "top_score": round(focus.top_score, 6),
        **{k: row[k] for k in ("score", "history_score", "alignment", "motivation")},
        "motivations": motivations,
        "nearest": [{"item_id": i, "title": dataset.items[i].title} for i in focus.nearest],
        **{k: row[k] for k in ("reason", "reason_source", "rejected", "evidence")},
        "errors": answer.errors,
    }
