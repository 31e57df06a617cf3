"""The judgment's learned parts: small logistic models over named, readable features.

The rules (relevance.py, facts/) read an article and describe each decision as features: "the headline names
TikTok", "a bid cue is within three words of the name", "the date follows 'by'". A model weighs those features;
its weights are learned from the labelled corpora by `scripts/train_judgment.py` and ship beside the profile
(`profiles/<name>.weights.json`, a few kilobytes). Nothing is downloaded or trained at run time.

    model = LogisticModel.from_dict({"bias": -1.0, "weights": {"title_names_target": 2.0}})
    model.probability({"title_names_target": 1.0})     # 0.73
    model.contributions({...})                          # [("title_names_target", 2.0), ...]: what `explain` shows

Why a logistic model: it keeps every decision explainable as the sum of its features' contributions, it trains in
a second on a few hundred articles, and a profile without weights falls back to the plain rules.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from pathlib import Path
from typing import Mapping

__all__ = ["LogisticModel", "JudgmentModels", "load_models", "ModelsError"]


from dealwatch.errors import ModelsError  # noqa: E402  (re-exported)


@dataclass(frozen=True)
class LogisticModel:
    """p = sigmoid(bias + sum(weight[f] * value[f])); decided true when p >= threshold."""

    bias: float
    weights: Mapping[str, float]
    threshold: float = 0.5

    @classmethod
    def from_dict(cls, data: Mapping) -> LogisticModel:
        return cls(float(data["bias"]), {str(k): float(v) for k, v in data["weights"].items()},
                   float(data.get("threshold", 0.5)))

    def to_dict(self) -> dict:
        return {"bias": round(self.bias, 6), "threshold": self.threshold,
                "weights": {k: round(v, 6) for k, v in sorted(self.weights.items())}}

    def logit(self, features: Mapping[str, float]) -> float:
        # sum(weight * value), in the features' order, without a Python frame per feature (asked of every candidate)
        return self.bias + sum(map(mul, map(self.weights.get, features, repeat(0.0)), features.values()))

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.logit(features)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def decide(self, features: Mapping[str, float]) -> bool:
        return self.probability(features) >= self.threshold

    def contributions(self, features: Mapping[str, float], top: int = 6) -> list[tuple[str, float]]:
        """The features that moved this decision most, with their signed contribution to the logit."""
        parts = [(name, self.weights.get(name, 0.0) * value) for name, value in features.items()]
        parts = [p for p in parts if abs(p[1]) >= 0.01]
        return sorted(parts, key=lambda p: -abs(p[1]))[:top]


@dataclass(frozen=True)
class JudgmentModels:
    """The models of one profile: relevance of an article, bidder candidates, deadline candidates."""

    relevance: LogisticModel | None = None
    bidder: LogisticModel | None = None
    deadline: LogisticModel | None = None
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        return {name: model.to_dict() for name in ("relevance", "bidder", "deadline")
                if (model := getattr(self, name)) is not None}


def load_models(path: str | Path) -> JudgmentModels:
    """Read a weights file; a missing file means no models (the rules decide alone)."""
    path = Path(path)
    if not path.exists():
        return JudgmentModels()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return JudgmentModels(**{name: LogisticModel.from_dict(data[name])
                                 for name in ("relevance", "bidder", "deadline") if name in data},
                              source=str(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelsError(f"{path}: not a usable weights file ({e}); retrain it with "
                          f"scripts/train_judgment.py or delete it to judge by the rules alone") from e
