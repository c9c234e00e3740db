"""Everything the CLI shows: JSON on stdout, tables on stdout, progress on stderr.

Progress (bars with counts, spinners with elapsed time and the LLM's tokens) always goes to
stderr, so `--json` stdout stays one JSON document. When stderr is not a terminal (a log file, a
test) bars log a few plain lines instead of a live bar, and spinners stay silent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from m3rec.agents.mope_drafts import KIND_WORDS
from m3rec.llm.meter import METER, MeterReading

if TYPE_CHECKING:
    from m3rec.data import Dataset, LoadReport
    from m3rec.llm.base import Usage
    from m3rec.profile_archive import ProfileRow
    from m3rec.schemas import AlignedItem, HistoryEntry, MotivationProfile, Reason

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print DATA as JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, default=str))


def warn_skipped_rows(report: LoadReport) -> None:
    """Say on stderr which rows of a dataset were skipped, if any."""
    if report.total_skipped:
        err_console.print(f"[yellow]skipped rows:[/yellow]\n{escape(report.summary())}")


# --- progress on stderr -------------------------------------------------------------------------


def progress_bar(*, in_bytes: bool = False) -> Progress:
    """Return a progress bar on stderr with counts (or bytes), elapsed and remaining time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn() if in_bytes else MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=in_bytes,
    )


