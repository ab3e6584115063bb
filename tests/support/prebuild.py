"""Build the e2e frontend ahead of the e2e run: ``python -m tests.support.prebuild``.

``make test`` starts this in the background while ruff and the unit tests run, so the one
production build of the run (``start_app``'s first start) overlaps them instead of opening
the e2e phase. It starts the app exactly as the first e2e app would (same ``E2E_RUN_ID``, same
build directory and marker), then stops it; the e2e workers find the build and copy it. If
it fails, nothing is lost: the first e2e app builds as usual (its log is kept for a look).
"""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

from tests.support.app_server import start_app


def main() -> int:
    # make stops a background job with SIGTERM: unwind like Ctrl-C, so the build is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="e2e-prebuild-") as tmp:
        # No OAuth provider or mail server is needed to build: nothing is called at startup.
        server = start_app(Path(tmp), "http://127.0.0.1:9", name="prebuild")
        server.stop()
        print(f"e2e frontend built for this run ({server.url})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
