"""The order in which `make test` hands test files to its workers (tests/conftest.py applies it)."""

LONGEST_FILES_FIRST = (
    # Seconds each file took in a `make test` of 23:47 on the 2-core machine (4 workers, load 8-20), longest first.
    "tests/landing/test_loop_e2e.py",  # 932
    "tests/deploy/test_stack_pipeline.py",  # 406
    "tests/landing/test_requeue_e2e.py",  # 403
    "tests/landing/test_poisoned_labels_e2e.py",  # 343
    "tests/integration/test_celery_launcher.py",  # 258
    "tests/landing/test_worker_killed.py",  # 226
    "tests/pipeline/test_materialize.py",  # 220
    "tests/landing/test_failed_ingestion.py",  # 197
    "tests/deploy/test_stack_first_hour.py",  # 187
    "tests/landing/test_blocked_e2e.py",  # 178 (its one test, in a fresh-clone run of 2026-12-07)
    "tests/pipeline/test_demo_cli.py",  # 145
    "tests/integration/test_production.py",  # 140
    "tests/serving/test_registry_integration.py",  # 114
    "tests/deploy/test_stack.py",  # 88 (its longest test, 2026-12-07)
    "tests/pipeline/test_adapting.py",  # 34-54
)
