"""m3rec, m3rec-llm and llmrank in the harness: profiles from a real Chroma store pick the cold
users, alignment changes MOTE's ranking, and the LLM's order (replayed at the wire) is applied.
And m3rec's ablations: m3rec-history (the history's text for the motivations), notesim (raw
sentence embeddings for MOTE)."""

from __future__ import annotations

import numpy as np
import pytest

from m3rec.agents.notes import motivation_notes
from m3rec.eval.baselines.textsim import TextSim
from m3rec.eval.harness import EvalSettings, run_evaluation
from m3rec.eval.methods import LLMRank, M3Rec, M3RecHistory, M3RecLLM, NoteSim
from m3rec.llm.replay import ReplayBackend
from m3rec.schemas import MotivationProfile
from m3rec.settings import StoreSettings
from m3rec.store import open_store
from tests.eval.conftest import WORDS
from tests.eval.test_eval_baselines import bag_of_words

SMALL = {"dim": 16, "batch_size": 64, "threads": 1, "epochs": 3}
PROFILED = range(0, 24)  # users u0..u23 have a test profile at cold_k 2 by model-a


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    path = tmp_path_factory.mktemp("store")
    store = open_store(StoreSettings(path=path))
    for u in [*PROFILED, 30, 31]:
        word = WORDS[u % len(WORDS)]
        profile = MotivationProfile(
            user_id=f"u{u}",
            prompt_id="mope/v2",
            model="m",
            motivations=[
                {
                    "label": f"{word} things",
                    "description": f"wants {word} items",
                    "evidence": ["1"],
                    "strength": 0.9,
                    "first_seen": None,
                    "last_seen": None,
                }
            ],
            summary="s",
            shift="none",
        )
        model_id = "model-b" if u >= 30 else "model-a"
        meta = {"dataset": "topics", "cold_k": 2, "stage": "test", "model_id": model_id}
        store.put_profile(
            f"k{u}", f"u{u}", profile.model_dump(mode="json"), "s", motivation_notes(profile), meta
        )
    return path


def factory(llm=None):
    def build(name: str, seed: int):
        if name == "notesim":
            return NoteSim(seed=seed, embed=bag_of_words)
        kinds = {"mote": M3Rec, "m3rec": M3Rec, "llmrank": LLMRank, "m3rec-llm": M3RecLLM}
        kinds["m3rec-history"] = M3RecHistory
        extra = {"align_weight": 0.0} if name == "mote" else {}
        if name in ("m3rec", "m3rec-llm", "m3rec-history"):
            extra = {"align_weight": 1.0}
        if name in ("llmrank", "m3rec-llm"):
            extra |= {"llm": llm, "rerank_top": 3}
        return kinds[name](seed=seed, embed=bag_of_words, **SMALL, **extra)

    return build


def test_the_cold_users_are_the_profiled_ones_and_alignment_is_tested_against_mote(
    topics, profiles
):
    settings = EvalSettings(
        models=("mote", "m3rec"), cold_ks=(2,), seeds=1, profiles=profiles, profile_model="model-a"
    )
    result = run_evaluation(topics, settings, model_factory=factory())
    profiled = [topics.user_ids.index(f"u{u}") for u in PROFILED]
    assert all(r.users.tolist() == sorted(profiled) for r in result.records)
    rows = {row["model"]: row for row in result.rows()}
    assert rows["m3rec"]["paired_test_base"]["against"] == "mote"
    lo, hi = rows["m3rec"]["ci95"]["NDCG@10"]
    assert lo <= rows["m3rec"]["metrics"]["NDCG@10"] <= hi
    mote, m3rec = (result.paired_values(m, "sampled", 2) for m in ("mote", "m3rec"))
    assert not np.array_equal(mote, m3rec)  # the motivations moved some targets
    assert result.to_json()["settings"]["profile_model"] == "model-a"


