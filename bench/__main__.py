"""``make bench`` / ``python -m bench``: Sessions against the floor of its own transport.

For each worker count (default 1, then 2 with Redis + PostgreSQL) it starts the real app in
production mode and the floor (bench/floor.py) side by side on loopback, seeds users, then
runs every scenario on the floor and right after on the app (so both see the same machine
load): the lobby (500 and 1,000 clients: memory per idle client, a lobby message, a live count
change), rooms of 10 and 50 (chat fan-out paced and in a burst, the host's timer), and a join
storm of 200 into one room followed by chat and timer in that room of 200. It writes
``bench/results/latest.md`` (the table), ``latest.png`` (the plot) and ``latest.raw.json``.

Everything is bounded (each scenario has time limits) and every server it starts is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import report
from bench.scenarios import FloorTarget, Scenarios, SessionsTarget, Sizes, seed_users, steps
from bench.servers import Stack

RESULTS = Path(__file__).resolve().parent / "results"


async def run_mode(stack: Stack, sizes: Sizes, progress: Progress, task, log, only: str = "") -> dict:
    sessions_target, floor_target = SessionsTarget(stack), FloorTarget(stack)
    floor_target.has_chat = sessions_target.has_chat
    if not sessions_target.has_chat:
        log("the chat feature is missing: the host's timer action stands in for chat fan-out")

    def tick(what: str) -> None:
        progress.update(task, advance=1, description=f"{stack.workers}w · {what}")

    probe = Scenarios(stack, sessions_target, [], sizes, tick)
    users = seed_users(stack.db_url, probe.users_needed() + 10)
    runs = {t.name: Scenarios(stack, t, users, sizes, tick) for t in (floor_target, sessions_target)}
    loads: dict[str, dict[str, float]] = {}
    for (name, floor_run), (_, app_run) in zip(runs["floor"].plan(), runs["sessions"].plan(), strict=True):
        if only and not name.startswith(only):
            continue
        for target, run in (("floor", floor_run), ("sessions", app_run)):
            progress.update(task, description=f"{stack.workers}w · {name} · {target}")
            started = time.monotonic()
            # No garbage collection in this (client) process during a scenario: its full
            # collections, 100-220 ms with a thousand clients open (measured), stalled every
            # receiver at once and showed up as either target's slowest frame. Between runs.
            gc.collect()
            gc.disable()
            try:
                await asyncio.wait_for(run(), timeout=600)
            except Exception as err:  # a failed scenario is a result too; keep going
                log(f"[red]{stack.workers}w {name} on {target} failed: {err!r}")
                runs[target].results.setdefault(f"{name} (failed)", {"error": repr(err)})
            finally:
                gc.enable()
            load = psutil.getloadavg()[0]
            loads.setdefault(target, {})[name] = round(load, 2)
            log(f"{stack.workers}w {name} on {target}: {time.monotonic() - started:.0f} s "
                f"(machine load {load:.1f} on {psutil.cpu_count()} CPUs)")
    errors = stack.app_errors()
    if errors:
        log(f"[yellow]{len(errors)} error lines in the app log, e.g. {errors[0][:200]}")
    return {"floor": runs["floor"].results, "sessions": runs["sessions"].results,
            "has_chat": sessions_target.has_chat, "app_log_errors": errors[:20], "load_after": loads}


def main() -> None:
    parser = argparse.ArgumentParser(description="Sessions vs. the floor of its transport.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default: 1 2)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the machinery")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", default="", help="only the scenarios whose name starts with this (e.g. call)")
    parser.add_argument("--report-only", action="store_true", help="re-render the table and plot from latest.raw.json")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads((args.out / "latest.raw.json").read_text())
        (args.out / "latest.md").write_text(report.markdown(results))
        report.plot(results, args.out / "latest.png")
        print(report.compact(results))
        return

    sizes = Sizes(room_sizes=(10,), storm=40, lobbies=(60, 120), chat_paced=8, chat_deliveries=0, chat_burst=20, timer_actions=6,
                  lobby_messages=3, lobby_joins=2, call_sizes=(4, 8)) if args.quick else Sizes()
    console = Console(stderr=True)
    results = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
               "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(),
                           "load_before": list(psutil.getloadavg())},
               "sizes": sizes.__dict__, "modes": {}}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        log = progress.console.print
        task = progress.add_task("starting", total=2 * steps(sizes, True) * len(args.workers))
        for workers in args.workers:
            with Stack(workers, log) as stack:
                results["modes"][str(workers)] = asyncio.run(run_mode(stack, sizes, progress, task, log,
                                                                           args.only))
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.raw.json").write_text(json.dumps(results, indent=1, default=str))
    table = report.markdown(results)
    (args.out / "latest.md").write_text(table)
    report.plot(results, args.out / "latest.png")
    print(table)
    console.print(f"written: {args.out / 'latest.md'}, {args.out / 'latest.png'}")


if __name__ == "__main__":
    sys.exit(main())
