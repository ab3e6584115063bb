"""The benchmark's markdown table (Sessions ÷ floor per metric, against the issue's targets)
and its plot."""

from __future__ import annotations

import math

# target: ("ratio", x): ≤ x × the floor | ("max", v): ≤ v | ("over", v): ≤ the floor + v |
# ("share", x): ≥ x × the floor | ("zero",) | None
LATENCY = [("p50_ms", "p50", "ms"), ("p95_ms", "p95", "ms"), ("p99_ms", "p99", "ms")]


def _targets(scenario: str, metric: str, workers: int = 1):
    """The delivery issue's targets (goals to report against, never CI gates), 1 worker
    unless said: room chat at 10, 50 and 200 members ≤ 2× the floor (p50, p99, CPU per
    delivery), a chat frame ≤ 500 bytes, a burst ≥ 50 % of the floor's throughput, the join
    storm of 200 seen whole in ≤ 1.0 s, an idle tab ≤ the floor's memory + 25 KB, nothing
    lost or duplicated; with 2 workers only the storm's (≤ 1.5 s)."""
    if metric in ("lost", "duplicates"):
        return ("zero",)
    if workers > 1:
        return ("max", 1.5) if scenario.startswith("join storm") and metric == "all_see_all_s" else None
    if scenario.startswith("room") and scenario.endswith("chat"):
        if metric in ("p50_ms", "p99_ms", "cpu_s_per_1000"):
            return ("ratio", 2.0)
        if metric == "bytes_per_frame":
            return ("max", 500.0)
    if scenario == "room 50 chat burst" and metric == "deliveries_per_s":
        return ("share", 0.5)
    if scenario == "lobby 1000 message" and metric == "p99_ms":
        return ("ratio", 3.0)
    if scenario.startswith("idle client memory"):
        return ("over", 25.0)
    if scenario.startswith("join storm") and metric == "all_see_all_s":
        return ("max", 1.0)
    return None


def _fmt(value, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}{' ' + unit if unit else ''}"
    digits = 2 if abs(value) < 1 else 1 if abs(value) < 100 else 0
    return f"{value:,.{digits}f}{' ' + unit if unit else ''}"


def _verdict(target, app, floor) -> str:
    if target is None or app is None or (isinstance(app, float) and math.isnan(app)):
        return ""
    kind = target[0]
    if kind == "zero":
        return "✓" if app == 0 else "✗"
    if kind == "max":
        return f"≤ {target[1]:g} {'✓' if app <= target[1] else '✗'}"
    if floor in (None, 0) or (isinstance(floor, float) and math.isnan(floor)):
        return ""
    if kind == "over":
        return f"≤ floor + {target[1]:g} {'✓' if app <= floor + target[1] else '✗'}"
    if kind == "share":
        return f"≥ {target[1]:.0%} {'✓' if app >= floor * target[1] else '✗'}"
    return f"≤ {target[1]:g}× {'✓' if app / floor <= target[1] else '✗'}"


def _ratio(app, floor, digits: int = 1) -> str:
    try:
        if floor and not math.isnan(floor) and not math.isnan(app):
            return f"{app / floor:.{digits}f}×"
    except TypeError:
        pass
    return "–"