def test_models_that_read_profiles_need_a_store_and_someone_profiled(topics, profiles):
    with pytest.raises(ValueError, match="--store"):
        EvalSettings(models=("m3rec",), cold_ks=(2,))
    settings = EvalSettings(
        models=("m3rec",), cold_ks=(2,), seeds=1, profiles=profiles, profile_model="model-z"
    )
    with pytest.raises(ValueError, match="no test profile by model-z"):
        run_evaluation(topics, settings, model_factory=factory())
    with pytest.raises(ValueError, match="asks an LLM"):
        EvalSettings(models=("llmrank",), cold_ks=(2,))


def test_llmrank_lifts_the_top_items_in_the_llm_order_and_counts_its_cost(topics, profiles):
    replies = ['{"order": ["3", "2", "1"]}'] * 4 + ["garbage", "still garbage"]
    llm = ReplayBackend(replies)
    settings = EvalSettings(
        models=("mote", "llmrank"), cold_ks=(2,), seeds=1, cold_users=5, llm=lambda: llm
    )
    events: list[tuple[str, dict]] = []
    result = run_evaluation(
        topics, settings, lambda e, i: events.append((e, i)), model_factory=factory(lambda: llm)
    )
    progress = [i["done"] for e, i in events if e == "ordered"]
    assert progress == [1, 2, 3, 4, 5] and {i["users"] for e, i in events if e == "ordered"} == {5}
    row = {r["model"]: r for r in result.rows()}["llmrank"]
    assert row["llm"]["calls"] == 6 and row["llm"]["failed_users"] == 1
    assert row["llm"]["first_pick_3"] == 4 and row["llm"]["orders_unchanged"] == 0
    assert row["paired_test_base"]["against"] == "mote"
    assert len(llm.requests) == 6
    shown = llm.requests[0]["messages"][1].content
    assert "motivations" not in shown and shown.count("\n1. ") == 1


def test_the_llm_order_replaces_the_base_order_of_the_top_items(topics, profiles):
    from m3rec.eval.harness import make_split
    from m3rec.ranking.candidates import sampled_candidates
    from m3rec.ranking.training_data import train_data

    settings = EvalSettings(models=(), cold_ks=(2,), seeds=1, cold_users=3)
    split = make_split(topics, settings, 2, 0)
    users = np.flatnonzero(split.cold)
    data = train_data(topics, split, 0)
    cand = sampled_candidates(split, users, 0)
    hists = [split.test_history[u] for u in users]
    llm = ReplayBackend(['{"order": ["3", "1", "2"]}'] * len(users))
    base = M3Rec(seed=0, embed=bag_of_words, **SMALL).fit(data).score(users, hists, cand)
    base = np.where(cand >= 0, base, -np.inf)  # -1 pads the candidates of this small catalogue
    model = M3RecLLM(seed=0, embed=bag_of_words, llm=lambda: llm, rerank_top=3, **SMALL)
    scores = np.where(cand >= 0, model.fit(data).score(users, hists, cand), -np.inf)
    for row in range(len(users)):
        top = np.argsort(-base[row], kind="stable")[:3]
        assert np.argsort(-scores[row], kind="stable")[:3].tolist() == [top[2], top[0], top[1]]
        rest = np.argsort(-scores[row], kind="stable")[3:]
        assert np.array_equal(scores[row][rest], base[row][rest])


def test_any_model_can_be_run_on_the_profiled_users_of_any_store(topics, profiles):
    settings = EvalSettings(
        models=("mote",),
        cold_ks=(2,),
        seeds=1,
        profiles=StoreSettings(path=profiles),
        profile_model="model-b",
    )
    result = run_evaluation(topics, settings, model_factory=factory())
    assert result.records[0].users.tolist() == sorted(
        topics.user_ids.index(f"u{u}") for u in (30, 31)
    )
    assert result.to_json()["settings"]["profiles"] == str(profiles)


def cold_case(topics):
    from m3rec.eval.harness import make_split
    from m3rec.ranking.training_data import train_data

    split = make_split(topics, EvalSettings(models=(), cold_ks=(2,), seeds=1, cold_users=4), 2, 0)
    users = np.flatnonzero(split.cold)
    return train_data(topics, split, 0), users, [split.test_history[u] for u in users]


