"""MOTE's seed ensemble: the mean of its members' cosines, members trained as single models,
read by the checkpoint, MAR's alignment and the item index like one encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from m3rec.encoders.alignment import MotivationSpace
from m3rec.encoders.checkpoint import fingerprint, load_checkpoint, save_checkpoint
from m3rec.encoders.mote import (
    MoteEncoder,
    MoteEnsemble,
    members_of,
    score_histories,
)
from m3rec.encoders.recommender import MoteRecommender, member_seed
from tests.encoders.helpers import bag_of_words, loo_train_data, topic_dataset

CFG = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 2, "patience": 2}


@pytest.fixture(scope="module")
def topics():
    return topic_dataset()


@pytest.fixture(scope="module")
def tdata(topics):
    torch.set_num_threads(1)
    return loo_train_data(topics)


@pytest.fixture(scope="module")
def ensemble(tdata):
    return MoteRecommender(embed=bag_of_words, members=3, **CFG).fit(tdata)


def member(seed: int, dim: int) -> MoteEncoder:
    torch.manual_seed(seed)
    return MoteEncoder(dim, text_dim=12, n_items=10, dropout=0.0).eval()


def test_an_ensemble_scores_by_the_mean_of_its_members_cosines():
    members = [member(0, 8), member(1, 8), member(2, 4)]
    both = MoteEnsemble(members).eval()
    text, items = torch.randn(10, 12), torch.arange(10)
    hists = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    with torch.no_grad():
        vecs = both.item_vectors(text, items)
        assert vecs.shape == (10, 20)
        joint = score_histories(both, vecs, hists, None, 4)
        alone = [score_histories(m, m.item_vectors(text, items), hists, None, 4) for m in members]
    torch.testing.assert_close(joint, torch.stack(alone).mean(0))
    unit = both.unit(vecs)
    torch.testing.assert_close(unit.norm(dim=-1), torch.ones(10))


def test_the_first_member_is_the_single_model_and_the_others_differ(tdata, ensemble):
    single = MoteRecommender(embed=bag_of_words, **CFG).fit(tdata)
    first, *others = members_of(ensemble.encoder)
    for name, weight in single.encoder.state_dict().items():
        torch.testing.assert_close(first.state_dict()[name], weight, rtol=0, atol=0)
    assert not torch.equal(others[0].text_skip.weight, first.text_skip.weight)
    assert [member_seed(0, j) for j in range(3)] == [0, 1000, 2000]


def test_the_run_reports_each_member_and_the_ensembles_validation(ensemble):
    result = ensemble.result
    assert len(result.member_best_epochs) == 3
    assert result.best_epoch == max(result.member_best_epochs)
    assert {entry["member"] for entry in result.history} == {0.0, 1.0, 2.0}
    assert result.epochs_run == len(result.history)
    assert result.best_valid_ndcg10 is not None and 0 < result.best_valid_ndcg10 <= 1


def test_an_ensemble_checkpoint_scores_the_same(tmp_path, topics, ensemble):
    fp = fingerprint(topics.name, topics.item_ids, topics.sequences, topics.item_texts, "bow-64")
    save_checkpoint(tmp_path / "mote.pt", ensemble.to_checkpoint(fp))
    loaded = MoteRecommender.from_checkpoint(
        load_checkpoint(tmp_path / "mote.pt", fp), topics.item_texts, embed=bag_of_words
    )
    assert isinstance(loaded.encoder, MoteEnsemble) and loaded.cfg.members == 3
    users = np.arange(6)
    hists = [topics.sequences[u][:-1] for u in users]
    np.testing.assert_array_equal(
        loaded.score(users, hists, None), ensemble.score(users, hists, None)
    )


def test_the_alignment_reads_an_ensemble_as_the_mean_of_its_members(topics, ensemble):
    space = MotivationSpace(ensemble)
    notes = [topics.item_texts[0], topics.item_texts[7]]
    found = space.align(space.motivation_vectors(notes), np.arange(12))
    per_member = []
    for enc in members_of(ensemble.encoder):
        with torch.no_grad():
            text = torch.as_tensor(ensemble.embed_items(notes))
            m = torch.nn.functional.normalize(enc.project_text(text), dim=-1)
            t = torch.nn.functional.normalize(enc.project_text(ensemble.item_text[:12]), dim=-1)
        per_member.append((m @ t.T).numpy())
    np.testing.assert_allclose(found.cosines, np.mean(per_member, axis=0), atol=1e-5)


def test_the_nearest_item_term_adds_to_the_score_without_a_new_fit(tdata, ensemble):
    with_term, without = (
        MoteRecommender(embed=bag_of_words, members=3, maxpool_weight=w, **CFG) for w in (0.5, 0)
    )
    assert with_term.training_key() == without.training_key() == ensemble.training_key()
    for model in (with_term, without):
        model.load_trained(ensemble.encoder, ensemble.item_text)
    cases = tdata.valid
    users, hists, cand = cases.users[:20], cases.histories[:20], cases.candidates[:20]
    added = with_term.score(users, hists, cand) - without.score(users, hists, cand)
    every = torch.arange(len(ensemble.item_text))
    with torch.no_grad():  # the nearest item by the ensemble's cosine, the mean of its members'
        cosines = torch.stack(
            [
                torch.nn.functional.normalize(m.item_vectors(ensemble.item_text, every), dim=-1)
                for m in members_of(ensemble.encoder)
            ]
        )
        cosines = (cosines @ cosines.mT).mean(0).numpy()
    for row, (h, c) in enumerate(zip(hists, cand, strict=True)):
        best = cosines[np.asarray(h[-10:])][:, np.where(c >= 0, c, 0)].max(0)
        np.testing.assert_allclose(added[row], 0.5 * best, atol=1e-5)
    assert np.abs(added).max() > 0.01
