"""A file whose run failed for a reason outside it is asked for again with a growing wait, then rejected with the
last error as its reason (core/landing/requeue.py)."""

from bodyfat_assets.core.landing.requeue import RequeuePolicy, StrandedFile, decide_requeue

POLICY = RequeuePolicy(max_requeues=3, first_wait_s=60)


def stranded(requeued: int, failed_at: float = 1_000.0) -> StrandedFile:
    return StrandedFile("train", "a.csv", "a-0123456789ab", requeued, failed_at,
                        "DagsterCodeLocationLoadError: timed out after 180 s")


def test_the_wait_doubles_with_each_request_again():
    for requeued, wait in ((0, 60), (1, 120), (2, 240)):
        assert decide_requeue(stranded(requeued), 1_000 + wait - 1, POLICY).action == "wait"
        decision = decide_requeue(stranded(requeued), 1_000 + wait, POLICY)
        assert decision.action == "requeue" and f"request {requeued + 1} of 3" in decision.detail


def test_spent_requests_reject_the_file_with_the_last_error():
    decision = decide_requeue(stranded(3), 10**9, POLICY)
    assert decision.action == "reject"
    assert "failed 4 times" in decision.detail and "DagsterCodeLocationLoadError" in decision.detail


def test_no_request_again_when_none_is_allowed():
    assert decide_requeue(stranded(0), 10**9, RequeuePolicy(max_requeues=0)).action == "reject"
