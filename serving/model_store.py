"""The serving model, in three modules: `serving.folding` (scikit-learn compiled to numpy), `serving.loading` (the
registry or the fallback, checked against the contract) and `serving.store` (polling the alias, swapping). This
module keeps the names importable from where callers and tests have always found them."""

from serving.folding import FOLDABLE_FUNCTIONS, LINEAR_REGRESSORS, Affine, NotFoldable, fold_model
from serving.loading import (
    METRIC_KEYS,
    LoadedModel,
    MlflowSource,
    ModelError,
    ModelSource,
    Source,
    from_card,
    load_fallback,
)
from serving.store import ERROR_OUTCOMES, MAX_REJECT_BACKOFF_S, ModelStore, RefreshOutcome, readiness

__all__ = [
    "ERROR_OUTCOMES", "FOLDABLE_FUNCTIONS", "LINEAR_REGRESSORS", "MAX_REJECT_BACKOFF_S", "METRIC_KEYS", "Affine",
    "LoadedModel", "MlflowSource", "ModelError", "ModelSource", "ModelStore", "NotFoldable", "RefreshOutcome",
    "Source", "fold_model", "from_card", "load_fallback", "readiness",
]  # fmt: skip