def rows_for(scenario: str, app: dict, floor: dict, workers: int = 1) -> list[tuple[str, str, str, str, str, str]]:
    rows = []

    def add(key: str, label: str, unit: str = "") -> None:
        a, f = app.get(key), floor.get(key)
        if all(v is None or (isinstance(v, float) and math.isnan(v)) for v in (a, f)):
            return
        rows.append((scenario, label, _fmt(a, unit), _fmt(f, unit), _ratio(a, f) if key not in ("lost", "duplicates")
                     else "", _verdict(_targets(scenario, key, workers), a, f)))

    if "error" in app or "error" in floor:
        rows.append((scenario, "failed", app.get("error", "ok")[:80], floor.get("error", "ok")[:80], "", "✗"))
        return rows
    if scenario.startswith("idle client memory"):
        add("kb_per_client", "RSS per idle client", "KB")
        return rows
    if scenario.startswith("call "):  # bench/calls.py: the app only (the floor has no calls)
        add("cpu_s", "server CPU, whole setup", "s")
        add("cpu_ms_per_connection", "CPU per connection", "ms")
        add("kb_per_connection", "bytes per connection", "KB")
        add("frames", "frames to the clients")
        add("p50_join_ms", "p50 join → all answers", "ms")
        return rows
    if scenario.startswith("join storm"):
        add("all_see_all_s", "all see all members", "s")
        add("p50_see_all_s", "p50 client sees all", "s")
        add("clients_seeing_all", "clients seeing all")
        add("cpu_s", "server CPU", "s")
        add("loaded_s", "last tab's page load finished (hydrated)", "s")
        add("settled_s", "every page load done (server idle)", "s")
        add("cpu_settled_s", "server CPU until idle", "s")
        return rows
    if "burst" in scenario:
        add("deliveries_per_s", "delivered msgs/s")
        add("p50_ms", "p50", "ms")
        add("p99_ms", "p99", "ms")
        add("cpu_s_per_1000", "CPU per 1,000 deliveries", "s")
        add("lost", "lost")
        add("duplicates", "duplicated")
        return rows
    for key, label, unit in LATENCY:
        add(key, label, unit)
    add("cpu_s_per_1000", "CPU per 1,000 deliveries", "s")
    add("bytes_per_frame", "bytes per frame")
    add("lost", "lost")
    add("duplicates", "duplicated")
    return rows


ORDER = ["idle client memory (500)", "idle client memory (1000)", "lobby 500 message", "lobby 500 count change",
         "lobby 1000 message", "lobby 1000 count change", "room 10 chat", "room 10 chat burst", "room 10 timer",
         "room 50 chat", "room 50 chat burst", "room 50 timer", "join storm 200", "room 200 chat",
         "room 200 chat burst", "room 200 timer"]


def markdown(results: dict) -> str:
    out = [f"Run {results['started']} → {results.get('finished', '?')}, {results['machine']['cpus']} CPUs, "
           f"Python {results['machine']['python']}{' (quick smoke run)' if results.get('quick') else ''}. "
           "Latency: from the send to each receiver (sender excluded), client and servers on the same "
           "machine. CPU: the server process tree (Redis included when used; PostgreSQL not).", "",
           "## Summary", "", compact(results), "", "## All metrics", ""]
    for mode, data in results["modes"].items():
        app, floor = data["sessions"], data["floor"]
        title = ("1 worker (SQLite, in-memory state)" if mode == "1"
                 else f"{mode} workers (PostgreSQL, Redis state + socket.io Redis manager)")
        loads = [v for per in data.get("load_after", {}).values() for v in per.values()]
        out += [f"### {title}", ""]
        if loads:
            out += [f"Machine load (1-minute average, other jobs included) after each scenario: "
                    f"{min(loads):.1f}–{max(loads):.1f} on {results['machine']['cpus']} CPUs.", ""]
        if not data.get("has_chat", True):
            out += ["The chat feature was not in the app: chat rows are missing; the timer stands in.", ""]
        out += ["| scenario | metric | Sessions | floor | Sessions ÷ floor | target |", "|---|---|---|---|---|---|"]
        names = [n for n in ORDER if n in app or n in floor] + sorted((set(app) | set(floor)) - set(ORDER))
        for name in names:
            for row in rows_for(name, app.get(name, {}), floor.get(name, {}), int(mode)):
                out.append("| " + " | ".join(row) + " |")
        if data.get("app_log_errors"):
            out += ["", f"App log error lines: {len(data['app_log_errors'])} (first: `{data['app_log_errors'][0][:120]}`)"]
        out.append("")
    return "\n".join(out)


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(results["modes"].items())
    fig, axes = plt.subplots(len(modes), 1, figsize=(12, 4.2 * len(modes)), squeeze=False)
    for ax, (mode, data) in zip(axes[:, 0], modes, strict=True):
        names = [n for n in ORDER if ("chat" in n or "timer" in n or "message" in n or "count" in n)
                 and "burst" not in n and n in data["sessions"] and "p50_ms" in data["sessions"][n]]
        x = range(len(names))
        w = 0.2
        for i, (target, key, color) in enumerate((("floor", "p50_ms", "#9ca3af"), ("floor", "p99_ms", "#4b5563"),
                                                  ("sessions", "p50_ms", "#a78bfa"),
                                                  ("sessions", "p99_ms", "#6d28d9"))):
            vals = [data[target].get(n, {}).get(key, float("nan")) for n in names]
            ax.bar([xi + (i - 1.5) * w for xi in x], vals, w, label=f"{target} {key[:3]}", color=color)
        ax.set_yscale("log")
        ax.set_ylabel("latency (ms, log)")
        ax.set_xticks(list(x), names, rotation=20, ha="right", fontsize=8)
        ax.set_title(f"{mode} worker(s): send → each receiver")
        ax.legend(fontsize=8, ncol=4)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


