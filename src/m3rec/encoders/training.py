"""Train MOTE: InfoNCE between a user's motivation vector and their next item."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from m3rec.encoders.config import MAXPOOL_GRID, MoteConfig
from m3rec.encoders.errors import EncoderError
from m3rec.encoders.mote import Encoder, MoteEncoder, nearest_note_cosine, score_histories
from m3rec.ranking.contract import EpochCallback, EvalCases
from m3rec.ranking.metrics import metrics_from_ranks, paired_z, target_ranks
from m3rec.ranking.torch_utils import EarlyStopping


@dataclass
class TrainResult:
    """What a training run did: epochs run, the best epoch and its validation NDCG@10.

    Each `history` entry logs one epoch: loss, `epoch_seconds` (the training steps),
    `valid_ndcg10` when validated, and `seconds`, the epoch's whole wall time.
    """

    epochs_run: int
    best_epoch: int
    best_valid_ndcg10: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    member_best_epochs: list[int] = field(default_factory=list)  # an ensemble's, in seed order


@dataclass(frozen=True)
class PairIndex:
    """Every (user, next item) training pair as a position in the concatenated sequences."""

    flat: torch.Tensor  # all training items, user after user
    start: torch.Tensor  # for each position, where its user's sequence starts
    user: torch.Tensor  # for each position, its user
    positions: torch.Tensor  # positions with at least one earlier item: the targets

    @classmethod
    def build(cls, sequences: list[np.ndarray]) -> PairIndex:
        """Index the pairs of `sequences`."""
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        flat = np.concatenate(sequences).astype(np.int64) if len(sequences) else np.zeros(0)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        users = np.repeat(np.arange(len(sequences)), lengths)
        positions = np.flatnonzero(np.arange(len(flat)) > starts)
        arrays = (flat, starts, users, positions)
        return cls(*(torch.as_tensor(a, dtype=torch.long) for a in arrays))


def batch_notes(
    pairs: PairIndex, g: torch.Tensor, cfg: MoteConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the note items (batch, max_notes), oldest first, and their mask, augmented.

    Each target's notes are the items before it. A `short_history` share of rows is cut to its
    last 1..short_max items (cold start), then each note but the most recent is dropped with
    probability `note_dropout`.
    """
    n, b = cfg.max_notes, len(g)
    cols = torch.arange(n)
    idx = g.unsqueeze(1) - n + cols.unsqueeze(0)
    start = pairs.start[g].unsqueeze(1)
    mask = idx >= start
    short = torch.rand(b, generator=gen) < cfg.short_history
    keep = torch.randint(1, cfg.short_max + 1, (b,), generator=gen)
    mask &= ~short.unsqueeze(1) | (idx >= (g - keep).unsqueeze(1))
    dropped = torch.rand(b, n, generator=gen) < cfg.note_dropout
    mask &= ~dropped | (cols == n - 1).unsqueeze(0)
    items = torch.where(mask, pairs.flat[idx.clamp(min=0)], torch.zeros_like(idx))
    return items, mask


def info_nce(
    encoder: MoteEncoder,
    item_text: torch.Tensor,
    notes: torch.Tensor,
    mask: torch.Tensor,
    users: torch.Tensor | None,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float,
    maxpool_weight: float = 0.0,
) -> torch.Tensor:
    """Return InfoNCE of each target against the batch's other targets and the shared negatives,
    the logits scored as `score_histories` scores (MAXPOOL_WEIGHT x the nearest note's cosine
    added, for rows with two notes or more).

    Candidates are deduplicated, so an item that is this row's target is never also one of its
    negatives, and the logits stay (batch, distinct candidates) however large the batch grows.
    """
    b, n = notes.shape
    candidates, label = torch.unique(torch.cat([targets, negatives]), return_inverse=True)
    wanted = torch.cat([notes.reshape(-1), candidates])
    uniq, inverse = torch.unique(wanted, return_inverse=True)
    vecs = encoder.item_vectors(item_text[uniq], uniq)[inverse]
    motivations = encoder.pool(vecs[: b * n].view(b, n, -1), mask, users)
    scores = encoder.similarity(motivations, vecs[b * n :])
    if maxpool_weight > 0:
        units = encoder.unit(vecs)
        near = nearest_note_cosine(units[: b * n].view(b, n, -1), mask, units[b * n :].T[None])
        scores = scores + maxpool_weight * near
    return nn.functional.cross_entropy(scores / temperature, label[:b])


