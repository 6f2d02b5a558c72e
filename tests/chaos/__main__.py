"""``make chaos``: every fault scenario against the real stack, a few hundred kiosk
submissions each, within one overall deadline. Prints each scenario's violations
and the table (the README's), and exits 1 on any violation, 2 if the stack could
not start. Logs and data stay under ``var/chaos-*`` when something failed.

    python -m tests.chaos [--count 300] [--faults 3] [--scenario NAME ...] [--deadline 1800]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from devstack.infra import ROOT, ComponentFailed
from tests.chaos.harness import DRAIN, FULL, SCENARIOS, Result, chaos_stack, run_scenario, table
from tests.private_broker import BrokerFailed


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: nothing outlives the run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=FULL.count, help="kiosk submissions per scenario")
    parser.add_argument("--pace", type=float, default=FULL.pace, help="submissions published per second")
    parser.add_argument("--faults", type=int, default=FULL.faults, help="strikes per scenario")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="only these (repeatable)")
    parser.add_argument("--drain-limit", type=float, default=FULL.drain_limit, help="seconds after the last send")
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds for the whole run")
    parser.add_argument("--keep", action="store_true", help="keep var/chaos-* even when everything passed")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)

    cfg = replace(
        FULL,
        count=args.count,
        pace=args.pace,
        faults=args.faults,
        drain_limit=args.drain_limit,
        drain_wait=max(FULL.drain_wait, args.drain_limit),
        deadline=time.monotonic() + args.deadline,
    )
    names = args.scenario or list(SCENARIOS)
    var_dir = ROOT / "var" / f"chaos-{uuid.uuid4().hex[:8]}"
    results: list[Result] = []
    started = time.monotonic()
    print(f"Fault suite: {', '.join(names)}; {cfg.count} submissions each; stack under {var_dir}", flush=True)
    try:
        with chaos_stack(var_dir, keep=lambda: args.keep or not all(r.ok for r in results)) as cs:
            for name in names:
                if time.monotonic() >= cfg.deadline:
                    skipped = Result(name)
                    skipped.fail(DRAIN, f"not run: the {args.deadline:.0f} s deadline was reached")
                    results.append(skipped)
                    continue
                results.append(run_scenario(cs, SCENARIOS[name], cfg, lambda line: print(line, flush=True)))
    except (ComponentFailed, BrokerFailed) as exc:
        print(f"The stack did not start: {exc}", file=sys.stderr)
        return 2
    print()
    print(table(results))
    print(f"\n{len(results)} scenarios in {time.monotonic() - started:.0f} s", flush=True)
    if not all(r.ok for r in results):
        print(f"Violations found; logs and data kept in {var_dir}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
