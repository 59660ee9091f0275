"""A poisoned labeled file (issue 15.7): plausible new men whose BodyFat is shuffled, so it says nothing."""

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME, TARGET

from bodyfat_assets.core.cleaning import clean

FEATURE_SPREAD = 0.06
"""Per-measurement jitter of the seed rows the file is drawn from: plausible men, yet three times the feed's
jitter, so none is a near-duplicate of a seed row (that would be a different fault, caught by another check)."""


def poisoned_file(seed_frame: pd.DataFrame, rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """`rows` plausible labeled rows (13 predictors + BodyFat, no Density) with BodyFat shuffled among them."""
    rng = np.random.default_rng(seed)
    base = clean(seed_frame).cleaned.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    out = pd.DataFrame()
    for name in FEATURE_NAMES:
        spec = FEATURES_BY_NAME[name]
        jittered = base[name] * (1 + rng.normal(0, FEATURE_SPREAD, rows))
        out[name] = jittered.clip(spec.low, spec.high).round(0 if name == "Age" else 1)
    out[TARGET.name] = rng.permutation(base[TARGET.name].to_numpy())
    return out