class TokensColumn(ProgressColumn):
    """The tokens the LLM read and wrote since the spinner started, and how fast it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.start = METER.snapshot()
        self._writing_since: tuple[float, int] | None = None

    def render(self, task: Task) -> Text:
        """Show the prompt being read, then the tokens generated and their rate."""
        done = METER.snapshot().since(self.start)
        return Text(self.describe(done, time.monotonic()), style="progress.data.speed")

    def describe(self, done: MeterReading, now: float) -> str:
        """Say what DONE amounts to at NOW (monotonic seconds)."""
        if done.generated_tokens == 0:
            return f"· reading {done.prompt_tokens:,} prompt tokens" if done.prompt_tokens else ""
        if self._writing_since is None:
            self._writing_since = (now, done.generated_tokens)
        since, first = self._writing_since
        said = f"· {done.generated_tokens:,} tokens generated"
        if now - since >= 1.0:  # the rate of generation, not of loading and reading the prompt
            said += f" ({(done.generated_tokens - first) / (now - since):.1f} tok/s)"
        return said


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """Show MESSAGE with a spinner, the elapsed time and the LLM's tokens on stderr while the
    block runs (on a terminal only: a log gains nothing from a spinner, and an error stays the
    one line)."""
    if not err_console.is_terminal:
        yield
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        TokensColumn(),
        console=err_console,
        transient=True,
    ) as live:
        live.add_task(message, total=None)
        yield


@contextmanager
def profile_progress(total: int) -> Iterator[Callable[[str, str], None]]:
    """Yield the callback a profile run reports each user to: a bar with counts for a batch (off
    a terminal, one line a user), a spinner for one user (whose profile is read from the store
    or written by the LLM)."""
    if total == 1:
        with spinner("reading the profile from the store, or loading the model to write it"):
            yield lambda user_id, state: None
        return
    if not err_console.is_terminal:  # a log: one line a user, with the time so far
        started, done = time.monotonic(), [0]

        def log(user_id: str, state: str) -> None:
            done[0] += 1
            elapsed = time.monotonic() - started
            err_console.print(f"profiles {done[0]}/{total}: {user_id} {state} ({elapsed:.0f}s)")

        yield log
        return
    with progress_bar() as bar:
        task = bar.add_task("profiles", total=total)

        def advance(user_id: str, state: str) -> None:
            bar.update(task, advance=1, description=f"profiles (last: {user_id} {state})")

        yield advance


class FitProgress:
    """The progress of model fits on stderr: item embedding, epochs, and the runs of an evaluation.

    `on_embed` and `on_epoch` serve one fit (`m3rec train`); `on_event` serves the evaluation
    harness's events (job, epoch, scored). Off a terminal it prints plain lines instead.
    """

    def __init__(self) -> None:
        self.live = err_console.is_terminal
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=err_console,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}
        self.label = ""
        self._logged = -1.0

    def __enter__(self) -> FitProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def on_embed(self, done: int, total: int) -> None:
        """Show how many item texts are embedded so far."""
        if self.live:
            self._update("embed", "embedding item texts", done, total, "")
        elif done == total or done / max(total, 1) >= self._logged + 0.25:
            self._logged = done / max(total, 1)
            err_console.print(f"embedding item texts {done}/{total}", highlight=False)

    def on_epoch(self, epoch: int, epochs: int, logs: Mapping[str, float]) -> None:
        """Show the epoch count and what the epoch logged (loss, validation NDCG@10)."""
        info = " ".join(f"{k} {v:.4f}" for k, v in logs.items() if k in ("loss", "valid_ndcg10"))
        if self.live:
            self._update("epoch", "  epochs" if self.label else "epochs", epoch, epochs, info)
        else:
            prefix = f"{self.label} " if self.label else ""
            err_console.print(f"{prefix}epoch {epoch}/{epochs} {info}", highlight=False)

    def on_event(self, event: str, info: dict[str, Any]) -> None:
        """Follow an evaluation: one bar for the runs, one for the epochs of the current fit."""
        if event == "job":
            self.label = f"{info['model']} cold_k={info['cold_k']} seed={info['seed']}"
            for name in ("embed", "epoch", "ordered"):
                if name in self.tasks:
                    self.bar.remove_task(self.tasks.pop(name))
            self._update("runs", f"runs ({self.label})", None, info.get("total"), "")
        elif event == "epoch":
            self.on_epoch(info["epoch"], info["epochs"], info)
        elif event == "ordered":
            self._on_ordered(info["done"], info["users"])
        elif event == "scored":
            if self.live:
                self._update("runs", f"runs ({self.label})", info["done"], info["total"], "")
            else:
                err_console.print(
                    f"{self.label} done in {info['fit_seconds']:.1f}s fit "
                    f"({info['done']}/{info['total']})",
                    highlight=False,
                )

    def _on_ordered(self, done: int, users: int) -> None:
        """Show how many users' top items the LLM has ordered (one call each)."""
        if self.live:
            self._update("ordered", "  LLM orders", done, users, "")
        elif done == users or done % max(1, users // 10) == 0:
            err_console.print(f"{self.label} LLM orders {done}/{users}", highlight=False)

    def _update(
        self, name: str, description: str, done: int | None, total: int | None, info: str
    ) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(description, total=total, info=info)
        self.bar.update(
            self.tasks[name], description=description, completed=done, total=total, info=info
        )


# --- tables on stdout ---------------------------------------------------------------------------


def item_titles(dataset: Dataset) -> dict[str, str]:
    """Return each item's title by id."""
    return {item_id: item.title for item_id, item in dataset.items.items()}


def print_history(history: Sequence[HistoryEntry], titles: Mapping[str, str], heading: str) -> None:
    """Print a user's history read by the LLM: id, title, rating, date."""
    console.print(heading)
    table = Table("id", "title", "rating", "date")
    for entry in history:
        rating = "" if entry.rating is None else f"{entry.rating:g}"
        table.add_row(entry.item_id, titles.get(entry.item_id, ""), rating, str(entry.day or ""))
    console.print(table)


def print_profile(profile: MotivationProfile, titles: Mapping[str, str]) -> None:
    """Print a motivation profile: each motivation with its evidence, the summary, the shift."""
    kinds = any(m.kind for m in profile.motivations)
    columns = ("kind",) * kinds + ("motivation", "strength", "why", "evidence", "seen")
    table = Table(*columns, title="Why they act")
    for m in profile.motivations:
        evidence = ", ".join(titles.get(e, e) for e in m.evidence) or "(none valid)"
        seen = f"{m.first_seen} to {m.last_seen}" if m.first_seen else ""
        kind = (KIND_WORDS.get(m.kind or "", m.kind or ""),) * kinds
        table.add_row(*kind, m.label, f"{m.strength:.2f}", m.description, evidence, seen)
    console.print(table)
    console.print(f"[bold]Summary[/bold] {escape(profile.summary)}")
    console.print(f"[bold]Recent shift[/bold] {escape(profile.shift)}")


def print_item_traits(
    item_ids: Sequence[str], found: Mapping[str, list[dict[str, Any]]], titles: Mapping[str, str]
) -> None:
    """Print each item's stored traits, one row per source (`m3rec traits --show`)."""
    table = Table("item", "title", "source", "traits", title="Stored traits")
    for item_id in item_ids:
        for record in found.get(item_id, []) or [{"source": "(none stored)", "traits": []}]:
            traits = "; ".join(str(t) for t in record.get("traits", []))
            table.add_row(item_id, titles.get(item_id, ""), str(record.get("source", "")), traits)
    console.print(table)


def print_profile_rows(rows: Sequence[ProfileRow]) -> None:
    """Print stored profiles as a table, one line each (`m3rec profiles list`)."""
    table = Table()
    for column in ("user", "dataset", "history", "model", "prompt", "written", "motivations"):
        table.add_column(column, overflow="fold")
    for row in rows:
        model = row.model_id.rsplit(":", 1)[0] if row.model_id.count(":") > 1 else row.model_id
        written = row.created_at[:16].replace("T", " ")
        labels = ", ".join(row.labels)
        table.add_row(row.user_id, row.dataset, row.rule, model, row.prompt_id, written, labels)
    console.print(table)


def print_profile_origin(
    source: str,
    *,
    usage: Usage,
    meta: Mapping[str, Any],
    model: str,
    repaired: bool = False,
    dropped_evidence: int = 0,
) -> None:
    """Say where a profile came from: written now (and its cost) or read from the store."""
    if source == "store":
        written = meta.get("created_at") or "an earlier run"
        console.print(
            f"[dim]from the store (written {written} by {model}); no LLM call now[/dim]",
            highlight=False,
        )
        return
    rate = usage.completion_tokens / usage.seconds if usage.seconds else 0.0
    console.print(
        f"[dim]written now by {model}: {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} generated tokens in {usage.seconds:.1f}s "
        f"({rate:.1f} tok/s), {usage.calls} call(s)"
        f"{', repaired once' if repaired else ''}; "
        f"{dropped_evidence} invalid evidence id(s) dropped[/dim]",
        highlight=False,
    )


def print_ranked(
    dataset: Dataset, ranked: Sequence[AlignedItem], profile: MotivationProfile | None
) -> None:
    """Print MAR's ranking: rank, id, title, genres or categories, score, the motivation served."""
    table = Table("#", "item", "title", "genres / categories", "score", "serves")
    for rank, aligned in enumerate(ranked, 1):
        item = dataset.items[aligned.item_id]
        kind = item.fields.get("genres") or item.fields.get("categories", "")
        serves = ""
        if profile is not None and aligned.motivation is not None:
            serves = f"{profile.motivations[aligned.motivation].label} ({aligned.alignment:.2f})"
        table.add_row(str(rank), aligned.item_id, item.title, kind, f"{aligned.score:.3f}", serves)
    console.print(table)


def print_reasons(
    dataset: Dataset,
    ranked: Sequence[AlignedItem],
    reasons: Mapping[str, Reason],
    *,
    printed: Collection[str] = (),
) -> None:
    """Print why each ranked item fits: the reason, who wrote it, the history items it cites;
    items in PRINTED (streamed already) are left out, and so is the heading then."""
    if not printed:
        console.print("[bold]Why[/bold]")
    for rank, aligned in enumerate(ranked, 1):
        reason = reasons.get(aligned.item_id)
        if reason is not None and aligned.item_id not in printed:
            print_reason(dataset, rank, reason)


def print_reason(dataset: Dataset, rank: int, reason: Reason) -> None:
    """Print one item's reason on one line, with its rank, source and the items it cites."""
    cited = "; ".join(dataset.items[e].title for e in reason.evidence if e in dataset.items)
    source = {"llm": "", "regenerated": " [regenerated]", "template": " [template]"}
    console.print(
        f"{rank:>2}. [bold]{escape(dataset.items[reason.item_id].title)}[/bold]: "
        f"{escape(reason.text)}[dim]{escape(source[reason.source])}"
        f"{' (shown by: ' + escape(cited) + ')' if cited else ''}[/dim]",
        highlight=False,
    )


def print_explanation(doc: Mapping[str, Any]) -> None:
    """Print `m3rec explain`'s account: rank, score, each motivation's cosine, the reason."""
    item = doc["item"]
    console.print(
        f"[bold]{escape(item['title'])}[/bold] ({escape(item['item_id'])}) for user "
        f"{escape(str(doc['user']))}: rank {doc['rank']:,} of {doc['of']:,}, score "
        f"{doc['score']:.3f} (top item {doc['top_score']:.3f}; history {doc['history_score']:.3f})",
        highlight=False,
    )
    if doc["motivations"]:
        table = Table("motivation", "kind", "alignment", title="How it aligns with each motivation")
        for m in sorted(doc["motivations"], key=lambda m: -m["cosine"]):
            kind = KIND_WORDS.get(m["kind"] or "", m["kind"] or "")
            table.add_row(m["label"], kind, f"{m['cosine']:.3f}")
        console.print(table)
    if doc["nearest"]:
        nearest = "; ".join(n["title"] for n in doc["nearest"])
        console.print(f"[bold]Nearest of their items[/bold] {escape(nearest)}", highlight=False)
    source = "" if doc["reason_source"] == "llm" else f" [{doc['reason_source']}]"
    console.print(f"[bold]Why[/bold] {escape(doc['reason'] or '')}[dim]{escape(source)}[/dim]")


def print_models(rows: Sequence[Mapping[str, Any]], model_dir: object) -> None:
    """Print the model registry: name, size, state, description."""
    table = Table(title=f"models in {model_dir}")
    for column in ("name", "size", "state", "description"):
        table.add_column(column)
    for row in rows:
        name = row["name"] + (" (default)" if row["default"] else "")
        table.add_row(name, f"{row['size'] / 1e6:,.0f} MB", row["state"], row["description"])
    console.print(table)


def print_doctor(report: Mapping[str, Any]) -> None:
    """Print the doctor report as a two-column table."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, version in report["versions"].items():
        table.add_row(name, version or "[red]not installed[/red]")
    table.add_row("backend", report["backend"])
    for section in ("model", "paths", "device"):
        for key, value in report[section].items():
            table.add_row(f"model {key}" if section == "model" else key, escape(str(value)))
    trip = report["round_trip"]
    if trip["ok"]:
        verdict = f"[green]ok[/green] {trip['value']} in {trip['seconds']}s"
        verdict += "" if trip["correct"] else " (valid object, wrong sum: a weak model)"
    else:
        verdict = "[red]failed[/red]"
    table.add_row("round trip", verdict)
    console.print(table)