def test_notesim_ranks_profiled_users_by_their_notes_and_the_rest_by_their_history(topics):
    data, users, hists = cold_case(topics)
    other = {u: WORDS[(topics.sequences[u][0] // 20 + 1) % len(WORDS)] for u in users[:2]}
    model = NoteSim(seed=0, embed=bag_of_words).fit(data)
    model.use_notes({int(u): [f"wants {word} items", f"{word} gifts"] for u, word in other.items()})
    scores = model.score(users, hists, None)
    for row, u in enumerate(users[:2]):  # the notes name a topic their history never had
        assert {topics.item_texts[i].split()[0] for i in np.argsort(-scores[row])[:20]} == {
            other[u]
        }
    plain = TextSim(seed=0, embed=bag_of_words).fit(data).score(users, hists, None)
    np.testing.assert_allclose(scores[2:], plain[2:], atol=1e-6)


def test_m3rec_history_aligns_with_the_history_text_in_place_of_the_motivations(topics):
    data, users, hists = cold_case(topics)
    notes = {int(u): ["wants guitar items", "tent trips"] for u in users}
    history_text = {
        int(u): [topics.item_texts[i] for i in h] for u, h in zip(users, hists, strict=True)
    }
    ablated = M3RecHistory(seed=0, embed=bag_of_words, align_weight=1.0, **SMALL).fit(data)
    ablated.use_notes(notes)
    scores = ablated.score(users, hists, None)
    assert ablated.note_texts == notes  # kept for the next call
    on_history, on_notes = (
        M3Rec(seed=0, embed=bag_of_words, align_weight=1.0, **SMALL).fit(data) for _ in range(2)
    )
    on_history.use_notes(history_text)
    on_notes.use_notes(notes)
    np.testing.assert_allclose(scores, on_history.score(users, hists, None), atol=1e-6)
    assert not np.allclose(scores, on_notes.score(users, hists, None), atol=1e-3)


def test_the_ablations_are_tested_against_m3rec_on_the_same_profiled_users(topics, profiles):
    settings = EvalSettings(
        models=("m3rec", "m3rec-history", "notesim"),
        cold_ks=(2,),
        seeds=1,
        profiles=profiles,
        profile_model="model-a",
    )
    result = run_evaluation(topics, settings, model_factory=factory())
    assert len({tuple(r.users.tolist()) for r in result.records}) == 1
    rows = {row["model"]: row for row in result.rows()}
    assert rows["notesim"]["paired_test_base"]["against"] == "m3rec"
    assert rows["m3rec-history"]["paired_test_base"]["against"] == "m3rec"


def test_models_that_train_alike_share_one_fit_and_score_as_if_each_had_trained(topics):
    data, users, hists = cold_case(topics)
    fits: dict = {}
    first = M3Rec(seed=0, embed=bag_of_words, align_weight=0.0, **SMALL)
    first.shared_fits = fits
    first.fit(data)
    second = M3RecHistory(seed=0, embed=bag_of_words, align_weight=1.0, **SMALL)
    second.shared_fits = fits
    second.fit(data)
    assert second.fit_from == "m3rec" and second.encoder is first.encoder
    assert second.texts == list(data.item_texts)  # kept on a shared fit too
    alone = M3Rec(seed=0, embed=bag_of_words, align_weight=0.0, **SMALL).fit(data)
    np.testing.assert_allclose(
        first.score(users, hists, None), alone.score(users, hists, None), atol=1e-6
    )
    other = M3Rec(seed=1, embed=bag_of_words, **SMALL)  # another seed trains other weights
    other.shared_fits = fits
    assert other.fit(data).fit_from is None and len(fits) == 2


def test_the_harness_says_which_rows_took_another_rows_fit(topics, profiles):
    settings = EvalSettings(
        models=("mote", "m3rec"), cold_ks=(2,), seeds=1, profiles=profiles, profile_model="model-a"
    )
    result = run_evaluation(topics, settings, model_factory=factory())
    reports = {r.model: r.report for r in result.records}
    assert reports["m3rec"]["fit_taken_from"] == {"m3rec": 1}  # the factory builds mote as M3Rec
    assert "fit_taken_from" not in reports["mote"]
    rows = {row["model"]: row for row in result.rows()}
    assert rows["m3rec"]["fit_taken_from"] == {"m3rec": 1}
