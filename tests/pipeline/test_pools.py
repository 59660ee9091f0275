"""Pools hold from an instance's first dequeue: the declared pools get their limit before the daemon starts.

The run queue's own steps, in the order dagster-daemon takes them (the configured pools read once per pass, then the
counter that initializes a new pool's default limit), decide two retraining runs queued together on a fresh instance.
Without the pools initialized up front both are dequeued (Dagster 1.13.27; this test says so if that changes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance, DagsterRun, JobDefinition
from dagster._core.instance.config import PoolGranularity
from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter
from dagster._core.test_utils import instance_for_test

from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.jobs import PIPELINE_JOB
from bodyfat_assets.partitions import SCORING_POOL, TUNING_POOL
from bodyfat_assets.pools import initialize_pool_limits
from bodyfat_assets.settings import Settings

RUN_POOLS = {"concurrency": {"pools": {"granularity": "run", "default_limit": 1}}}


@pytest.fixture
def fresh_instance() -> Iterator[DagsterInstance]:
    with instance_for_test(overrides=RUN_POOLS) as instance:
        yield instance


@pytest.fixture(scope="module")
def pipeline_job(tmp_path_factory) -> JobDefinition:
    settings = Settings.from_env({"BODYFAT_HOME": str(tmp_path_factory.mktemp("home"))})
    return build_definitions(settings).resolve_job_def(PIPELINE_JOB)


def queued_retrains(instance: DagsterInstance, job: JobDefinition, count: int) -> list[DagsterRun]:
    return [instance.create_run_for_job(job) for _ in range(count)]


def dequeued_in_one_pass(instance: DagsterInstance, queued: list[DagsterRun]) -> list[str]:
    """The run ids the queue would dequeue in one pass, nothing in progress (QueuedRunCoordinatorDaemon's order)."""
    configured = instance.event_log_storage.get_concurrency_keys()
    counter = GlobalOpConcurrencyLimitsCounter(
        instance, queued, [], concurrency_keys=configured, pool_limits=instance.event_log_storage.get_pool_limits(),
        pool_granularity=PoolGranularity.RUN)
    dequeued = []
    for run in queued:
        if not counter.is_blocked(run):
            counter.update_counters_with_launched_item(run)
            dequeued.append(run.run_id)
    return dequeued


def test_retraining_runs_carry_the_tuning_pool(fresh_instance, pipeline_job):
    (run,) = queued_retrains(fresh_instance, pipeline_job, 1)
    assert run.run_op_concurrency is not None and run.run_op_concurrency.all_pools == {TUNING_POOL}


def test_initialized_pools_let_one_of_two_queued_retrains_through(fresh_instance, pipeline_job):
    assert initialize_pool_limits(fresh_instance) == [TUNING_POOL, SCORING_POOL]
    first, second = queued_retrains(fresh_instance, pipeline_job, 2)
    assert dequeued_in_one_pass(fresh_instance, [first, second]) == [first.run_id]


def test_without_it_dagsters_first_pass_lets_both_through(fresh_instance, pipeline_job):
    # Why bodyfat_assets/pools.py exists: when this fails, Dagster initializes a new pool before it reads the limits.
    runs = queued_retrains(fresh_instance, pipeline_job, 2)
    assert dequeued_in_one_pass(fresh_instance, runs) == [run.run_id for run in runs]


def test_an_operators_limit_is_kept_and_a_second_call_changes_nothing(fresh_instance):
    fresh_instance.event_log_storage.set_concurrency_slots(SCORING_POOL, 3)
    assert initialize_pool_limits(fresh_instance) == [TUNING_POOL]
    assert initialize_pool_limits(fresh_instance) == []
    slots = {pool: fresh_instance.event_log_storage.get_concurrency_info(pool).slot_count
             for pool in (TUNING_POOL, SCORING_POOL)}
    assert slots == {TUNING_POOL: 1, SCORING_POOL: 3}


def test_an_instance_without_pools_is_left_alone():
    with instance_for_test() as instance:
        assert initialize_pool_limits(instance) == []
        assert instance.event_log_storage.get_concurrency_keys() == set()
