"""The MOTE modules: shapes, masks (padding never attended), recency, note batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3rec.encoders.config import MoteConfig
from m3rec.encoders.mote import (
    MoteEncoder,
    history_notes,
    nearest_history_similarity,
    score_histories,
)
from m3rec.encoders.training import PairIndex, batch_notes, info_nce, shared_negatives


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def encoder(**kwargs) -> MoteEncoder:
    torch.manual_seed(0)
    return MoteEncoder(8, text_dim=12, dropout=0.0, **kwargs).eval()


def test_shapes():
    enc = encoder(slots=3, n_items=10, n_users=4)
    items = enc.item_vectors(torch.randn(10, 12), torch.arange(10))
    notes, mask = torch.randn(5, 6, 8), torch.ones(5, 6, dtype=torch.bool)
    users = enc.pool(notes, mask, torch.arange(5) % 4)
    assert items.shape == (10, 8) and users.shape == (5, 3, 8)
    assert enc.similarity(users, items).shape == (5, 10)
    assert enc.similarity(users, items[torch.zeros(5, 7, dtype=torch.long)]).shape == (5, 7)


def test_padding_is_never_attended():
    enc = encoder(slots=2)
    notes = torch.randn(3, 5, 8)
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    before = enc.pool(notes, mask)
    changed = torch.where(mask.unsqueeze(-1), notes, torch.randn(3, 5, 8) * 1e6)
    assert torch.equal(enc.pool(changed, mask), before)
    weights = enc.attention(notes, mask)
    assert torch.all(weights[~mask.unsqueeze(1).expand_as(weights)] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))


def test_where_the_padding_sits_does_not_matter():
    enc = encoder()
    real = torch.randn(1, 3, 8)
    left = torch.cat([torch.zeros(1, 2, 8), real], 1)
    gaps = torch.stack([real[0, 0], torch.zeros(8), real[0, 1], torch.zeros(8), real[0, 2]])[None]
    a = enc.pool(left, torch.tensor([[0, 0, 1, 1, 1]], dtype=torch.bool))
    b = enc.pool(gaps, torch.tensor([[1, 0, 1, 0, 1]], dtype=torch.bool))
    torch.testing.assert_close(a, b)


def test_later_notes_weigh_more():
    enc = encoder()
    same = torch.randn(8).expand(1, 4, 8)  # identical content: only recency differs
    weights = enc.attention(same, torch.ones(1, 4, dtype=torch.bool))[0, 0]
    assert torch.all(weights[1:] > weights[:-1])


def test_without_recency_notes_of_the_same_content_weigh_the_same():
    enc = encoder(recency=False)
    same = torch.randn(8).expand(1, 4, 8)
    weights = enc.attention(same, torch.ones(1, 4, dtype=torch.bool))[0, 0]
    torch.testing.assert_close(weights, torch.full((4,), 0.25))
    assert enc.decay is None and "decay" not in enc.state_dict()


def test_a_user_without_notes_gets_a_zero_vector_and_finite_scores():
    enc = encoder(n_items=4)
    user = enc.pool(torch.randn(1, 3, 8), torch.zeros(1, 3, dtype=torch.bool))
    assert torch.equal(user, torch.zeros(1, 1, 8))
    items = enc.item_vectors(torch.randn(4, 12), torch.arange(4))
    assert torch.all(torch.isfinite(enc.similarity(user, items)))


def test_history_notes_keep_the_most_recent_right_aligned():
    idx, mask = history_notes([np.array([1, 2, 3, 4]), np.array([7]), np.array([], int)], 3)
    assert idx.tolist() == [[2, 3, 4], [0, 0, 7], [0, 0, 0]]
    assert mask.tolist() == [[True] * 3, [False, False, True], [False] * 3]


def test_scores_for_candidates_match_full_scores():
    enc = encoder(n_items=6)
    vecs = enc.item_vectors(torch.randn(6, 12), torch.arange(6))
    hists = [np.array([0, 1]), np.array([5])]
    cand = np.array([[2, 3, -1], [4, 0, 1]])
    full = score_histories(enc, vecs, hists, None, 4)
    part = score_histories(enc, vecs, hists, cand, 4)
    torch.testing.assert_close(part[:, :2], full.gather(1, torch.as_tensor(cand[:, :2])))


def test_batch_notes_stay_inside_the_user_and_before_the_target():
    seqs = [np.array([10, 11, 12, 13, 14]), np.array([20, 21]), np.array([30])]
    pairs = PairIndex.build(seqs)
    assert pairs.flat[pairs.positions].tolist() == [11, 12, 13, 14, 21]
    cfg = MoteConfig(max_notes=3, short_history=0.0, note_dropout=0.0)
    gen = torch.Generator().manual_seed(0)
    items, mask = batch_notes(pairs, pairs.positions, cfg, gen)
    got = [items[r][mask[r]].tolist() for r in range(len(items))]
    assert got == [[10], [10, 11], [10, 11, 12], [11, 12, 13], [20]]


def test_cold_start_augmentation_cuts_to_one_or_two_notes():
    seq = [np.arange(50)]
    pairs = PairIndex.build(seq)
    cfg = MoteConfig(max_notes=10, short_history=1.0, short_max=2, note_dropout=0.0)
    g = pairs.positions[20:]
    items, mask = batch_notes(pairs, g, cfg, torch.Generator().manual_seed(1))
    counts = mask.sum(1)
    assert set(counts.tolist()) == {1, 2}
    assert torch.equal(items[:, -1], pairs.flat[g - 1])  # the most recent item is always kept


def test_note_dropout_keeps_the_most_recent_note():
    pairs = PairIndex.build([np.arange(40)])
    cfg = MoteConfig(max_notes=8, short_history=0.0, note_dropout=0.9)
    g = pairs.positions[10:]
    _, mask = batch_notes(pairs, g, cfg, torch.Generator().manual_seed(2))
    assert torch.all(mask[:, -1]) and mask[:, :-1].float().mean() < 0.3


def test_a_batch_shares_uniform_negatives_or_every_item():
    gen = torch.Generator().manual_seed(0)
    drawn = shared_negatives(100, 30, gen)
    assert drawn.shape == (30,) and drawn.min() >= 0 and drawn.max() < 100
    assert torch.equal(shared_negatives(100, 100, gen), torch.arange(100))  # a full softmax
    assert torch.equal(shared_negatives(100, 5000, gen), torch.arange(100))


def test_the_order_layers_never_read_padding_and_keep_an_empty_user_at_zero():
    enc = encoder(order_layers=1, max_notes=5)
    notes = torch.randn(3, 5, 8)
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    before = enc.pool(notes, mask)
    changed = torch.where(mask.unsqueeze(-1), notes, torch.randn(3, 5, 8) * 1e3)
    torch.testing.assert_close(enc.pool(changed, mask), before)
    assert torch.equal(before[2], torch.zeros(1, 8))


def test_the_order_layers_read_the_order_of_the_notes():
    enc = encoder(order_layers=1, max_notes=4)
    with torch.no_grad():
        enc.age_emb.weight.normal_(std=1.0)
    notes = torch.randn(1, 4, 8)
    mask = torch.ones(1, 4, dtype=torch.bool)
    swapped = notes[:, [1, 0, 2, 3]]
    assert not torch.allclose(enc.pool(notes, mask), enc.pool(swapped, mask))


def test_the_nearest_history_item_scores_each_candidate_by_its_best_cosine():
    torch.manual_seed(0)
    enc = MoteEncoder(8, text_dim=12, n_items=10, dropout=0.0).eval()
    with torch.no_grad():
        vecs = enc.item_vectors(torch.randn(10, 12), torch.arange(10))
        hists = [np.array([1, 2, 3]), np.array([4]), np.array([], dtype=np.int64), np.array([4, 6])]
        full = nearest_history_similarity(enc, vecs, hists, None, 2)
        units = torch.nn.functional.normalize(vecs, dim=-1)
        # only the 2 most recent items count: item 1 is beyond max_notes
        torch.testing.assert_close(full[0], (units[[2, 3]] @ units.T).max(0).values)
        assert torch.equal(full[1], torch.zeros(10))  # one item: the pooled vector holds it
        assert torch.equal(full[2], torch.zeros(10))
        cand = np.array([[5, 0, -1], [9, 4, 2], [1, 2, 3], [9, 4, 2]])
        some = nearest_history_similarity(enc, vecs, hists, cand, 2)
    torch.testing.assert_close(some[:, :2], torch.gather(full, 1, torch.as_tensor(cand[:, :2])))
    torch.testing.assert_close(some[0, 2], full[0, 0])  # -1 reads item 0, as scores do
    assert some[3, 1] == pytest.approx(1.0)  # the item itself is its own nearest


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_training_scores_its_candidates_as_scoring_does(weight):
    """InfoNCE's logits are `score_histories`' scores over the batch's distinct candidates, the
    nearest-note term (`maxpool_train`) included, so the space is learned for the term."""
    torch.manual_seed(0)
    enc = MoteEncoder(8, text_dim=12, n_items=12, dropout=0.0).eval()
    text = torch.randn(12, 12)
    notes = torch.tensor([[1, 2, 3], [0, 0, 4], [5, 6, 7], [0, 8, 9]])
    mask = torch.tensor([[1, 1, 1], [0, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=torch.bool)
    targets, negatives = torch.tensor([4, 10, 11, 2]), torch.tensor([0, 3, 10])
    with torch.no_grad():
        loss = info_nce(enc, text, notes, mask, None, targets, negatives, 0.1, weight)
        candidates, label = torch.unique(torch.cat([targets, negatives]), return_inverse=True)
        hists = [row[keep].numpy() for row, keep in zip(notes, mask, strict=True)]
        cand = np.tile(candidates.numpy(), (len(hists), 1))
        vecs = enc.item_vectors(text, torch.arange(12))
        scores = score_histories(enc, vecs, hists, cand, 3, maxpool_weight=weight)
        expected = torch.nn.functional.cross_entropy(scores / 0.1, label[:4])
    torch.testing.assert_close(loss, expected)
