"""`make bench`: run every benchmark, print the table, write build/bench.json and build/bench.md.

Usage: python -m bench [--db sqlite|postgresql|all] [NAME-PREFIX ...]   (e.g. `python -m bench crypto.stream`)

Benchmarks that take a ``db`` argument depend on the database and run once per
backend: SQLite always, PostgreSQL when its server answers (``--db all``, the
default; ``HAECHI_BENCH_PG_URL`` names the server). Their PostgreSQL results
are named ``NAME@postgresql`` so the two never overwrite each other. A run with
name prefixes updates only those rows of an existing build/bench.json, so the
slow benchmarks need not be repeated to refresh one figure.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench import (
    bridge_bench,
    crypto_bench,
    http_bench,
    pdf_bench,
    protection_bench,
    queue_bench,
    submit_bench,
)
from bench.harness import BACKENDS, Result, markdown_table, postgres_answers

SUITES: list[Callable[..., list[Result]]] = [
    *crypto_bench.BENCHMARKS,
    *queue_bench.BENCHMARKS,
    *pdf_bench.BENCHMARKS,
    *bridge_bench.BENCHMARKS,
    *protection_bench.BENCHMARKS,
    *submit_bench.BENCHMARKS,
    *http_bench.BENCHMARKS,
]
OUT = Path("build") / "bench.json"
TABLE = Path("build") / "bench.md"


def takes_db(bench: Callable[..., list[Result]]) -> bool:
    """A benchmark that depends on the database says so by taking a ``db`` argument."""
    return "db" in inspect.signature(bench).parameters


def backend_name(name: str, backend: str) -> str:
    """SQLite keeps the stable plain name; other backends are suffixed (``queue.page_100k@postgresql``)."""
    return name if backend == "sqlite" else f"{name}@{backend}"


def main(argv: list[str]) -> int:
    """Run the benchmarks whose result names start with one of the prefixes (all if none)."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("prefixes", nargs="*")
    args = parser.parse_args(argv)
    prefixes: list[str] = args.prefixes
    backends = list(BACKENDS) if args.db == "all" else [args.db]
    if "postgresql" in backends and not postgres_answers():
        if args.db == "postgresql":
            print("PostgreSQL does not answer (HAECHI_BENCH_PG_URL): cannot run --db postgresql", file=sys.stderr)
            return 2
        print("PostgreSQL does not answer: database benchmarks run on SQLite only", flush=True)
        backends.remove("postgresql")

    results: list[Result] = []
    for bench in SUITES:
        # A suite's results are named after its module (crypto_bench -> crypto.*): skip whole suites not asked for.
        family = bench.__module__.rsplit(".", 1)[-1].removesuffix("_bench")
        if prefixes and not any(p.split(".")[0] == family for p in prefixes):
            continue
        # A benchmark without a database runs once (skipped by `--db postgresql`, which asks for the PG rows only).
        run_on = backends if takes_db(bench) else (["sqlite"] if args.db != "postgresql" else [])
        for backend in run_on:
            produced = bench(db=backend) if takes_db(bench) else bench()
            for result in produced:
                result = replace(result, name=backend_name(result.name, backend))
                if not prefixes or any(result.name.startswith(p) for p in prefixes):
                    results.append(result)
                    print(_row(result), flush=True)

    if prefixes and OUT.exists():
        fresh = {r.name for r in results}
        kept = [Result(**row) for row in json.loads(OUT.read_text()) if row["name"] not in fresh]
        results = kept + results
        print(f"updated {len(fresh)} row(s), kept {len(kept)} from the previous {OUT}")
    results.sort(key=lambda r: r.name)  # families and their backends side by side, whatever ran when
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False) + "\n")
    TABLE.write_text(markdown_table(results))
    print(f"wrote {OUT} and {TABLE}")
    return 0


def _row(r: Result) -> str:
    ratio = "" if r.ratio is None else f"ratio {r.ratio:.3f}"
    base = "" if r.baseline is None else f"(raw {r.baseline:g} {r.unit})"
    return f"{r.name:34} {r.value:>12g} {r.unit:6} {base:28} {ratio}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
