"""Time ReasonChecker.check on 5 reasons for real catalogues (construction timed apart).

Run: .venv/bin/python scripts/bench/reason_checker_timing.py ../shared/data/ml-1m \
        ../shared/data/amazon-beauty
"""

import gc
import statistics
import sys
import time

from m3rec.agents.reason_checks import ReasonChecker, template_reason
from m3rec.data import load_dataset
from m3rec.data.histories import history_entries
from m3rec.schemas import AlignedItem, Motivation, MotivationProfile, ReasonDraft


def mot(label, kind, desc, ev):
    return Motivation(
        label=label,
        description=desc,
        evidence=ev,
        strength=0.8,
        first_seen=None,
        last_seen=None,
        kind=kind,
    )


for path in sys.argv[1:]:
    t = time.perf_counter()
    ds = load_dataset(path)
    load = time.perf_counter() - t
    t = time.perf_counter()
    ck = ReasonChecker(ds.items)
    build = time.perf_counter() - t
    user = max(
        ds.histories, key=lambda u: len(ds.histories[u]) if len(ds.histories[u]) <= 50 else 0
    )
    events = ds.histories[user][-50:]
    hist = history_entries(ds, events)
    ev = [e.item_id for e in hist]
    profile = MotivationProfile(
        user_id=user,
        motivations=[
            mot(
                "comfort rewatches", "nostalgia", "returns to familiar favourites to unwind", ev[:5]
            ),
            mot(
                "chasing something new",
                "novelty",
                "tries unusual picks outside the usual",
                ev[5:10],
            ),
            mot(
                "a treat for myself", "self_care", "small indulgences after a long week", ev[10:15]
            ),
        ],
        summary="x",
        shift="no clear shift",
        prompt_id="mope/v2",
        model="t",
    )
    seen = {e.item_id for e in events}
    shown = [i for i in ds.items if i not in seen][100:105]
    drafts = []
    for k, iid in enumerate(shown):
        m = profile.motivations[k % 3]
        a, b = hist[k], hist[k + 1]
        genres = ", ".join(ds.items[iid].category_names()[1:3]).lower()
        text = (
            f"Like {a.title[:60]} and {b.title[:40]}, this {genres} pick fits your {m.label} mood."
        )
        drafts.append(
            ReasonDraft(
                item_id=iid, motivation=m.label, evidence=[a.item_id, b.item_id], reason=text[:200]
            )
        )
    res = ck.check(drafts, shown=shown, history=hist, profile=profile)
    gc.collect()
    gc.disable()
    runs, cpu = [], []
    for _ in range(300):
        t, c = time.perf_counter(), time.thread_time()
        ck.check(drafts, shown=shown, history=hist, profile=profile)
        runs.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    gc.enable()
    tpl = []
    for k, iid in enumerate(shown):
        t = time.perf_counter()
        template_reason(
            ds.items[iid],
            AlignedItem(iid, 1, 1, 0.5, k % 3, tuple(profile.motivations[k % 3].evidence)),
            profile,
            hist,
            checker=ck,
        )
        tpl.append(time.perf_counter() - t)
    ms = {
        "median": statistics.median(runs) * 1000,
        "p95": sorted(runs)[284] * 1000,
        "max": max(runs) * 1000,
        "cpu_median": statistics.median(cpu) * 1000,
        "cpu_p95": sorted(cpu)[284] * 1000,
        "template_median": statistics.median(tpl) * 1000,
    }
    rules = sorted({r for v in res.values() for r in v})
    print(f"{ds.describe()}: load {load:.1f}s, ReasonChecker() {build * 1000:.0f} ms")
    print(
        f"  check(5 reasons, history {len(hist)}), ms: "
        + ", ".join(f"{k} {v:.2f}" for k, v in ms.items())
    )
    print(f"  rules broken by the sample reasons: {rules}")