COMPACT = ["lobby 1000 message", "lobby 1000 count change", "room 10 chat", "room 50 chat", "room 200 chat",
           "room 50 chat burst", "room 200 chat burst", "room 50 timer", "room 200 timer"]


def _cpu_ratio(app: dict, floor: dict) -> str:
    """CPU per delivery ÷ the floor's: two decimals when both were counted per thread in
    nanoseconds (``bench.servers.CpuSample``), one and "(ticks)" when a thread ended between
    the samples and 10 ms ticks were used."""
    if app.get("cpu_precise") and floor.get("cpu_precise"):
        return _ratio(app["cpu_s_per_1000"], floor["cpu_s_per_1000"], digits=2)
    ratio = _ratio(app["cpu_s_per_1000"], floor["cpu_s_per_1000"])
    return ratio if "cpu_precise" not in app else f"{ratio} (ticks)"


def compact(results: dict) -> str:
    """One row per key scenario and worker count (the README's table)."""
    out = ["| scenario | workers | p50 Sessions / floor | p99 Sessions / floor | ÷ floor p50 · p99 | "
           "CPU per 1k deliveries ÷ floor | lost · duplicated |", "|---|---|---|---|---|---|---|"]

    def ms(v) -> str:
        return _fmt(v)

    for mode, data in results["modes"].items():
        app, floor = data["sessions"], data["floor"]
        for name in COMPACT:
            a, f = app.get(name), floor.get(name)
            if not a or not f or "p50_ms" not in a:
                continue
            label = name + (f" ({_fmt(a['deliveries_per_s'])} vs {_fmt(f['deliveries_per_s'])} msgs/s)"
                            if "burst" in name else "")
            out.append(f"| {label} | {mode} | {ms(a['p50_ms'])} / {ms(f['p50_ms'])} ms | "
                       f"{ms(a['p99_ms'])} / {ms(f['p99_ms'])} ms | {_ratio(a['p50_ms'], f['p50_ms'])} · "
                       f"{_ratio(a['p99_ms'], f['p99_ms'])} | {_cpu_ratio(a, f)} | "
                       f"{a['lost']} · {a['duplicates']} |")
        storm = app.get("join storm 200")
        fstorm = floor.get("join storm 200", {})
        if storm and "all_see_all_s" in storm:
            out.append(f"| join storm 200: all see all 200 | {mode} | {_fmt(storm['p50_see_all_s'])} / "
                       f"{_fmt(fstorm.get('p50_see_all_s'))} s | {_fmt(storm['all_see_all_s'])} / "
                       f"{_fmt(fstorm.get('all_see_all_s'))} s (last client) | "
                       f"{_ratio(storm['p50_see_all_s'], fstorm.get('p50_see_all_s', float('nan')))} · "
                       f"{_ratio(storm['all_see_all_s'], fstorm.get('all_see_all_s', float('nan')))} | "
                       f"server CPU {_fmt(storm['cpu_s'])} vs {_fmt(fstorm.get('cpu_s'))} s | – |")
            if "settled_s" in storm:
                out.append(f"| join storm 200: every page load done | {mode} | | {_fmt(storm['settled_s'])} / "
                           f"{_fmt(fstorm.get('settled_s'))} s | | server CPU {_fmt(storm['cpu_settled_s'])} vs "
                           f"{_fmt(fstorm.get('cpu_settled_s'))} s | – |")
        mem = app.get("idle client memory (1000)")
        fmem = floor.get("idle client memory (1000)", {})
        if mem:
            out.append(f"| RSS per idle client (1,000) | {mode} | {_fmt(mem['kb_per_client'])} / "
                       f"{_fmt(fmem.get('kb_per_client'))} KB | | "
                       f"{_ratio(mem['kb_per_client'], fmem.get('kb_per_client', float('nan')))} | | |")
    return "\n".join(out)