def shared_negatives(n_items: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """Return the negatives a batch shares: `count` uniform draws, or every item when `count`
    reaches the catalogue's size (a full softmax)."""
    if count >= n_items:
        return torch.arange(n_items)
    return torch.randint(0, n_items, (count,), generator=gen)


@torch.no_grad()
def all_item_vectors(encoder: Encoder, item_text: torch.Tensor) -> torch.Tensor:
    """Return every item's trait vector (n_items, dim), in eval mode."""
    was_training = encoder.training
    encoder.eval()
    vecs = encoder.item_vectors(item_text, torch.arange(len(item_text), device=item_text.device))
    encoder.train(was_training)
    return vecs


@torch.no_grad()
def valid_user_ndcg10(
    encoder: Encoder,
    item_text: torch.Tensor,
    cases: EvalCases,
    cfg: MoteConfig,
    maxpool_weight: float = 0.0,
    vecs: torch.Tensor | None = None,
    batch_size: int = 512,
) -> np.ndarray:
    """Return each validation case's NDCG@10 on its sampled candidates (ties broken at random,
    seeded, so two weights are told apart on the same draws), scored with MAXPOOL_WEIGHT over
    the item vectors VECS (computed here when not given)."""
    was_training = encoder.training
    encoder.eval()
    if vecs is None:
        vecs = all_item_vectors(encoder, item_text)
    rng = np.random.default_rng([cfg.seed, 0x7A11D])
    ranks = []
    for s in range(0, len(cases.users), batch_size):
        cand = cases.candidates[s : s + batch_size]
        users = cases.users[s : s + batch_size] if cfg.user_ids else None
        scores = score_histories(
            encoder,
            vecs,
            cases.histories[s : s + batch_size],
            cand,
            cfg.max_notes,
            users,
            maxpool_weight,
        )
        col = np.zeros(len(cand), dtype=np.int64)
        ranks.append(target_ranks(scores.double().cpu().numpy(), col, cand >= 0, rng))
    encoder.train(was_training)
    return metrics_from_ranks(np.concatenate(ranks) if ranks else np.zeros(0, np.int64))["NDCG@10"]


def valid_ndcg10(
    encoder: Encoder,
    item_text: torch.Tensor,
    cases: EvalCases,
    cfg: MoteConfig,
    maxpool_weight: float = 0.0,
) -> float:
    """Return the mean NDCG@10 on sampled validation cases, scored with MAXPOOL_WEIGHT."""
    per_user = valid_user_ndcg10(encoder, item_text, cases, cfg, maxpool_weight)
    return float(per_user.mean()) if len(per_user) else 0.0


def train_encoder(
    encoder: MoteEncoder,
    item_text: torch.Tensor,
    sequences: list[np.ndarray],
    cfg: MoteConfig,
    gen: torch.Generator,
    valid: EvalCases | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train `encoder` in place; keep the weights of the best validation NDCG@10."""
    device = item_text.device
    pairs = PairIndex.build(sequences)
    if not len(pairs.positions):
        raise EncoderError(
            "no user has two training interactions, so MOTE has nothing to learn; "
            "use a dataset with longer histories"
        )
    n_items = len(item_text)
    opt = torch.optim.Adam(encoder.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    stopper = EarlyStopping(cfg.patience)
    result = TrainResult(0, 0, None)
    for epoch in range(1, cfg.epochs + 1):
        encoder.train()
        started = time.perf_counter()
        order = pairs.positions[torch.randperm(len(pairs.positions), generator=gen)]
        if cfg.pairs_per_epoch is not None:
            order = order[: cfg.pairs_per_epoch]
        total, count = 0.0, 0
        for s in range(0, len(order), cfg.batch_size):
            g = order[s : s + cfg.batch_size]
            notes, mask = batch_notes(pairs, g, cfg, gen)
            negatives = shared_negatives(n_items, cfg.negatives, gen)
            users = pairs.user[g].to(device) if cfg.user_ids else None
            loss = info_nce(
                encoder,
                item_text,
                notes.to(device),
                mask.to(device),
                users,
                pairs.flat[g].to(device),
                negatives.to(device),
                cfg.temperature,
                cfg.maxpool_train,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(g)
            count += len(g)
        logs = {"loss": total / max(1, count), "epoch_seconds": time.perf_counter() - started}
        stop = False
        if valid is not None and len(valid.users) and epoch % cfg.eval_every == 0:
            logs["valid_ndcg10"] = valid_ndcg10(encoder, item_text, valid, cfg, cfg.maxpool_train)
            stop = stopper.check(logs["valid_ndcg10"], epoch, encoder)
        logs["seconds"] = time.perf_counter() - started  # the whole epoch, validation included
        result.history.append({"epoch": float(epoch), **logs})
        result.epochs_run = epoch
        if on_epoch:
            on_epoch(epoch, cfg.epochs, logs)
        if stop:
            break
    stopper.restore(encoder)
    result.best_epoch = stopper.best_epoch or result.epochs_run
    result.best_valid_ndcg10 = stopper.best if stopper.state is not None else None
    encoder.eval()
    return result


def ensemble_result(
    ensemble: Encoder,
    members: list[TrainResult],
    item_text: torch.Tensor,
    cfg: MoteConfig,
    valid: EvalCases | None = None,
) -> TrainResult:
    """Return an ensemble's training as one run: the members' epochs in turn (each entry says
    its `member`), the latest best epoch of any member, and the ensemble's own validation
    NDCG@10."""
    history = [{"member": float(j), **e} for j, run in enumerate(members) for e in run.history]
    best = None
    if valid is not None and len(valid.users):
        best = valid_ndcg10(ensemble, item_text, valid, cfg, cfg.maxpool_train)
    return TrainResult(
        epochs_run=sum(run.epochs_run for run in members),
        best_epoch=max(run.best_epoch for run in members),
        best_valid_ndcg10=best,
        history=history,
        member_best_epochs=[run.best_epoch for run in members],
    )


@dataclass(frozen=True)
class MaxpoolChoice:
    """The maxpool weight an 'auto' maxpool_weight took, each weight's validation NDCG@10, and
    each weight's paired gain over 0 in standard errors (`gain_z`), which had to reach `min_z`."""

    weight: float
    valid_ndcg10: dict[float, float]
    gain_z: dict[float, float]
    min_z: float


def pick_maxpool_weight(per_user: dict[float, np.ndarray], min_z: float) -> MaxpoolChoice:
    """Return the weight with the best mean of PER_USER (each weight's per-user validation
    NDCG@10, on the same users and draws) among 0 and the weights whose mean paired gain over 0
    is at least MIN_Z standard errors; the smaller weight on a tie.

    A weight's lead over 0 on a thousand users is often noise (ML-1M's 0.25 lead on 1,000 users
    reversed on 5,000), and a term that does not help costs accuracy, so 0 is kept unless the
    gain is clear of its noise.
    """
    base = per_user[0.0]
    means = {w: float(v.mean()) for w, v in per_user.items()}
    gain_z = {w: paired_z(v, base) for w, v in per_user.items() if w != 0.0}
    allowed = [0.0] + [w for w, z in gain_z.items() if z >= min_z]
    best = max(allowed, key=lambda w: (means[w], -w))
    return MaxpoolChoice(best, means, gain_z, min_z)


def choose_maxpool_weight(
    encoder: Encoder, item_text: torch.Tensor, valid: EvalCases | None, cfg: MoteConfig
) -> MaxpoolChoice:
    """Return the MAXPOOL_GRID weight `pick_maxpool_weight` takes on the validation cases
    (0 without validation cases)."""
    if valid is None or not len(valid.users):
        return MaxpoolChoice(0.0, {}, {}, cfg.maxpool_min_z)
    vecs = all_item_vectors(encoder, item_text)
    per_user = {
        w: valid_user_ndcg10(encoder, item_text, valid, cfg, maxpool_weight=w, vecs=vecs)
        for w in MAXPOOL_GRID
    }
    return pick_maxpool_weight(per_user, cfg.maxpool_min_z)


def check_device(device: str) -> None:
    """Refuse a device torch cannot use here, naming the fix."""
    if device == "cuda" and not torch.cuda.is_available():
        raise EncoderError("--device cuda was asked for but torch sees no GPU; use --device cpu")
