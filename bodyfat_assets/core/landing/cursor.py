"""Which landed objects are new: the listing of train/, score/ and labels/, and the sensor's cursor over it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from bodyfat_assets.core.landing.naming import KINDS
from bodyfat_assets.lake import ObjectStore, StoredObject


@dataclass(frozen=True)
class LandedObject:
    key: str
    """Relative to the landing prefix, e.g. `train/batch-1.csv`."""
    etag: str
    size: int
    mtime: float = 0.0

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def token(self) -> str:
        """Identity of this version of the object: a re-uploaded file gets a new token, even with the same bytes
        (S3 keeps the ETag of identical content; the modification time moves), so dropping a file again retries it."""
        return f"{self.key}@{self.etag or self.size}@{self.mtime:.6f}"


def landed_objects(listed: Iterable[StoredObject]) -> list[LandedObject]:
    """Store objects under train/, score/ or labels/ (sub-folders included: validation refuses them with a reason)."""
    return [LandedObject(obj.key, obj.etag, obj.size, obj.mtime) for obj in listed
            if obj.key.split("/", 1)[0] in KINDS and "/" in obj.key]


def list_landed(store: ObjectStore) -> list[LandedObject]:
    """Objects waiting in train/, score/ and labels/ of the landing store: one listing per kind, nothing read."""
    return landed_objects(obj for kind in KINDS for obj in store.list_objects(f"{kind}/"))


@dataclass
class LandingCursor:
    """Tokens of landed objects already handled and still in the landing folders (handled files leave them, so
    the set stays small: it is pruned to what is listed)."""

    seen: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, raw: str | None) -> LandingCursor:
        if not raw:
            return cls()
        return cls(set(json.loads(raw).get("seen", [])))

    def to_json(self) -> str:
        return json.dumps({"seen": sorted(self.seen)})

    def new_objects(self, listed: Iterable[LandedObject]) -> list[LandedObject]:
        return [obj for obj in listed if obj.token not in self.seen]

    def advance(self, listed: Iterable[LandedObject], handled: Iterable[LandedObject]) -> LandingCursor:
        still_there = {obj.token for obj in listed}
        return LandingCursor((self.seen & still_there) | {obj.token for obj in handled})
