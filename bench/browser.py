"""``python -m bench.browser``: how long a host's timer action takes to show in another browser.

Starts the app in production mode as ``make bench`` does (1 worker, SQLite, Reflex's in-memory
state), seeds a host and a guest with a login each, opens two Chromium contexts (Debian's
Chromium, logged in with the login cookie), puts both in one room and starts its timer. Then the
host's page clicks pause / resume ``--tries`` times; a MutationObserver in the guest's page
records when ``#timer-paused`` appears or disappears (``Date.now()``: the same machine clock as
the click). Prints median / p95 / max per action. A measurement, not a test: nothing is gated.

Needs Playwright and Chromium (``make install-test``) besides the bench extras.

    .venv/bin/python -m bench.browser --tries 40
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.measure import percentile
from bench.scenarios import create_room, seed_users
from bench.servers import Stack

# Records, in the page, when #timer-paused appears or disappears.
WATCH_PAUSED_JS = """() => {
  window.__pausedChanges = [];
  let last = !!document.getElementById('timer-paused');
  new MutationObserver(() => {
    const now = !!document.getElementById('timer-paused');
    if (now !== last) { last = now; window.__pausedChanges.push(Date.now()); }
  }).observe(document.body, { childList: true, subtree: true });
}"""


def measure(url: str, host_token: str, guest_token: str, room_id: int, tries: int) -> dict[str, list[float]]:
    """Click pause/resume ``tries`` times on the host's page; latencies (ms) seen by the guest."""
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, goto, log_in_as

    latencies: dict[str, list[float]] = {"pause": [], "resume": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for token in (host_token, guest_token):
            ctx = browser.new_context(base_url=url)
            ctx.set_default_timeout(30_000)
            log_in_as(ctx, url, token)
            page = ctx.new_page()
            goto(page, f"/rooms/{room_id}")
            pages.append(page)
        host, guest = pages
        expect(host.locator("#participant-list .participant")).to_have_count(2)
        host.click("#timer-start")
        expect(guest.locator("#timer-phase")).to_have_text("focus")
        guest.evaluate(WATCH_PAUSED_JS)
        for i in range(tries):
            action = "pause" if i % 2 == 0 else "resume"
            button = f"#timer-{action}"
            host.wait_for_selector(button)
            clicked = host.evaluate(f"() => {{ const t = Date.now(); document.querySelector('{button}').click(); return t; }}")
            guest.wait_for_function(f"() => window.__pausedChanges.length >= {i + 1}")
            latencies[action].append(guest.evaluate(f"() => window.__pausedChanges[{i}]") - clicked)
        browser.close()
    return latencies


def table(latencies: dict[str, list[float]]) -> str:
    """A markdown table: tries, median, p95 and max per action and for all together."""
    rows = ["| host action → other browser | tries | median | p95 | max |", "|---|---|---|---|---|"]
    for name, values in (*latencies.items(), ("all", [v for vs in latencies.values() for v in vs])):
        rows.append(f"| {name} | {len(values)} | {statistics.median(values):.0f} ms | "
                    f"{percentile(values, 0.95):.0f} ms | {max(values):.0f} ms |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Host timer action → another browser, in Chromium.")
    parser.add_argument("--tries", type=int, default=40, help="pause/resume clicks (default 40)")
    args = parser.parse_args()
    with Stack(1, print) as stack:
        host, guest = seed_users(stack.db_url, 2)
        room_id = create_room(stack.db_url, host, "Browser latency")
        print(table(measure(stack.app_url, host.token, guest.token, room_id, args.tries)))


if __name__ == "__main__":
    sys.exit(main())
