"""A Celery task makes a round trip through the real Redis broker."""

from __future__ import annotations

import logging
import uuid

from celery import Celery
from celery.contrib.testing.worker import start_worker

from taas.localstack.stack import LocalStack


def test_celery_task_round_trip_through_redis(stack: LocalStack) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        _round_trip(stack)
    finally:  # Celery's worker set-up lowers the root logger to ERROR for the whole session
        root.setLevel(level)
        root.handlers[:] = handlers


def _round_trip(stack: LocalStack) -> None:
    env = stack.env()
    app = Celery("taas-smoke", broker=env["TAAS_CELERY_BROKER_URL"], backend=env["TAAS_REDIS_URL"])
    queue = f"smoke-{uuid.uuid4().hex[:8]}"
    app.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True)

    @app.task(name="smoke.multiply")  # type: ignore[untyped-decorator]
    def multiply(left: int, right: int) -> int:
        return left * right

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = multiply.delay(6, 7)
        assert result.get(timeout=20) == 42
        assert result.successful()
