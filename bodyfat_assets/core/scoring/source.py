"""The file behind a batch_predictions partition, opened for streaming: the seed CSV, a landed file, or its processed
copy (a re-scoring). One path for all three. Also the rule that decides whether a re-scoring skips a
partition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.moves import reject_object
from bodyfat_assets.core.landing.naming import SCORE, SEED_PARTITION, processed_key
from bodyfat_assets.core.landing.partition_file import locate_partition_file
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.lake import ObjectStore

DAY_S = 86_400.0


@dataclass(frozen=True)
class ScoringSource:
    """Where a partition's rows are read from; `landed_key` is set while the file still waits in landing/score/."""

    name: str
    location: str
    store: ObjectStore | None = None
    key: str | None = None
    landed_key: str | None = None

    def open(self) -> BinaryIO:
        return self.store.open_read(self.key) if self.store and self.key else open(self.location, "rb")

    def mark_processed(self, partition_key: str) -> str | None:
        """Move a landed file to processed/ once its predictions are published; returns where it went (None when
        there was nothing to move). A rename on a local lake, a server-side copy on S3: nothing is read here."""
        if self.store is None or self.landed_key is None:
            return None
        destination = processed_key(SCORE, partition_key, self.name)
        self.store.move(self.landed_key, destination)
        return f"{self.store.url}/{destination}"

    def mark_rejected(self, rejection: Reject) -> str | None:
        """Move a landed file that fails the contract in its run to rejected/ with its reason, as the tick would, so
        it never stays in the landing folder (moved by the store, never read into memory)."""
        if self.store is None or self.landed_key is None:
            return None
        obj = LandedObject(self.landed_key, "", self.store.size(self.landed_key))
        return reject_object(self.store, obj, rejection.code, rejection.detail)


def scoring_source(store: ObjectStore, partition_key: str, landing_name: str | None,
                   seed_path: str | Path) -> ScoringSource:
    """The seed dataset for `seed`; otherwise the processed copy or the landed original (raises
    `PartitionFileGone` when neither exists)."""
    if partition_key == SEED_PARTITION:
        return ScoringSource(Path(seed_path).name, str(seed_path))
    key, already_processed = locate_partition_file(store, SCORE, partition_key, landing_name)
    return ScoringSource(PurePosixPath(key).name, f"{store.url}/{key}", store, key,
                         None if already_processed else key)


NO_CHAMPION_YET = ("no champion model has been promoted yet (the first challenger was blocked): nothing to score "
                   "with; the first promotion scores every file")


def rescore_skip_reason(first_scored_at: float | None, now: float, window_days: float,
                        champion_version: object = "") -> str | None:
    """Why an automatic re-scoring leaves a partition as it is, or None to score it. With no champion (`None`: the
    first challenger was blocked, and `champion` still reported a new data version) there is nothing to score with.
    A file first scored more than `window_days` ago keeps its predictions (0: every file is re-scored; a file never
    scored is always scored)."""
    if champion_version is None:
        return NO_CHAMPION_YET
    if first_scored_at is None or window_days <= 0:
        return None
    age_days = (now - first_scored_at) / DAY_S
    if age_days <= window_days:
        return None
    return (f"first scored {age_days:.1f} days ago, outside the re-scoring window of {window_days:g} days "
            f"(BODYFAT_RESCORE_WINDOW_DAYS); its predictions stay as they are")
