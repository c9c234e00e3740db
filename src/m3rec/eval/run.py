"""`m3rec evaluate` as one call: index the dataset, run the plan, write every report file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from m3rec.data import Dataset, index_dataset
from m3rec.eval.harness import EvalSettings, ProgressCallback, run_evaluation
from m3rec.eval.report import write_per_user, write_report


@dataclass(frozen=True)
class EvaluationReport:
    """The results document (with the dataset's load report) and the files written."""

    doc: dict[str, Any]
    paths: list[Path]


def evaluate_dataset(
    dataset: Dataset, plan: EvalSettings, out: Path, progress: ProgressCallback | None = None
) -> EvaluationReport:
    """Fit and score PLAN's models on DATASET; write results.json, results.md, the charts and
    per_user.npz to OUT (an OSError names a folder that cannot be written)."""
    result = run_evaluation(index_dataset(dataset), plan, progress)
    doc = {**result.to_json(), "load_report": dataset.load_report.as_dict()}
    paths = [*write_report(doc, out), write_per_user(result, out)]
    return EvaluationReport(doc, paths)
