"""`make bench`: run every benchmark, print the table and write build/bench.json.

Usage: python -m bench [NAME-PREFIX ...]   (e.g. `python -m bench crypto.stream`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import bridge_bench, crypto_bench, pdf_bench, queue_bench
from bench.harness import Result

SUITES = [*crypto_bench.BENCHMARKS, *queue_bench.BENCHMARKS, *pdf_bench.BENCHMARKS, *bridge_bench.BENCHMARKS]
OUT = Path("build") / "bench.json"


def main(argv: list[str]) -> int:
    """Run the benchmarks whose result names start with one of ``argv`` (all if none)."""
    results: list[Result] = []
    for bench in SUITES:
        # A suite's results are named after its module (crypto_bench -> crypto.*): skip whole suites not asked for.
        family = bench.__module__.rsplit(".", 1)[-1].removesuffix("_bench")
        if argv and not any(p.split(".")[0] == family for p in argv):
            continue
        for result in bench():
            if not argv or any(result.name.startswith(p) for p in argv):
                results.append(result)
                print(_row(result), flush=True)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
    return 0


def _row(r: Result) -> str:
    ratio = "" if r.ratio is None else f"ratio {r.ratio:.3f}"
    base = "" if r.baseline is None else f"(raw {r.baseline:g} {r.unit})"
    return f"{r.name:28} {r.value:>12g} {r.unit:6} {base:28} {ratio}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
