"""The input histograms count every feature at once (`_FeatureBins`) exactly as one `np.searchsorted` per feature
would: values on an edge, features with fewer edges or none, another model's column order, and a large batch."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from serving.distribution import DistributionMetrics

FEATURES = ("Age", "Weight", "Neck", "Abdomen")
PROFILE = {
    "Age": [22.0, 30.0, 40.0, 50.0, 81.0],
    "Weight": [118.5, 150.0, 175.0, 200.0, 262.75],
    "Neck": [31.1, 40.0],  # fewer edges than the others
    # "Abdomen": no profile, no histogram
    "BodyFat": [3.0, 15.0, 25.0, 40.0],
}


def expected(rows: np.ndarray) -> dict[str, tuple[list[int], float, int]]:
    """Per feature: cumulative bucket counts (le each edge, then +Inf), sum, values outside the training range."""
    out = {}
    for j, name in enumerate(FEATURES):
        if name not in PROFILE:
            continue
        edges = np.array(PROFILE[name])
        counts = np.bincount(np.searchsorted(edges, rows[:, j], side="left"), minlength=len(edges) + 1)
        outside = int(((rows[:, j] < edges[0]) | (rows[:, j] > edges[-1])).sum())
        out[name] = (np.cumsum(counts).tolist(), float(rows[:, j].sum()), outside)
    return out


def observed(metrics: DistributionMetrics) -> dict[str, tuple[list[int], float, int]]:
    families = {family.name: family for family in metrics.collect()}
    out: dict[str, tuple[list[int], float, int]] = {}
    for name in FEATURES:
        samples = [s for s in families["bodyfat_input_value"].samples if s.labels["feature"] == name]
        if not samples:
            continue
        buckets = [int(s.value) for s in samples if s.name.endswith("_bucket")]
        total = next(s.value for s in samples if s.name.endswith("_sum"))
        outside = next(s.value for s in families["bodyfat_inputs_outside_training_range"].samples
                       if s.labels["feature"] == name)  # fmt: skip
        out[name] = (buckets, total, int(outside))
    return out


@pytest.mark.parametrize("n", [1, 7, 20_000])  # one row, a micro-batch, a batch past the one-array path
def test_every_feature_is_binned_as_searchsorted_bins_it(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = np.column_stack([rng.uniform(0, 300, n) for _ in FEATURES])
    rows[0] = [30.0, 262.75, 31.1, 90.0]  # on an edge: counted in the bucket that edge closes (le)
    metrics = DistributionMetrics(CollectorRegistry())
    metrics.use_model("registry:1", PROFILE, FEATURES)
    metrics.observe(FEATURES, rows, rng.uniform(0, 40, n))
    # A request still holding the previous model, whose columns come in another order.
    metrics.observe(FEATURES[::-1], rows[:, ::-1], rng.uniform(0, 40, n))
    got, want = observed(metrics), expected(np.vstack([rows, rows]))
    assert set(got) == set(want) == {"Age", "Weight", "Neck"}
    for name, (buckets, total, outside) in want.items():
        assert (got[name][0], got[name][2]) == (buckets, outside), name
        assert got[name][1] == pytest.approx(total), name
