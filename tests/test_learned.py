"""The judgment's learned parts: the logistic models, their weights file, and the trained profile's decisions."""
from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from dealwatch.judge import explain, judge
from dealwatch.learned import LogisticModel, load_models
from dealwatch.profile import BUNDLED, ProfileError, load_profile, weights_path
from helpers_judgment import article, trained_profile


def test_logistic_model_probability_threshold_and_contributions():
    model = LogisticModel.from_dict({"bias": -1.0, "weights": {"a": 2.0, "b": -0.5}, "threshold": 0.6})
    assert model.probability({}) == pytest.approx(0.2689, abs=1e-4)
    assert model.probability({"a": 1.0}) == pytest.approx(0.7311, abs=1e-4)
    assert model.decide({"a": 1.0}) and not model.decide({"a": 1.0, "b": 2.0})
    assert model.contributions({"a": 1.0, "b": 2.0, "unknown": 5.0}) == [("a", 2.0), ("b", -1.0)]
    assert LogisticModel.from_dict(model.to_dict()) == model


def test_bundled_profile_ships_its_weights_and_a_missing_file_means_rules_alone(tmp_path):
    models = load_profile().models
    assert models.relevance and models.bidder and models.deadline
    assert weights_path(BUNDLED).name == "tiktok.weights.json"
    assert load_models(tmp_path / "none.weights.json").relevance is None


def test_broken_weights_file_is_a_profile_error_naming_it_and_what_to_do(tmp_path):
    shutil.copy(BUNDLED, tmp_path / "deal.toml")
    (tmp_path / "deal.weights.json").write_text(json.dumps({"relevance": {"weights": {}}}))
    with pytest.raises(ProfileError, match=r"deal\.weights\.json.*train_judgment\.py"):
        load_profile(tmp_path / "deal.toml")


def test_profile_is_read_again_when_only_its_weights_change(tmp_path):
    shutil.copy(BUNDLED, tmp_path / "deal.toml")
    assert load_profile(tmp_path / "deal.toml").models.relevance is None
    shutil.copy(weights_path(BUNDLED), tmp_path / "deal.weights.json")
    assert load_profile(tmp_path / "deal.toml").models.relevance is not None


STORY = ("Walmart said on Thursday it has teamed up with Microsoft to bid for TikTok's U.S. operations. "
         "ByteDance must sell TikTok's U.S. business by Sept. 15 or the app will be shut down, Trump has said. "
         "Oracle is also in talks to buy the app, people familiar with the matter said. "
         "TikTok's U.S. operations could fetch $20 billion to $30 billion in a sale.")


def test_trained_profile_judges_a_sale_story_with_its_bidders_and_deadline():
    a = article(STORY, title="Walmart joins Microsoft bid for TikTok", published=date(2020, 8, 27))
    judgment = judge(a, trained_profile())
    assert judgment.relevance.relevant and "model p=" in judgment.relevance.reason
    facts = {(f.kind, f.value) for f in judgment.facts}
    assert {("bidder", "Walmart"), ("bidder", "Microsoft"), ("bidder", "Oracle"), ("deadline", "2020-09-15")} <= facts
    assert all("p" in f.detail for f in judgment.facts if f.kind in ("bidder", "deadline"))


def test_trained_profile_rejects_a_device_ban_story():
    text = ("The state banned TikTok on government devices on Tuesday, the governor said. "
            "State employees must delete the app from their phones within 30 days. "
            "Several universities have also blocked the app on campus networks. "
            "Privacy groups criticised the ban.")
    a = article(text, title="Governor bans TikTok on state devices", published=date(2022, 12, 1))
    assert not judge(a, trained_profile()).relevance.relevant


def test_explain_says_why_the_models_took_and_rejected_candidates():
    a = article(STORY, title="Walmart joins Microsoft bid for TikTok", published=date(2020, 8, 27))
    text = explain(a, trained_profile())
    assert "model p=" in text and "why: p=" in text
    assert "cue_within_3_words" in text or "rules_say_bidder" in text


def test_shipped_weights_are_what_the_training_script_makes_from_the_corpora():
    # the weights in the package must be reproducible: stale weights (features changed, not retrained) fail here
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_judgment
    models, _data, _rules = train_judgment.train_from_corpora()
    shipped = load_profile().models
    for name in ("relevance", "bidder", "deadline"):
        ours, theirs = getattr(models, name), getattr(shipped, name)
        assert set(ours.weights) == set(theirs.weights), name
        assert ours.bias == pytest.approx(theirs.bias, abs=1e-3), name
        for feature, weight in ours.weights.items():
            assert weight == pytest.approx(theirs.weights[feature], abs=1e-3), (name, feature)


def test_two_fold_split_keeps_each_outlet_on_one_side_and_balances_relevant_articles():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_judgment
    golds = [{"id": f"{outlet}-2020-01-0{i}-x", "relevant": rel}
             for outlet, n, rel in (("bbc", 4, True), ("cnn", 3, True), ("sn", 2, True), ("engadget", 5, False),
                                    ("dm", 1, True)) for i in range(n)]
    a, b = train_judgment.halves(golds)
    assert a | b == {g["id"] for g in golds} and not a & b
    for outlet in ("bbc", "cnn", "sn", "engadget", "dm"):
        assert len({side for side, ids in (("a", a), ("b", b)) for i in ids if i.startswith(outlet + "-")}) == 1
    relevant = [sum(g["relevant"] for g in golds if g["id"] in side) for side in (a, b)]
    assert abs(relevant[0] - relevant[1]) <= 1


def test_fit_keeps_each_weight_on_the_side_its_feature_points_to():
    # a feature declared as evidence against (-1) whose data says "for" is left out, not learned backwards
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_judgment
    rows = [({"for": x, "against": x}, x > 0.5, 1.0) for x in (0.0, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 1.0)]
    free = train_judgment.fit(rows, l2=0.1)
    assert free.weights["against"] > 0  # what the data alone teaches
    signed = train_judgment.fit(rows, l2=0.1, directions={"for": +1, "against": -1})
    assert "against" not in signed.weights and signed.weights["for"] > 0


def test_shipped_weights_respect_the_declared_directions():
    from dealwatch.facts.bidders import FEATURE_DIRECTIONS as bidder
    from dealwatch.facts.deadlines import FEATURE_DIRECTIONS as deadline
    from dealwatch.relevance import FEATURE_DIRECTIONS as relevance
    models = load_profile().models
    for name, directions in (("relevance", relevance), ("bidder", bidder), ("deadline", deadline)):
        for feature, weight in getattr(models, name).weights.items():
            assert weight * directions.get(feature, 0) >= 0, (name, feature, weight)
