"""A poisoned labeled file: plausible new men whose BodyFat is shuffled, so it says nothing."""

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME, TARGET

from bodyfat_assets.core.cleaning import clean

FAR_FROM_THE_SEED = 0.06
"""Per-measurement jitter three times the feed's: no row is a near-duplicate of a seed row (that would be another
fault, caught by `splits_no_near_duplicates`), but 400 such rows drift (Height, Knee, Ankle, Wrist...)."""
LIKE_THE_SEED = 0.02
"""The feed's jitter: 400 such rows do not drift, so only their labels give them away."""


def poisoned_file(seed_frame: pd.DataFrame, spread: float, rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """`rows` plausible labeled rows (13 predictors + BodyFat, no Density) with BodyFat shuffled among them."""
    rng = np.random.default_rng(seed)
    base = clean(seed_frame).cleaned.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    out = pd.DataFrame()
    for name in FEATURE_NAMES:
        spec = FEATURES_BY_NAME[name]
        jittered = base[name] * (1 + rng.normal(0, spread, rows))
        out[name] = jittered.clip(spec.low, spec.high).round(0 if name == "Age" else 1)
    out[TARGET.name] = rng.permutation(base[TARGET.name].to_numpy())
    return out
