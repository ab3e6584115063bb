"""A worker freezes what it holds for life when its lifespan starts (``sessions_app.gc_pauses``),
so a full collection no longer walks the app's startup graph."""

from __future__ import annotations

import gc

from sessions_app import gc_pauses


class _App:
    def __init__(self) -> None:
        self.tasks = []

    def register_lifespan_task(self, task) -> None:
        self.tasks.append(task)


def test_the_lifespan_freezes_the_startup_objects_and_a_full_collection_skips_them():
    import sessions_app.sessions_app  # noqa: F401 - the app's whole graph, as a worker holds it

    app = _App()
    gc_pauses.install(app)
    (task,) = app.tasks
    thresholds = gc.get_threshold()
    try:
        gc.collect()
        tracked_before = len(gc.get_objects())
        task()
        assert gc.get_freeze_count() >= tracked_before * 0.9
        assert len(gc.get_objects()) < tracked_before * 0.1  # what a full collection still walks
    finally:
        gc.unfreeze()  # the test process's other tests collect as before
        gc.set_threshold(*thresholds)


def _full_collections_during_posts() -> int:
    """Full collections while a worker holding 20,000 objects (its tabs' states) serves 300
    bursts of 3,000 short-lived objects (one chat post's or page load's in-flight work)."""
    full = []

    def count(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(info)

    held = [{"tab": [i]} for i in range(20_000)]
    gc.callbacks.append(count)
    try:
        for _ in range(300):
            in_flight = [{"frame": [i]} for i in range(3_000)]
            del in_flight
    finally:
        gc.callbacks.remove(count)
    del held
    return len(full)


def test_a_worker_does_not_pause_for_full_collections_while_it_serves_bursts():
    app = _App()
    gc_pauses.install(app)
    (task,) = app.tasks
    thresholds = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's defaults
        gc.collect()
        gc.freeze()
        assert _full_collections_during_posts() > 0  # CPython's thresholds: promoted bursts
        gc.unfreeze()
        task()
        assert gc.get_threshold()[0] == gc_pauses.YOUNG_THRESHOLD
        assert _full_collections_during_posts() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
