"""Memory must not grow with the number of applicants in the database.

    python bench/memory.py [--applicants 500] [--drafts 100000] [--think 0]

Runs ``bench/run.py --skip-baselines`` twice, in separate processes (so neither run inherits
the other's memory): once on an empty database, once after storing ``--drafts`` drafts, and
prints one JSON line with the peak RSS (VmHWM) of the intake bot in each and their ratio.
Target: the ratio is at most 1.5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RUN = Path(__file__).resolve().parent / "run.py"
TARGET = 1.5


def run(drafts: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable, str(RUN), "--skip-baselines", "--applicants", str(args.applicants),
        "--drafts", str(drafts), "--think", str(args.think),
    ]  # fmt: skip
    print(f"[memory] {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=args.timeout, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="Peak RSS with and without stored drafts.")
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--drafts", type=int, default=100_000)
    parser.add_argument("--think", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=3600, help="per run, seconds")
    args = parser.parse_args()
    started = time.perf_counter()
    empty = run(0, args)["intake_bot"]
    full = run(args.drafts, args)["intake_bot"]
    ratio = round(full["peak_rss_mb"] / empty["peak_rss_mb"], 3)
    result = {
        "applicants": args.applicants,
        "drafts": args.drafts,
        "peak_rss_mb_no_drafts": empty["peak_rss_mb"],
        "peak_rss_mb_with_drafts": full["peak_rss_mb"],
        "ratio": ratio,
        "target_max_ratio": TARGET,
        "ok": ratio <= TARGET,
        "db_bytes_no_drafts": empty["db_bytes"],
        "db_bytes_with_drafts": full["db_bytes"],
        "updates_per_s_no_drafts": empty["updates_per_s"],
        "updates_per_s_with_drafts": full["updates_per_s"],
        "p99_ms_no_drafts": empty["latency_ms"].get("p99"),
        "p99_ms_with_drafts": full["latency_ms"].get("p99"),
        "all_submitted": empty["burst"]["applicants_done"] == args.applicants
        and full["burst"]["applicants_done"] == args.applicants,
        "setup": full.get("setup"),
        "bench_seconds": round(time.perf_counter() - started, 1),
        "notes": "Each figure from its own bench/run.py process, whose bot runs in a process of "
        "its own; peak RSS = VmHWM of that bot process over the whole run (start, burst"
        + (", paced" if args.think > 0 else "")
        + ", until stop). Drafts are stored before the bot starts, through the store's own "
        "connection (realistic mid-interview drafts with their user and audit rows).",
    }
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
