"""Moving landed files through the storage interface: copy, read back and compare, then delete; rejection with
its reason beside the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.naming import rejected_key
from bodyfat_assets.core.landing.validation import REJECTION_CODES
from bodyfat_assets.lake import ObjectStore


def move_object(store: ObjectStore, source: str, destination: str, data: bytes | None = None) -> None:
    """Copy, read the copy back and compare, and only then delete the original: a failure at any step leaves the
    original where it was, and only there. A copy whose original could not be deleted is removed again, so a file is
    never left in both places (it was in train/ and processed/ after a failed delete); the move is retried whole."""
    data = store.read_bytes(source) if data is None else data
    store.write_bytes(destination, data)
    if store.read_bytes(destination) != data:
        raise OSError(f"copy of {source} to {destination} does not match; original kept")
    try:
        store.delete(source)
    except Exception:
        store.delete(destination)
        raise


def rejection_record(obj: LandedObject, code: str, detail: str, landing_url: str,
                     when: datetime) -> dict[str, object]:
    return {
        "file": f"{landing_url}/{obj.key}",
        "kind": obj.kind,
        "reason": code,
        "meaning": REJECTION_CODES.get(code, ""),
        "detail": detail,
        "etag": obj.etag,
        "size": obj.size,
        "rejected_at": when.isoformat(),
        "contract": "docs/landing.md",
    }


def reject_object(store: ObjectStore, obj: LandedObject, code: str, detail: str, data: bytes | None = None,
                  when: datetime | None = None, stored_at: str | None = None) -> str:
    """Move `obj` to rejected/<kind>/ with `<name>.reason.json` beside it (`data`: its bytes, when already read;
    without them the store moves the object itself, so a large file is never held in memory; `stored_at`: where it
    is now when that is not its landing key, e.g. its processed copy); return where it went."""
    when = when or datetime.now(UTC)
    destination = rejected_key(obj.kind, obj.name, when)
    record = rejection_record(obj, code, detail, store.url, when)
    store.write_bytes(f"{destination}.reason.json", json.dumps(record, indent=2).encode())
    if data is None:
        store.move(stored_at or obj.key, destination)
    else:
        move_object(store, stored_at or obj.key, destination, data)
    return destination
