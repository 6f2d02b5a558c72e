"""Run every benchmark, print one Markdown table of the results and write it to
``var/benchmarks/results.md``.

    python -m benchmarks.run_all [--quick] [--strict]

``--quick`` shrinks every benchmark (shorter rounds, 10,000-20,000 seeded beneficiaries,
300 workflow transitions, 1,000 productive units)
for a smoke run; ``--strict`` exits 1 when a target is missed or a benchmark fails.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from benchmarks import (
    bench_actas,
    bench_grpc_reads,
    bench_income_board,
    bench_kiosk,
    bench_loan_schedules,
    bench_loans_cob,
    bench_lookup,
    bench_notifications,
    bench_pdf,
    bench_register,
    bench_upa,
    bench_web,
    bench_workflow,
)
from benchmarks._common import RESULTS_PATH, Row, environment_note, markdown_table


def _benchmarks(quick: bool) -> list[tuple[str, Callable[[], list[Row]]]]:
    if quick:
        return [
            (bench_grpc_reads.NAME, lambda: bench_grpc_reads.run(duration=3.0, rounds=1)),
            (bench_register.NAME, lambda: bench_register.run(count=200)),
            (bench_lookup.NAME, lambda: bench_lookup.run(count=20_000, lookups=500, searches=200)),
            (bench_pdf.NAME, lambda: bench_pdf.run(seconds=2.0, rounds=1)),
            (bench_actas.NAME, lambda: bench_actas.run(count=300, chain_size=1000)),
            (bench_kiosk.NAME, lambda: bench_kiosk.run(count=1000, idle_seconds=3.0)),
            (bench_notifications.NAME, lambda: bench_notifications.run(count=1000)),
            (bench_web.NAME, lambda: bench_web.run(beneficiaries=10_000, actas=5000, requests=20)),
            (bench_workflow.NAME, lambda: bench_workflow.run(count=300)),
            (bench_income_board.NAME, lambda: bench_income_board.run(units=1000, requests=20)),
            (bench_loan_schedules.NAME, lambda: bench_loan_schedules.run(loans=2_000, rounds=1)),
            (bench_upa.NAME, lambda: bench_upa.run(count=2000, rounds=2)),
            (bench_loans_cob.NAME, lambda: bench_loans_cob.run(loans=10_000)),
        ]
    return [
        (bench_grpc_reads.NAME, bench_grpc_reads.run),
        (bench_register.NAME, bench_register.run),
        (bench_lookup.NAME, bench_lookup.run),
        (bench_pdf.NAME, bench_pdf.run),
        (bench_actas.NAME, bench_actas.run),
        (bench_kiosk.NAME, bench_kiosk.run),
        (bench_notifications.NAME, bench_notifications.run),
        (bench_web.NAME, bench_web.run),
        (bench_workflow.NAME, bench_workflow.run),
        (bench_income_board.NAME, bench_income_board.run),
        (bench_loan_schedules.NAME, bench_loan_schedules.run),
        (bench_upa.NAME, bench_upa.run),
        (bench_loans_cob.NAME, bench_loans_cob.run),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows: list[Row] = []
    failures: list[str] = []
    for name, bench in _benchmarks(args.quick):
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            rows += bench()
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"{name}: did not complete: {type(exc).__name__}: {exc}")
        print(f"=== {name}: {time.perf_counter() - t0:.0f}s ===", flush=True)

    table = markdown_table(rows)
    command = "python -m benchmarks.run_all " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    report = [
        "# CRM Social benchmarks",
        "",
        f"`{command.strip()}` — {environment_note()}; {time.perf_counter() - started:.0f}s in all.",
        "",
        "Ratio = measured / baseline, both from the same run (see benchmarks/README.md).",
        "",
        table,
    ]
    if failures:
        report += ["", "Failures:", "", *(f"- {f}" for f in failures)]
    text = "\n".join(report) + "\n"
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"(written to {RESULTS_PATH})")
    missed = bool(failures) or any(r.passed is False for r in rows)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
