"""Which scoring partitions a new champion must re-score."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def stale_scoring_partitions(partitions: Iterable[str], scored_with: Mapping[str, str],
                             champion_version: str | None) -> list[str]:
    """Scoring partitions whose latest predictions come from another model than the champion (or from none)."""
    if champion_version is None:
        return []
    return [p for p in partitions if scored_with.get(p) != str(champion_version)]
