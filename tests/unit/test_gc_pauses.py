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
    try:
        gc.collect()
        tracked_before = len(gc.get_objects())
        task()
        assert gc.get_freeze_count() >= tracked_before * 0.9
        assert len(gc.get_objects()) < tracked_before * 0.1  # what a full collection still walks
    finally:
        gc.unfreeze()  # the test process's other tests collect as before
