"""How long an export of 100,000 applications takes, and how much memory it needs.

    python bench/export.py [--intakes 100000] [--format xlsx] [--cpu 0] [--keep]

Two child processes, so that neither inherits the other's memory: the first creates a
database of ``--intakes`` sent applications (every question of the default interview
answered, sealed as the bot seals them; statuses, amounts, regions, referrals and history
rows as a busy county would have them), written straight through the store's connection in
batches; the second, pinned to one CPU, runs the export exactly as ``intake-bot export``
does (bot/export.py) and reports its wall time and its peak RSS (``ru_maxrss``).
Prints one JSON line. Targets (issue 26): under 30 s on one core, peak RSS under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30.0
TARGET_RSS_MB = 200.0
REGIONS = ("653221", "653222", "653223", "653224", "653225", "653226", "653227", "653201")
BATCH = 5_000
CASEWORKER, PARTNER = 42, 43


def answers_for(flow: Any, rnd: random.Random, n: int, every: bool) -> dict[str, Any]:
    """Answers to ``flow`` as a person gives them: each question the earlier answers make
    relevant (``every``: every question, relevant or not: the widest rows there can be),
    optional ones skipped now and then."""
    import datetime as dt

    from bot.flow.engine import is_relevant

    today = dt.date(2026, 6, 1)
    out: dict[str, Any] = {}
    for step in flow.steps:
        if not step.asks_input:
            continue
        if not every and not is_relevant(flow, step, out, today):
            continue
        if not every and not step.required and rnd.random() < 0.3:
            continue
        t = step.type
        if t == "consent":
            out[step.id] = True
        elif t == "choice":
            out[step.id] = rnd.choice(step.choices).value
        elif t == "multi_choice":
            out[step.id] = [c.value for c in rnd.sample(step.choices, min(2, len(step.choices)))]
        elif t == "number":
            out[step.id] = rnd.randint(0, 8)
        elif t == "date":
            out[step.id] = f"19{rnd.randint(40, 99)}-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}"
        elif t == "phone":
            out[step.id] = f"139{n:08d}"
        elif t == "id_number":
            out[step.id] = f"653222{rnd.randint(1940, 2005)}0101{n % 1000:03d}X"
        elif t == "attachments":
            out[step.id] = []
        elif "name" in step.tags:
            out[step.id] = rnd.choice(("王", "李", "阿不都", "古丽")) + "某某"
        else:
            out[step.id] = "去年秋天在地里干活时被人打伤，住院两个月，家里没有收入。" * rnd.randint(
                1, 3
            )
    return out


def stamp(day: int, hour: int = 9) -> str:
    import datetime as dt

    d = dt.date(2025, 1, 1) + dt.timedelta(days=day)
    return f"{d.isoformat()}T{hour:02d}:00:00Z"


async def seed(db_path: str, n: int, every: bool) -> dict[str, Any]:
    from bot.crypto import seal_text
    from bot.flow.engine import State
    from bot.store import Store
    from bot.store.intakes import _dump, new_ref

    store = await Store.open(db_path)
    flow = await store.flows.active()
    cipher = store.db.cipher
    await store.roles.grant(CASEWORKER, "caseworker")
    await store.roles.grant(PARTNER, "partner")
    rnd = random.Random(26)
    t0 = time.perf_counter()
    refs: set[str] = set()
    # Answer sets drawn from a pool (relevance takes a while to work out); the phone and
    # ID numbers differ on every row, and every row is sealed on its own.
    pool = [answers_for(flow, rnd, i, every) for i in range(500)]
    answered = sum(len(a) for a in pool) / len(pool)
    for start in range(0, n, BATCH):
        intakes, audits, referrals = [], [], []
        for i in range(start, min(start + BATCH, n)):
            answers = dict(rnd.choice(pool))
            for step in flow.steps:
                if step.id in answers and step.type == "phone":
                    answers[step.id] = f"139{i:08d}"
                elif step.id in answers and step.type == "id_number":
                    answers[step.id] = f"65322219{i % 90 + 10:02d}0101{i % 1000:03d}X"
            state = State(answers=answers, path=list(answers))
            day = rnd.randint(0, 500)
            roll = rnd.random()
            status = (
                "approved"
                if roll < 0.4
                else "declined"
                if roll < 0.6
                else "in_review"
                if roll < 0.85
                else "submitted"
            )
            decided = status in ("approved", "declined")
            ref = new_ref()
            while ref in refs:
                ref = new_ref()
            refs.add(ref)
            screening = json.dumps(
                {
                    "eligibility": ["crime_injury"],
                    "exclusions": [],
                    "to_check": [],
                    "priority": 6,
                    "priority_reasons": ["minor", "monitored"],
                }
            )
            intakes.append(
                (
                    i + 1,
                    ref,
                    flow.id,
                    flow.version,
                    100_000 + i,
                    100_000 + i,
                    "zh",
                    status,
                    _dump(state, cipher),
                    screening,
                    6,
                    stamp(day, 8),
                    stamp(day + 3),
                    stamp(day),
                    None if status == "submitted" else CASEWORKER,
                    stamp(day + 10) if decided else None,
                    rnd.randint(100, 5000) * 100 if status == "approved" else None,
                    seal_text(cipher, "compensated") if status == "declined" else None,
                    rnd.choice(REGIONS),
                )
            )
            audits.append((stamp(day), 100_000 + i, "intake.submitted", i + 1, "{}"))
            if decided:
                audits.append((stamp(day + 10), CASEWORKER, f"intake.{status}", i + 1, "{}"))
            if i % 10 == 0:
                referrals.append(
                    (
                        i + 1,
                        PARTNER,
                        "sent",
                        seal_text(cipher, "请帮忙安排技能培训"),
                        CASEWORKER,
                        stamp(day + 5),
                        stamp(day + 5),
                    )
                )
        async with store.db.write() as tx:
            await tx.executemany(
                "INSERT INTO intakes (id, ref, flow_id, flow_version, applicant_id, chat_id,"
                " lang, status, state, screening, priority, created_at, updated_at,"
                " submitted_at, last_update_id, assignee, decided_at, amount_fen,"
                " decision_reason, region) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                intakes,
            )
            await tx.executemany(
                "INSERT INTO audit (at, actor, action, intake_id, detail) VALUES (?, ?, ?, ?, ?)",
                audits,
            )
            await tx.executemany(
                "INSERT INTO referrals (intake_id, partner_id, status, request, created_by,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                referrals,
            )
    await store.db.checkpoint()
    await store.close()
    return {
        "seeded": n,
        "answers_per_intake": round(answered, 1),
        "every_question": every,
        "seed_seconds": round(time.perf_counter() - t0, 1),
    }


async def run_export(db_path: str, out: str, fmt: str) -> dict[str, Any]:
    from bot import export
    from bot.i18n import I18n
    from bot.store import Store

    tr = I18n.load().tr("zh")
    store = await Store.open(db_path)
    try:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        made = await export.export(store, tr, export.Request(format=fmt), Path(out))
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        await store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "format": fmt,
        "intakes": made.intakes,
        "referrals": made.referrals,
        "history_rows": made.history,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(rss_mb, 1),
        "file_mb": round(Path(out).stat().st_size / 2**20, 1),
    }


def child(args: argparse.Namespace) -> int:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    db = str(Path(args.workdir) / "intake.db")
    if args.child == "seed":
        result = asyncio.run(seed(db, args.intakes, args.every_question))
    else:
        out = str(Path(args.workdir) / f"export.{args.format}")
        result = asyncio.run(run_export(db, out, args.format))
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intakes", type=int, default=100_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU the export runs on")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--every-question",
        action="store_true",
        help="answer every question, relevant or not (the widest rows there can be)",
    )
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("seed", "export"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        base = [sys.executable, __file__, "--workdir", str(work), "--intakes", str(args.intakes)]
        if args.every_question:
            base.append("--every-question")
        print(f"[export] seeding {args.intakes} applications in {work}", file=sys.stderr)
        seeded = json.loads(
            subprocess.run([*base, "--child", "seed"], check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        db_mb = round((work / "intake.db").stat().st_size / 2**20, 1)
        print(f"[export] exporting to {args.format} on CPU {args.cpu}", file=sys.stderr)
        cmd = [*base, "--child", "export", "--format", args.format, "--cpu", str(args.cpu)]
        made = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        result = {
            **seeded,
            "db_mb": db_mb,
            **made,
            "target_seconds": TARGET_SECONDS,
            "target_peak_rss_mb": TARGET_RSS_MB,
            "ok": made["seconds"] < TARGET_SECONDS and made["peak_rss_mb"] < TARGET_RSS_MB,
        }
        print(json.dumps(result))
        return 0 if result["ok"] else 1
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
