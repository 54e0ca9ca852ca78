"""`python -m bench [names...]`: every figure against plain RQ (and BullMQ, bench/bullmq.py) in the same run;
a table and JSON."""
from __future__ import annotations

import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from .harness import Bench
from . import io_bound, measures, measures_state, pacing, pss, server_work, slots
from .steady import steady


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    every = (measures.ALL + slots.ALL + server_work.ALL + io_bound.ALL + measures_state.ALL + [steady] + pacing.ALL
             + pss.ALL)
    chosen = [m for m in every if not argv or m.__name__ in argv]
    bench = Bench()
    rows = []
    try:
        for measure in chosen:
            started = time.perf_counter()
            print(f"... {measure.__name__}", file=sys.stderr, flush=True)
            try:
                rows += measure(bench)
            except Exception as exc:  # noqa: BLE001 - report it and go on with the other figures
                rows.append({"figure": measure.__name__, "ours": None, "rq": None, "unit": "", "ratio": None,
                             "target": "", "ok": False, "note": f"failed: {type(exc).__name__}: {exc}"})
            print(f"    done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    finally:
        bench.stop()
    header = ["figure", "ours", "peer (RQ, or BullMQ where named)", "unit", "ratio", "target", "met"]
    table = [[r["figure"], fmt(r["ours"]), fmt(r["rq"]), r["unit"], fmt(r["ratio"]) + ("x" if r["ratio"] else ""),
              r["target"], fmt(r["ok"])] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *table)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(f"\nMachine: {platform.node()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in table:
        print(line(cells))
    for r in rows:
        if r["note"]:
            print(f"- {r['figure']}: {r['note']}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"date": datetime.now(timezone.utc).isoformat(), "rows": rows},
                                                indent=2, default=str))
    return 0 if all(r["ok"] is not False for r in rows) else 1


if sys.argv[1:2] == ["search"]:  # the support desk's search benchmark (bench/search.py)
    from .search import main as search_main

    sys.exit(search_main(sys.argv[2:]))
if sys.argv[1:2] == ["hosts"]:  # worker hosts in network namespaces, cut off mid-job (bench/hosts.py)
    from .hosts import main as hosts_main

    sys.exit(hosts_main(sys.argv[2:]))
sys.exit(main(sys.argv[1:]))
