"""MOTE as a recommender in the evaluation harness (`m3rec evaluate --models mote`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch

from m3rec.encoders.checkpoint import Checkpoint, Fingerprint
from m3rec.encoders.config import SCORING_ONLY, MoteConfig
from m3rec.encoders.mote import (
    Encoder,
    MoteEncoder,
    MoteEnsemble,
    members_of,
    score_histories,
)
from m3rec.encoders.notes import embed_notes
from m3rec.encoders.training import (
    MaxpoolChoice,
    TrainResult,
    all_item_vectors,
    check_device,
    choose_maxpool_weight,
    ensemble_result,
    train_encoder,
)
from m3rec.ranking.contract import EpochCallback, Recommender, TrainData
from m3rec.ranking.torch_utils import setup_torch, use_threads

Embed = Callable[[list[str]], np.ndarray]


def item_inputs(texts: list[str], traits: list[str] | None) -> list[str]:
    """Return the text MOTE embeds for each item: its text, then the needs it serves if known."""
    if traits is None:
        return list(texts)
    return [f"{t}. Serves: {tr}" if tr else t for t, tr in zip(texts, traits, strict=True)]


def member_seed(seed: int, member: int) -> int:
    """Return the seed of an ensemble's MEMBER-th encoder (the first keeps SEED), far enough
    apart that the members of seeds 0, 1 and 2 never share one."""
    return seed + 1000 * member


def _member_epochs(
    on_epoch: EpochCallback | None, member: int, cfg: MoteConfig
) -> EpochCallback | None:
    """Report a member's epochs as epochs of the whole ensemble's training."""
    if on_epoch is None or cfg.members == 1:
        return on_epoch
    offset, total = member * cfg.epochs, cfg.members * cfg.epochs
    return lambda epoch, _epochs, logs: on_epoch(offset + epoch, total, logs)


class MoteRecommender(Recommender):
    """Rank candidates by the alignment of their trait vectors with the user's motivations.

    Users are represented by their visible history's items, which stand in for motivation
    notes; items by their text and metadata traits. With `maxpool_weight`, a candidate also gains
    its best cosine with any one of those items. Users with LLM notes (`use_notes`) also
    score each candidate by the cosine between their notes and its text, weighted by
    `notes_weight`, and by MAR's alignment (the cosine, in MOTE's space, of the motivation it
    serves best), weighted by `align_weight`.
    """

    name = "mote"
    config_class = MoteConfig
    is_baseline = False
    embeds_text: ClassVar[bool] = True  # the harness hands it the embedding cache folder
    encoder: Encoder
    item_text: torch.Tensor  # the items' sentence embeddings, the encoder's input
    texts: list[str]  # the items' texts, as fitted
    result: TrainResult
    best_epoch: int

    def __init__(
        self,
        config: MoteConfig | None = None,
        *,
        embed: Embed | None = None,
        cache_dir: Path | None = None,
        **overrides: Any,
    ) -> None:
        """Configure MOTE; item texts are embedded by EMBED, else by all-MiniLM-L6-v2 with its
        vectors cached in CACHE_DIR (settings.paths.embeddings_dir; None: not cached)."""
        super().__init__(config, **overrides)
        self._embed = embed
        self.cache_dir = cache_dir
        self.shared_fits: dict[str, MoteRecommender] | None = None
        self.fit_from: str | None = None  # the model whose fitted encoder this one took
        self.maxpool_choice: MaxpoolChoice | None = None  # what an 'auto' maxpool_weight chose

    @property
    def cfg(self) -> MoteConfig:
        """Return the typed configuration."""
        assert isinstance(self.config, MoteConfig)
        return self.config

    def build(self, n_users: int, n_items: int, text_dim: int) -> Encoder:
        """Create the untrained encoder for this configuration, on its device: one seeded
        encoder, or with `members` > 1 an ensemble of them, each from its member seed."""
        cfg = self.cfg
        members = [
            self._member(member_seed(cfg.seed, j), n_users, n_items, text_dim)
            for j in range(cfg.members)
        ]
        encoder = members[0] if len(members) == 1 else MoteEnsemble(members)
        return encoder.to(cfg.device)

    def _member(self, seed: int, n_users: int, n_items: int, text_dim: int) -> MoteEncoder:
        cfg = self.cfg
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return MoteEncoder(
                cfg.dim,
                text_dim=text_dim,
                slots=cfg.slots,
                n_items=n_items if cfg.item_ids else 0,
                n_users=n_users if cfg.user_ids else 0,
                dropout=cfg.dropout,
                order_layers=cfg.order_layers,
                max_notes=cfg.max_notes,
                recency=cfg.recency,
            )

    def training_key(self) -> str:
        """Return what decides the trained encoder: the configuration less the settings that
        only change how it scores (two models with one key train the same weights)."""
        return json.dumps(self.cfg.model_dump(exclude=set(SCORING_ONLY)), sort_keys=True)

    def fit(self, data: TrainData, on_epoch: EpochCallback | None = None) -> Self:
        """Embed the item texts (cached on disk), then train the encoder with InfoNCE.

        With `shared_fits` set (the harness does, per cold_k and seed), a model whose training
        key was fitted already on the same data takes that encoder instead of training again.
        """
        self.texts = list(data.item_texts)  # what the LLM is shown and the ablations read
        shared = self.shared_fits
        if shared is not None and (done := shared.get(self.training_key())) is not None:
            self.result, self.best_epoch, self.fit_from = done.result, done.best_epoch, done.name
            self.load_trained(done.encoder, done.item_text)
            self._choose_maxpool(data, done.maxpool_choice)
            return self
        cfg = self.cfg
        check_device(cfg.device)
        text = self.embed_items(item_inputs(data.item_texts, self._traits(data.item_traits)))
        self.item_text = torch.as_tensor(text, device=cfg.device)
        self.encoder = self.build(data.n_users, data.n_items, text.shape[1])
        runs = [
            self._train(member, member_seed(cfg.seed, j), data, _member_epochs(on_epoch, j, cfg))
            for j, member in enumerate(members_of(self.encoder))
        ]
        if len(runs) == 1:
            self.result = runs[0]
        else:
            self.result = ensemble_result(self.encoder, runs, self.item_text, cfg, data.valid)
        self.best_epoch = self.result.best_epoch
        self.load_trained(self.encoder, self.item_text)
        self._choose_maxpool(data)
        if shared is not None:
            shared[self.training_key()] = self
        return self

    def _choose_maxpool(self, data: TrainData, known: MaxpoolChoice | None = None) -> None:
        """Settle an 'auto' maxpool_weight on the validation users (KNOWN: the choice a model
        with the same fit made already, taken when it asked for the same maxpool_min_z); a fixed
        weight stays."""
        if self.cfg.maxpool_weight is not None:
            return
        choice = known
        if choice is None or choice.min_z != self.cfg.maxpool_min_z:
            choice = choose_maxpool_weight(self.encoder, self.item_text, data.valid, self.cfg)
        self.maxpool_choice = choice
        self.config = self.cfg.model_copy(update={"maxpool_weight": choice.weight})

    def run_report(self) -> dict[str, Any]:
        """Return the maxpool weight an 'auto' setting chose (`maxpool_weight_chosen`: the
        weight, as text, 1 a fit; the harness sums them over seeds)."""
        choice = self.maxpool_choice
        return {} if choice is None else {"maxpool_weight_chosen": {str(choice.weight): 1}}

    def _train(
        self, member: MoteEncoder, seed: int, data: TrainData, on_epoch: EpochCallback | None
    ) -> TrainResult:
        cfg = self.cfg
        gen = setup_torch(seed, cfg.threads, cfg.device)
        # Dropout draws from torch's default generator: fork it so the run depends on the seed
        # alone and the caller's global state is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return train_encoder(
                member, self.item_text, data.sequences, cfg, gen, data.valid, on_epoch
            )

    def _traits(self, traits: list[str] | None) -> list[str] | None:
        return traits if self.cfg.traits else None

    def embed_items(self, texts: list[str]) -> np.ndarray:
        """Return the frozen sentence embeddings of item texts."""
        if self._embed is None:
            from m3rec.embeddings import embed_texts

            self._embed = partial(embed_texts, cache_dir=self.cache_dir)
        return np.asarray(self._embed(list(texts)), dtype=np.float32)

    def load_trained(self, encoder: Encoder, item_text: torch.Tensor) -> None:
        """Use a trained `encoder` (e.g. from a checkpoint) over `item_text` for scoring."""
        self.encoder, self.item_text = encoder.eval(), item_text
        self.item_vecs = all_item_vectors(encoder, item_text)
        self.item_units = torch.nn.functional.normalize(item_text, dim=-1)
        self.user_notes: dict[int, torch.Tensor] = {}  # unit mean note embedding per user
        self.note_texts: dict[int, list[str]] = {}  # each user's notes, for the alignment term
        self._space: Any = None  # MAR's motivation space, built on first use
        self.fitted = True

    @torch.no_grad()
    def score(
        self, users: np.ndarray, histories: list[np.ndarray], candidates: np.ndarray | None
    ) -> np.ndarray:
        """Return the motivation-trait alignment of each candidate, plus the notes term."""
        self._check_fitted()
        cfg = self.cfg
        ids = np.asarray(users) if cfg.user_ids else None
        scores = self.history_scores(histories, candidates, ids)
        if self.user_notes and cfg.notes_weight > 0:
            self._add_notes_term(scores, users, candidates)
        out = scores.cpu().numpy()
        if self.note_texts and cfg.align_weight > 0:
            self._add_alignment_term(out, users, candidates)
        return out

    @torch.no_grad()
    def history_scores(
        self, histories: list[np.ndarray], candidates: np.ndarray | None, ids: np.ndarray | None
    ) -> torch.Tensor:
        """Return what the histories alone give each candidate (batch, c): the motivation-trait
        cosine, plus `maxpool_weight` x the nearest history item's (the harness and the product
        commands both score this way). IDS: user indices, when user-id embeddings are on."""
        cfg = self.cfg
        return score_histories(
            self.encoder,
            self.item_vecs,
            histories,
            candidates,
            cfg.max_notes,
            ids,
            maxpool_weight=cfg.maxpool_weight or 0.0,
        )

    def _add_alignment_term(
        self, scores: np.ndarray, users: np.ndarray, candidates: np.ndarray | None
    ) -> None:
        from m3rec.encoders.alignment import MotivationSpace, aligned_scores

        if self._space is None:
            self._space = MotivationSpace(self)
        every = np.arange(scores.shape[1])
        for row, user in enumerate(users):
            notes = self.note_texts.get(int(user))
            if not notes:
                continue
            items = (
                every if candidates is None else np.where(candidates[row] >= 0, candidates[row], 0)
            )
            found = self._space.align(self._space.motivation_vectors(notes), items)
            scores[row] = aligned_scores(scores[row], found.strength, self.cfg.align_weight)

    def _add_notes_term(
        self, scores: torch.Tensor, users: np.ndarray, candidates: np.ndarray | None
    ) -> None:
        for row, user in enumerate(users):
            note = self.user_notes.get(int(user))
            if note is None:
                continue
            items = self.item_units
            if candidates is not None:
                items = items[torch.as_tensor(np.where(candidates[row] >= 0, candidates[row], 0))]
            scores[row] += self.cfg.notes_weight * (items @ note)

    def use_notes(self, notes: Mapping[int, list[str]]) -> None:
        """Score these users (by index) with their LLM motivation notes as well as their history.

        Each user's notes are embedded with the item text encoder and averaged; a candidate
        gains `notes_weight` times the cosine between that mean and its text. Notes replace any
        given before; users without notes score as before.
        """
        self._check_fitted()
        self.note_texts = {u: list(v) for u, v in notes.items() if v}
        embedded = embed_notes(notes, self.embed_items)
        device = self.item_units.device
        self.user_notes = {
            u: torch.nn.functional.normalize(torch.as_tensor(v, device=device).mean(0), dim=0)
            for u, v in embedded.items()
        }

    def to_checkpoint(self, fingerprint: Fingerprint) -> Checkpoint:
        """Return this fitted model as a checkpoint of the data it was trained on."""
        self._check_fitted()
        best = self.result.best_valid_ndcg10 if hasattr(self, "result") else None
        metrics = {"best_epoch": float(self.best_epoch)}
        if best is not None:
            metrics["valid_ndcg10"] = best
        return Checkpoint(self.cfg, self.encoder.state_dict(), fingerprint, metrics)

    @classmethod
    def from_checkpoint(
        cls,
        ckpt: Checkpoint,
        item_texts: list[str],
        *,
        item_traits: list[str] | None = None,
        embed: Embed | None = None,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> MoteRecommender:
        """Rebuild a fitted model from a checkpoint (check its fingerprint first).

        It scores on THREADS torch threads (settings.torch.threads), else on the threads it
        was trained on; item texts are embedded as in __init__.
        """
        config = (
            ckpt.config if threads is None else ckpt.config.model_copy(update={"threads": threads})
        )
        model = cls(config, embed=embed, cache_dir=cache_dir)
        use_threads(model.cfg.threads, deterministic=model.cfg.device == "cpu")
        text = model.embed_items(item_inputs(item_texts, model._traits(item_traits)))
        fp = ckpt.fingerprint
        encoder = model.build(fp.n_users, fp.n_items, text.shape[1])
        encoder.load_state_dict(ckpt.weights)
        model.best_epoch = int(ckpt.metrics.get("best_epoch", 0))
        model.load_trained(encoder, torch.as_tensor(text, device=ckpt.config.device))
        return model
