"""The instance's pool limits, set before its daemon first dequeues.

Dagster 1.13.27's run queue reads the configured pools before it initializes a new pool to
`concurrency.pools.default_limit`, so in the first pass that sees a pool every queued run of it is dequeued unlimited:
two retraining runs queued together on a fresh instance tuned at once (overlapping by 7.2 s in CI). Initializing the
declared pools up front, with the call the queue itself makes (the limit stays "from default", so a changed
default_limit still applies), closes that first pass.
"""

from __future__ import annotations

from dagster import DagsterInstance

from bodyfat_assets.partitions import SCORING_POOL, TUNING_POOL

DECLARED_POOLS = (TUNING_POOL, SCORING_POOL)


def initialize_pool_limits(instance: DagsterInstance) -> list[str]:
    """Give each declared pool the instance's default limit unless it has one already; the pools initialized now.
    Nothing to do on an instance without pools configured (no default limit)."""
    if instance.global_op_concurrency_default_limit is None:
        return []
    configured = instance.event_log_storage.get_concurrency_keys()
    new = [pool for pool in DECLARED_POOLS if pool not in configured]
    for pool in new:
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
    return new
