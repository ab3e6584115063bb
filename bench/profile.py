"""``python -m bench.profile``: where the app's time goes in one scenario (py-spy).

Starts the same stack as the benchmark (``--workers``), runs one scenario against the app
only while ``py-spy record`` samples every app worker, then prints the functions with the
most CPU samples (inclusive and self), grouped so the Reflex/app/database/socket.io shares
are visible. Raw collapsed stacks stay in ``bench/results/profile-<scenario>.txt``.

    python -m bench.profile --scenario "room 50"      # or "lobby", "join storm 200", "room 10"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from bench.scenarios import Scenarios, SessionsTarget, Sizes, seed_users
from bench.servers import VENV_BIN, Stack

RESULTS = Path(__file__).resolve().parent / "results"
# Buckets by the file a frame comes from (first match wins, checked from the leaf upwards).
BUCKETS = [
    ("database (SQLAlchemy/driver)", re.compile(r"sqlalchemy|sqlmodel|sqlite3|psycopg")),
    ("app services", re.compile(r"sessions_app/services")),
    ("app states", re.compile(r"sessions_app/(state|realtime)")),
    ("JSON encoding", re.compile(r"json/|reflex_base/utils/format|_sio_dumps|serializers")),
    ("socket.io / engine.io", re.compile(r"socketio/|engineio/")),
    ("Reflex state machinery", re.compile(r"reflex/|reflex_base/")),
    ("redis client", re.compile(r"redis/")),
    ("asyncio / other", re.compile(r".")),
]


def summarize(raw: Path, top: int = 25) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for f in set(frames):
            inclusive[f] += n
        self_time[frames[-1]] += n
        for name, pattern in BUCKETS:
            if any(pattern.search(f) for f in reversed(frames[-6:])):
                buckets[name] += n
                break
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "by area (leaf-most match):"]
    out += [f"  {c / total:6.1%}  {name}" for name, c in buckets.most_common()]
    out += ["", "inclusive (app/Reflex/socket.io frames):"]
    shown = [(f, c) for f, c in inclusive.most_common() if re.search(r"sessions_app|reflex|socketio|engineio", f)]
    out += [f"  {c / total:6.1%}  {f}" for f, c in shown[:top]]
    out += ["", "self:"]
    out += [f"  {c / total:6.1%}  {f}" for f, c in self_time.most_common(top)]
    return "\n".join(out)


async def run(stack: Stack, scenario: str, out: Path) -> None:
    target = SessionsTarget(stack)
    sizes = Sizes()
    probe = Scenarios(stack, target, [], sizes, lambda _: None)
    users = seed_users(stack.db_url, probe.users_needed() + 10)
    scen = Scenarios(stack, target, users, sizes, lambda what: print(f"  {what}", file=sys.stderr))
    plan = dict(scen.plan())
    if scenario not in plan:
        raise SystemExit(f"unknown scenario {scenario!r}; one of {list(plan)}")
    spies = [subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(p.pid), "--rate", "200",
                               "--format", "raw", "--output", f"{out}.{p.pid}", "--nonblocking"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for p in stack.app_workers()]
    await asyncio.sleep(1.0)
    try:
        await asyncio.wait_for(plan[scenario](), 600)
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(30)
    with out.open("w") as merged:
        for p in Path(out.parent).glob(f"{out.name}.*"):
            merged.write(p.read_text())
            os.unlink(p)
    for name, res in scen.results.items():
        print(name, {k: round(v, 1) if isinstance(v, float) else v for k, v in res.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="room 50")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{args.workers}w-{args.scenario.replace(' ', '-')}.txt"
    with Stack(args.workers, lambda m: print(m, file=sys.stderr)) as stack:
        asyncio.run(run(stack, args.scenario, out))
    print(summarize(out))


if __name__ == "__main__":
    main()
