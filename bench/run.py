"""Load test: N applicants at once through the real intake bot, against two baselines.

    python bench/run.py [--applicants 500] [--drafts 0] [--skip-baselines] [--profile]
                        [--think 1.0] [--limiter off|shipped] [--keep]
    python bench/run.py --db postgresql [--webhook] [--instances 1,2 --rounds 3] \
                        --skip-baselines --skip-stock --think 0   # PostgreSQL, instances

Each bot runs in its own process (``bench/botproc.py``), pinned to one CPU; this process runs
the fake Bot API (``bench/fakeapi.py``) and the simulated applicants on the other CPU, so the
fake's work does not eat into the bot's core. For each bot:

1. burst: N applicants send /start at the same moment and each answers the next question as
   soon as it arrives (no think time), through the whole default flow to the review's Send:
   updates per second, and latency under saturation;
2. paced (``--think S``, 0 to skip): N more applicants start within 2*S seconds and wait
   uniform(0, 2*S) seconds before each answer (mean S): latency at a steady load of about
   N/S updates per second, as when N people fill in the form at the same time.

On PostgreSQL (``--db postgresql``) each run gets a fresh database. In webhook mode
(``--webhook``, always with several instances) the fake POSTs the updates to the instances'
webhooks in turn instead of answering getUpdates; instance i is pinned to the bot's CPU if
i is even, else to the fake's (two CPUs: one instance of two must share), PostgreSQL not at
all, and each phase says what each of them and the rest of the machine spent.

Then the bot is stopped and its peak RSS (VmHWM), CPU time and database size are read.
Progress goes to stderr; stdout gets exactly one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botproc import WEBHOOK_SECRET
from fakeapi import FakeApi, Phase, WebhookPush, load_steps, run_phase

HERE = Path(__file__).resolve().parent
BOTPROC = HERE / "botproc.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FIRST_ID = 1_000_000  # Telegram user ids of the simulated applicants
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- /proc readings of the bot process -------------------------------------------------------


def proc_cpu(pid: int) -> tuple[float, float, float]:
    """(whole process, main thread, other threads) CPU seconds (user + system)."""

    def ticks(path: Path) -> float:
        fields = path.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    whole = ticks(Path(f"/proc/{pid}/stat"))
    main = ticks(Path(f"/proc/{pid}/task/{pid}/stat"))
    return whole, main, max(0.0, whole - main)


def ticks_of(pid: int) -> float:
    """CPU seconds of a process (user + system, all threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def postgres_cpu(database: str) -> dict[int, tuple[str, float]]:
    """pid -> (what it is, CPU seconds) of every PostgreSQL process on this machine: the
    backends of ``database`` ("ours"), of other databases ("other_backends": other people's
    tests), and the server's own (postmaster, WAL writer, checkpointer, autovacuum: "server")."""
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        pid = int(entry.name)
        # A backend's title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
        title = cmdline.split(": ", 2)[-1].split()
        if len(title) >= 3 and "(" in title[2]:
            kind = "ours" if title[1] == database else "other_backends"
        else:
            kind = "server"
        out[pid] = (kind, ticks_of(pid))
    return out


def postgres_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds between two readings, by kind (a process gone by the second reading is
    not counted: the bot's pooled connections stay for the whole run)."""
    out = {"ours": 0.0, "server": 0.0, "other_backends": 0.0}
    for pid, (kind, cpu) in after.items():
        out[kind] += cpu - before.get(pid, (kind, 0.0))[1]
    return {k: round(v, 2) for k, v in out.items()}


def machine_cpu() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine since boot, all CPUs (/proc/stat);
    stolen is what the hypervisor gave other guests."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def proc_status(pid: int, key: str) -> int:
    """A kB figure from /proc/PID/status (VmHWM = peak RSS, VmRSS = now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# --- figures ---------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)

    def q(p: float) -> float:
        return round(1000 * v[min(len(v) - 1, int(p * len(v)))], 2)

    return {
        "p50": q(0.50),
        "p95": q(0.95),
        "p99": q(0.99),
        "max": round(1000 * v[-1], 2),
        "mean": round(1000 * sum(v) / len(v), 2),
    }


def phase_figures(phase: Phase, wall: float, fake_cpu: float) -> dict[str, Any]:
    done = phase.done
    start = min((s.t_queued for s in done), default=0.0)
    return {
        "updates": len(done),
        "applicants_done": phase.finished,
        "applicants_failed": phase.failed,
        "refusals": phase.refusals,
        "wall_s": round(wall, 3),
        "updates_per_s": round(len(done) / wall, 1) if wall > 0 else 0.0,
        "latency_ms": percentiles([s.t_done - s.t_delivered for s in done]),
        "latency_from_queued_ms": percentiles([s.t_done - s.t_queued for s in done]),
        "first_call_ms": percentiles([s.t_first - s.t_delivered for s in done]),
        "fake_cpu_share": round(fake_cpu / wall, 2) if wall > 0 else None,
        # When the slowest answers happened (seconds into the phase) and how slow (ms).
        "slowest": [
            [round(s.t_queued - start, 2), round(1000 * (s.t_done - s.t_delivered), 1)]
            for s in sorted(done, key=lambda s: s.t_delivered - s.t_done)[:5]
        ],
    }


def db_figures(kind: str, workdir: Path, url: str | None = None) -> dict[str, Any]:
    if url is not None:
        return pg_figures(url)
    if kind == "intake":
        files = {
            "db": workdir / "intake.db",
            "wal": workdir / "intake.db-wal",
            "shm": workdir / "intake.db-shm",
        }
    elif kind == "conversation":
        files = {"pickle": workdir / "conversationbot.pickle"}
    else:
        return {"db_bytes": 0}
    sizes = {k: p.stat().st_size for k, p in files.items() if p.exists()}
    main_size = sizes.get("db", 0) + sizes.get("wal", 0) + sizes.get("pickle", 0)
    out: dict[str, Any] = {"db_bytes": main_size, "db_files": sizes}
    if kind == "intake" and files["db"].exists():
        with contextlib.closing(sqlite3.connect(f"file:{files['db']}?mode=ro", uri=True)) as c:
            out["intakes_by_status"] = dict(
                c.execute("SELECT status, count(*) FROM intakes GROUP BY status").fetchall()
            )
            out["submitted_refs"] = _refs(c.execute(REFS).fetchone())
    return out


# The submitted applications of the simulated applicants, their references, and the people.
REFS = (
    "SELECT count(*), count(ref), count(DISTINCT ref), count(DISTINCT applicant_id)"
    f" FROM intakes WHERE status = 'submitted' AND applicant_id >= {FIRST_ID}"
)


def _refs(row: Any) -> dict[str, int]:
    return dict(zip(("submitted", "with_ref", "distinct_refs", "applicants"), row, strict=True))


def pg_figures(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        by_status = conn.execute("SELECT status, count(*) FROM intakes GROUP BY status").fetchall()
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        refs = conn.execute(REFS).fetchone()
    return {
        "db_bytes": int(row[0]) if row else 0,
        "intakes_by_status": dict(by_status),
        "submitted_refs": _refs(refs),
    }


def pg_counters(url: str) -> dict[str, int]:
    """This database's transactions (each autocommit statement is one) and the server's
    WAL flushes to disk (all databases: other people's tests count too)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        scans = conn.execute(
            "SELECT sum(seq_scan), sum(seq_tup_read), sum(idx_scan), sum(n_dead_tup)"
            " FROM pg_stat_user_tables"
        ).fetchone()
        xacts = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
        wal = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
    seq, seq_rows, idx, dead = (int(x or 0) for x in scans) if scans else (0, 0, 0, 0)
    return {
        "xacts": int(xacts[0]) if xacts else 0,
        "wal_syncs": int(wal[0]) if wal else 0,
        "seq_scans": seq,
        "seq_scan_rows": seq_rows,
        "index_scans": idx,
        "dead_rows": dead,
    }


def pg_settings(server: str) -> dict[str, str]:
    """The server settings that move these figures: this machine's server is set up for the
    tests, and its autovacuum may be off (dead row versions then pile up during a run)."""
    import psycopg

    names = ("autovacuum", "synchronous_commit", "fsync", "shared_buffers", "wal_sync_method")
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    return dict(rows)


@contextlib.contextmanager
def pg_database(server: str, keep: bool) -> Iterator[tuple[str, str]]:
    """(name, URL) of a new, empty database on ``server``, dropped at the end unless
    ``keep``: each run starts on a database of its own, as a first deployment does."""
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, server.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep:
            say(f"kept PostgreSQL database {name}")
        else:
            with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_cpus(cpus: tuple[int, int] | None, instances: int, pin: str) -> list[int | None]:
    """The CPU each instance is pinned to. One instance gets the CPU the fake does not
    have. With two on two CPUs one must share the fake's: instance 0 on the bot's CPU,
    instance 1 on the fake's (``--pin spread``); ``--pin none`` pins nothing at all."""
    if cpus is None or pin == "none":
        return [None] * instances
    return [cpus[(1 + i) % 2] for i in range(instances)]


# --- one bot -----------------------------------------------------------------------------------


async def read_line(proc: asyncio.subprocess.Process, timeout: float) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    return line.decode().strip()


async def run_bot(
    kind: str,
    args: argparse.Namespace,
    root: Path,
    cpus: tuple[int, int] | None,
    tag: str = "",
    client: str = "own",
    instances: int = 1,
) -> dict[str, Any]:
    """One run of a bot: on PostgreSQL (``--db postgresql``, the intake bot only) on a
    database made for this run and dropped after it."""
    if kind == "intake" and args.db == "postgresql":
        with pg_database(args.pg_server, args.keep) as (name, url):
            return await _run_bot(kind, args, root, cpus, tag, client, instances, (name, url))
    return await _run_bot(kind, args, root, cpus, tag, client, instances, None)


async def _run_bot(
    kind: str,
    args: argparse.Namespace,
    root: Path,
    cpus: tuple[int, int] | None,
    tag: str,
    client: str,
    instances: int,
    pg: tuple[str, str] | None,
) -> dict[str, Any]:
    workdir = root / (kind + tag)
    workdir.mkdir(parents=True, exist_ok=True)
    url = pg[1] if pg else None
    db_args = ["--db", url] if url else []
    webhook = kind == "intake" and args.webhook
    out: dict[str, Any] = {
        "instances": instances,
        "database": "postgresql" if pg else "sqlite",
        "updates_by": "webhook, round robin" if webhook else "long polling",
    }
    if kind == "intake":
        # The bot under test always starts on an existing database, as after a restart: a
        # separate process creates it (and stores the drafts) and exits first.
        say(f"[{kind}] setting up the database with {args.drafts} stored drafts ...")
        seed = await asyncio.create_subprocess_exec(
            sys.executable, str(BOTPROC), "--setup", "--seed", str(args.drafts),
            "--workdir", str(workdir), *db_args, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, _ = await asyncio.wait_for(seed.communicate(), 900)
        if seed.returncode != 0:
            raise RuntimeError("seeding drafts failed")
        out["setup"] = json.loads(stdout.decode().strip().splitlines()[-1])
        out["db_bytes_before"] = db_figures(kind, workdir, url)["db_bytes"]

    counters0 = pg_counters(url) if url else {}
    api = FakeApi(delay=args.api_delay / 1000)
    await api.start()
    ports = [free_port() for _ in range(instances)] if webhook else []
    pinned = bot_cpus(cpus, instances, args.pin)
    out["pinned"] = {"fake": cpus[0] if cpus and args.pin != "none" else None, "bots": pinned}
    cmds = []
    for i in range(instances):
        cmd = [
            sys.executable, str(BOTPROC), "--kind", kind, "--api-url", api.url,
            "--workdir", str(workdir), "--limiter", args.limiter,
            "--max-seconds", str(args.timeout * 3 + 120), "--bot-api-client", client, *db_args,
        ]  # fmt: skip
        if webhook:
            cmd += ["--webhook-port", str(ports[i])]
        if pinned[i] is not None:
            cmd += ["--cpu", str(pinned[i])]
        if args.profile and kind == "intake":
            cmd += ["--profile"] if instances == 1 else []
        cmds.append(cmd)
    env = dict(os.environ)
    for item in args.what_if:
        for cmd in cmds:
            cmd += ["--what-if", item]
        if item == "sniffio":
            # What httpcore would do with sniffio installed: answer "asyncio" at once
            # instead of failing `import sniffio` on every lock it sets up.
            stub = root / "sniffio-stub"
            stub.mkdir(exist_ok=True)
            (stub / "sniffio.py").write_text(
                "def current_async_library():\n    return 'asyncio'\n", encoding="utf-8"
            )
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stub), env.get("PYTHONPATH")]))
    say(
        f"[{kind}] starting {instances} bot process(es): {' '.join(cmds[0][1:3])},"
        f" {out['updates_by']}, {out['database']}, CPUs {pinned} ..."
    )
    procs: list[asyncio.subprocess.Process] = []
    phases = [("burst", 0.0, FIRST_ID)]
    if args.think > 0:
        phases.append(("paced", args.think, FIRST_ID + args.applicants))
    finals: list[dict[str, Any]] = []
    try:
        for cmd in cmds:
            procs.append(
                await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, env=env)
            )
        for proc in procs:
            ready = await read_line(proc, 90)
            if ready != "READY":
                raise RuntimeError(f"{kind} bot did not start (said {ready!r})")
        if webhook:
            api.push = WebhookPush(ports, WEBHOOK_SECRET, connections=args.webhook_connections)
        out["rss_after_start_mb"] = sum_mb(procs, "VmRSS")
        steps = load_steps(_flow_source())
        mode = "echo" if kind == "echo" else "interview"
        for name, think, first_id in phases:
            say(
                f"[{kind}] {name}: {args.applicants} applicants"
                + (f", think {think}s" if think else "")
            )
            out[name] = await _phase(api, procs, pg, args, kind, name, steps, mode, think, first_id)
        out["peak_rss_mb"] = sum_mb(procs, "VmHWM")
        if instances > 1:
            out["peak_rss_mb_by_instance"] = [sum_mb([p], "VmHWM") for p in procs]
        out["rss_at_end_mb"] = sum_mb(procs, "VmRSS")
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            # Writing the profile of a long run takes a while.
            finals.append(json.loads(await read_line(proc, 900 if args.profile else 120) or "{}"))
            await asyncio.wait_for(proc.wait(), 60)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await api.stop()
    final = finals[0]
    out["bot_shutdown_s"] = final.get("shutdown_s")
    if "locks_held_share" in final:
        # Of the time each instance served (start to stop, all phases): its write lock and
        # its chat-lock connection held.
        out["locks_held_share_by_instance"] = [f.get("locks_held_share") for f in finals]
        out["slowest_statements_by_instance"] = [f.get("slowest_statements") for f in finals]
    if url:
        # Whole run, start-up included (a few dozen): the bots' backends report their
        # counts as they exit.
        await asyncio.sleep(1.0)
        counters1 = pg_counters(url)
        updates = sum(out[name]["updates"] for name, _, _ in phases)
        out["postgres_dead_rows_at_end"] = counters1["dead_rows"]
        for key in ("xacts", "wal_syncs", "seq_scans", "seq_scan_rows", "index_scans"):
            spent = counters1[key] - counters0[key]
            out[f"postgres_{key}"] = spent
            out[f"postgres_{key}_per_update"] = round(spent / updates, 2) if updates else None
    if "db_awaits" in final:
        updates = sum(out[name]["updates"] for name, _, _ in phases)
        out["db_awaits"] = final["db_awaits"]
        out["db_awaits_per_update"] = round(final["db_awaits"] / updates, 2) if updates else None
    if "profile" in final:
        out["profile"] = final["profile"]
    out.update(db_figures(kind, workdir, url))
    out["api_calls"] = dict(api.calls)
    if api.push is not None:
        out["webhook_posts_by_instance"] = api.push.posted
        out["webhook_retried"] = api.push.retried
    burst = out["burst"]
    # The headline figures are the burst's (the brief's "all at once" run).
    headline = {
        "updates_per_s": burst["updates_per_s"],
        "latency_ms": burst["latency_ms"],
        "peak_rss_mb": out["peak_rss_mb"],
        "db_bytes": out["db_bytes"],
    }
    return {**headline, **out}


async def vacuum_every(url: str, seconds: float) -> None:
    """``VACUUM (ANALYZE)`` of the run's database every ``seconds``: what autovacuum does on
    a server with its defaults (autovacuum_naptime 1 min), for a server that has it off.
    ANALYZE also makes the backends plan their prepared statements again on the tables as
    they now are."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            await asyncio.sleep(seconds)
            started = time.perf_counter()
            await conn.execute("VACUUM (ANALYZE)")
            say(f"  VACUUM (ANALYZE) took {time.perf_counter() - started:.2f} s")


def sum_mb(procs: list[asyncio.subprocess.Process], key: str) -> float:
    return round(sum(proc_status(p.pid, key) for p in procs) / 1024, 1)


async def _phase(
    api: FakeApi,
    procs: list[asyncio.subprocess.Process],
    pg: tuple[str, str] | None,
    args: argparse.Namespace,
    kind: str,
    name: str,
    steps: Any,
    mode: str,
    think: float,
    first_id: int,
) -> dict[str, Any]:
    """One phase, and what each process and the machine spent on it."""
    load0 = loadavg()
    posted0 = api.push.posted if api.push is not None else []
    cpu0 = [proc_cpu(p.pid) for p in procs]
    pg0 = postgres_cpu(pg[0]) if pg else {}
    machine0, t0 = machine_cpu(), time.perf_counter()
    vacuums = None
    if pg and args.vacuum_every > 0:
        vacuums = asyncio.create_task(vacuum_every(pg[1], args.vacuum_every))
    try:
        phase, wall, fake_cpu = await run_phase(
            api, mode=mode, steps=steps, applicants=args.applicants, first_id=first_id,
            think=think, timeout=args.timeout, stall=args.stall, log=say,
        )  # fmt: skip
    finally:
        if vacuums is not None:
            vacuums.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await vacuums
    machine1, elapsed = machine_cpu(), time.perf_counter() - t0
    pg1 = postgres_cpu(pg[0]) if pg else {}
    cpu1 = [proc_cpu(p.pid) for p in procs]
    figures = phase_figures(phase, wall, fake_cpu)
    by = [c1[0] - c0[0] for c0, c1 in zip(cpu0, cpu1, strict=True)]
    cpu = sum(by)
    figures["bot_cpu_s"] = round(cpu, 2)
    if len(procs) > 1:
        figures["bot_cpu_by_instance_s"] = [round(c, 2) for c in by]
    figures["bot_cpu_main_thread_s"] = round(
        sum(c1[1] - c0[1] for c0, c1 in zip(cpu0, cpu1, strict=True)), 2
    )
    figures["bot_cpu_other_threads_s"] = round(
        sum(c1[2] - c0[2] for c0, c1 in zip(cpu0, cpu1, strict=True)), 2
    )
    # In cores: with several instances it may pass 1.
    figures["bot_cpu_busy"] = round(cpu / wall, 2) if wall > 0 else None
    figures["bot_cpu_ms_per_update"] = (
        round(1000 * cpu / figures["updates"], 3) if figures["updates"] else None
    )
    # The rate with the core to itself: on a shared VM the bot's core is not always
    # its own (bot_cpu_busy < 1), and the wall-clock rate then says more about the
    # neighbours than about the bot.
    figures["updates_per_cpu_s"] = round(figures["updates"] / cpu, 1) if cpu > 0 else None
    if think:
        figures["think_mean_s"] = think
    # What shared the cores meanwhile: the whole machine (/proc/stat) less the bench
    # process (fake + applicants), the bots and PostgreSQL is everybody else's.
    busy = machine1[0] - machine0[0]
    known = fake_cpu + cpu
    machine: dict[str, Any] = {
        "elapsed_s": round(elapsed, 2),
        "cpus": os.cpu_count(),
        "busy_cores": round(busy / elapsed, 2),
        "stolen_cores": round((machine1[1] - machine0[1]) / elapsed, 2),
        "bench_cores": round(fake_cpu / elapsed, 2),
        "bots_cores": round(cpu / elapsed, 2),
        "loadavg_before": load0,
        "loadavg_after": loadavg(),
    }
    if pg:
        spent = postgres_delta(pg0, pg1)
        figures["postgres_cpu_s"] = spent
        figures["postgres_cpu_ms_per_update"] = (
            round(1000 * (spent["ours"] + spent["server"]) / figures["updates"], 3)
            if figures["updates"]
            else None
        )
        machine["postgres_cores"] = round((spent["ours"] + spent["server"]) / elapsed, 2)
        known += spent["ours"] + spent["server"]
    machine["others_cores"] = round(max(0.0, busy - known) / elapsed, 2)
    figures["machine"] = machine
    if api.push is not None:
        figures["webhook_posts_by_instance"] = [
            b - a for a, b in zip(posted0, api.push.posted, strict=True)
        ]
    say(
        f"[{kind}] {name}: {figures['updates']} updates in {figures['wall_s']}s ="
        f" {figures['updates_per_s']}/s; latency {figures['latency_ms']};"
        f" bot CPU busy {figures['bot_cpu_busy']}, fake CPU {figures['fake_cpu_share']};"
        f" machine {machine}" + (f"; postgres {figures['postgres_cpu_s']}" if pg else "")
    )
    return figures


def _flow_source() -> str:
    from importlib.resources import files

    return (files("bot.flows") / "judicial-assistance.yaml").read_text(encoding="utf-8")


def bot_code() -> dict[str, Any]:
    """Which bot was measured: the commit, whether bot/ or handlers/ had local changes, and
    the plumbing settings telegram_channel.app uses (others change the bot while benches run)."""
    from botproc import own_request_class, shipped_pool

    import telegram_channel.app

    request = own_request_class()
    out: dict[str, Any] = {
        "pool_size": shipped_pool(telegram_channel.app),
        "bot_api_request": request.__name__ if request else "HTTPXRequest (PTB default)",
    }
    root = (
        Path(telegram_channel.app.__file__).resolve().parents[1]
    )  # PYTHONPATH may point at another tree
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "handlers"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        out["commit"] = head.stdout.strip()
        out["uncommitted_changes"] = bool(dirty.stdout.strip())
    return out


def pick_cpus() -> tuple[int, int] | None:
    """(fake, bot): two different CPUs this process may use, or None with fewer than two."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2:
        return None
    return mine[0], mine[1]


# Intake and echo bursts back to back, by default: the main runs' echo burst comes minutes
# after the intake bot's (its paced phase and the conversation baseline lie between), and on
# a shared machine the CPU a process gets drifts by tens of percent in that time.
PAIRS = 3


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


async def run_pairs(
    args: argparse.Namespace, root: Path, cpus: tuple[int, int] | None
) -> dict[str, Any]:
    """Bursts of the intake bot and the echo bot back to back, ``args.pairs`` times: on a
    shared machine the CPU each gets drifts by tens of percent within minutes, so a ratio
    is only worth as much as the time between its two runs is short."""
    burst = argparse.Namespace(**{**vars(args), "think": 0.0, "profile": False})
    runs = []
    for i in range(args.pairs):
        intake = (await run_bot("intake", burst, root, cpus, f"-pair{i}"))["burst"]
        echo = (await run_bot("echo", burst, root, cpus, f"-pair{i}"))["burst"]
        runs.append(
            {
                "intake_cpu_ms_per_update": intake["bot_cpu_ms_per_update"],
                "echo_cpu_ms_per_update": echo["bot_cpu_ms_per_update"],
                "ratio_vs_echo": ratio(intake["updates_per_s"], echo["updates_per_s"]),
                "cpu_ratio_vs_echo": ratio(intake["updates_per_cpu_s"], echo["updates_per_cpu_s"]),
            }
        )
        say(f"[pair {i}] {runs[-1]}")
    return {
        "runs": runs,
        "median_ratio_vs_echo": statistics.median(r["ratio_vs_echo"] or 0 for r in runs),
        "median_cpu_ratio_vs_echo": statistics.median(r["cpu_ratio_vs_echo"] or 0 for r in runs),
    }


async def run_instances(
    args: argparse.Namespace, root: Path, cpus: tuple[int, int] | None
) -> dict[str, Any]:
    """The intake bot's burst with each number of instances in ``--instances``, one after
    the other, ``--rounds`` times: the machine drifts within minutes, so each round's
    ratio compares runs minutes apart, and the median of the rounds is the figure."""
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for n in args.instances:
            run = await run_bot("intake", args, root, cpus, f"-r{r}-x{n}", instances=n)
            burst = run["burst"]
            refs = run.get("submitted_refs", {})
            runs.append(
                {
                    "round": r,
                    "instances": n,
                    "updates_per_s": burst["updates_per_s"],
                    "p50_ms": burst["latency_ms"].get("p50"),
                    "p99_ms": burst["latency_ms"].get("p99"),
                    # From the moment the applicant queued it: the wait for a connection
                    # to a webhook (and for its POST to be stored) included.
                    "from_queued_p50_ms": burst["latency_from_queued_ms"].get("p50"),
                    "from_queued_p99_ms": burst["latency_from_queued_ms"].get("p99"),
                    "bot_cpu_s": burst["bot_cpu_s"],
                    "bot_cpu_by_instance_s": burst.get("bot_cpu_by_instance_s"),
                    "bot_cpu_ms_per_update": burst["bot_cpu_ms_per_update"],
                    "postgres_cpu_s": burst.get("postgres_cpu_s"),
                    "postgres_cpu_ms_per_update": burst.get("postgres_cpu_ms_per_update"),
                    "postgres_xacts_per_update": run.get("postgres_xacts_per_update"),
                    "postgres_wal_syncs_per_update": run.get("postgres_wal_syncs_per_update"),
                    "postgres_seq_scan_rows_per_update": run.get(
                        "postgres_seq_scan_rows_per_update"
                    ),
                    "locks_held_share_by_instance": run.get("locks_held_share_by_instance"),
                    "slowest_statements_by_instance": run.get("slowest_statements_by_instance"),
                    "machine": burst["machine"],
                    "posts_by_instance": burst.get("webhook_posts_by_instance"),
                    "webhook_retried": run.get("webhook_retried"),
                    "all_sent": burst["applicants_done"] == args.applicants
                    and burst["refusals"] == 0,
                    "db_submitted_with_one_ref": refs.get("submitted")
                    == refs.get("distinct_refs")
                    == refs.get("applicants")
                    == args.applicants * (2 if args.think > 0 else 1),
                    "peak_rss_mb": run["peak_rss_mb"],
                }
            )
            say(f"[round {r}, {n} instance(s)] {runs[-1]}")
    medians: dict[str, Any] = {}
    for n in args.instances:
        mine = [x for x in runs if x["instances"] == n]
        medians[str(n)] = {
            key: statistics.median(x[key] for x in mine)
            for key in ("updates_per_s", "p50_ms", "p99_ms", "bot_cpu_ms_per_update")
        }
    out: dict[str, Any] = {"runs": runs, "medians": medians}
    if len(args.instances) == 2:
        one, two = args.instances
        per_round = [
            ratio(
                next(x for x in runs if x["round"] == r and x["instances"] == two)["updates_per_s"],
                next(x for x in runs if x["round"] == r and x["instances"] == one)["updates_per_s"],
            )
            for r in range(args.rounds)
        ]
        out["ratio"] = {
            "of": f"{two} instances / {one}",
            "updates_per_s_by_round": per_round,
            "median_of_rounds": statistics.median(x or 0 for x in per_round),
            "of_medians": ratio(
                medians[str(two)]["updates_per_s"], medians[str(one)]["updates_per_s"]
            ),
        }
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cpus = pick_cpus()
    if cpus is not None and args.pin != "none":
        os.sched_setaffinity(0, {cpus[0]})
    root = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    say(f"work directory {root}; CPUs (fake, bot): {cpus}")
    result: dict[str, Any] = {
        "applicants": args.applicants,
        "drafts": args.drafts,
        "think_s": args.think,
        "api_delay_ms": args.api_delay,
    }
    result["bot_code"] = bot_code()
    if args.what_if:
        result["what_if"] = args.what_if
    if args.db != "sqlite" or args.webhook or args.instances != [1]:
        result["database"] = args.db
        result["instances"] = args.instances
        result["webhook"] = args.webhook
        result["pin"] = args.pin
        result["vacuum_every_s"] = args.vacuum_every
    if args.db == "postgresql":
        result["postgres_settings"] = pg_settings(args.pg_server)
    try:
        if len(args.instances) > 1 or args.rounds > 1:
            result["instance_runs"] = await run_instances(args, root, cpus)
        else:
            result["intake_bot"] = await run_bot(
                "intake", args, root, cpus, instances=args.instances[0]
            )
        if not args.skip_stock:
            # The same bot on python-telegram-bot's stock client: reported, never judged.
            result["intake_bot_stock_client"] = await run_bot(
                "intake", args, root, cpus, tag="-stock", client="stock"
            )
        if not args.skip_baselines:
            result["conversation_baseline"] = await run_bot("conversation", args, root, cpus)
            result["echo"] = await run_bot("echo", args, root, cpus)
        if args.pairs:
            result["pairs"] = await run_pairs(args, root, cpus)
    finally:
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if "instance_runs" in result:
        result["notes"] = notes(args, cpus)
        return result
    intake = result["intake_bot"]
    if not args.skip_baselines:
        conv, echo = result["conversation_baseline"], result["echo"]
        result["ratio_vs_echo"] = ratio(intake["updates_per_s"], echo["updates_per_s"])
        result["ratio_vs_conversation"] = ratio(intake["updates_per_s"], conv["updates_per_s"])
        result["cpu_ratio_vs_echo"] = ratio(
            intake["burst"]["updates_per_cpu_s"], echo["burst"]["updates_per_cpu_s"]
        )
        if args.think > 0:
            result["paced_p99_ms"] = {
                k: result[k]["paced"]["latency_ms"].get("p99")
                for k in ("intake_bot", "conversation_baseline", "echo")
            }
    if "intake_bot_stock_client" in result:
        stock = result["intake_bot_stock_client"]
        result["stock_client_vs_own"] = {
            "updates_per_s": ratio(stock["updates_per_s"], intake["updates_per_s"]),
            "updates_per_cpu_s": ratio(
                stock["burst"]["updates_per_cpu_s"], intake["burst"]["updates_per_cpu_s"]
            ),
        }
    p99 = intake.get("paced", intake["burst"])["latency_ms"].get("p99")
    echo_ratio, echo_cpu_ratio = result.get("ratio_vs_echo"), result.get("cpu_ratio_vs_echo")
    if "pairs" in result:
        echo_ratio = result["pairs"]["median_ratio_vs_echo"]
        echo_cpu_ratio = result["pairs"]["median_cpu_ratio_vs_echo"]
    result["targets"] = {
        "updates_per_s>=1000": intake["updates_per_s"] >= 1000,
        "ratio_vs_echo>=0.8": (echo_ratio or 0) >= 0.8 if echo_ratio is not None else None,
        "ahead_of_conversation": (result.get("ratio_vs_conversation") or 0) > 1
        if "ratio_vs_conversation" in result
        else None,
        "updates_per_cpu_s>=1000": (intake["burst"]["updates_per_cpu_s"] or 0) >= 1000,
        "cpu_ratio_vs_echo>=0.8": (echo_cpu_ratio or 0) >= 0.8
        if echo_cpu_ratio is not None
        else None,
        "echo_ratios_judged_on": f"pairs: median of {args.pairs}"
        if "pairs" in result
        else "main runs",
        "p99_ms<50": p99 is not None and p99 < 50,
        "p99_ms_judged_on": "paced" if "paced" in intake else "burst",
        "all_submitted": intake["burst"]["applicants_done"] == args.applicants
        and intake["burst"]["refusals"] == 0,
    }
    result["notes"] = notes(args, cpus)
    return result


def notes(args: argparse.Namespace, cpus: tuple[int, int] | None) -> str:
    parts = [
        "Fake Bot API: bench/fakeapi.py (minimal asyncio HTTP/1.1 server on 127.0.0.1) with the "
        "simulated applicants in the bench process; each bot in its own process"
        + (
            f", bot pinned to CPU {cpus[1]}, fake+applicants to CPU {cpus[0]}"
            if cpus
            else ", NOT pinned (fewer than 2 CPUs): fake and bot share the CPU"
        )
        + ".",
        "updates_per_s = answered updates / (first update queued .. last reply), burst phase "
        "(all applicants at once, no think time).",
        "latency_ms = update handed to the bot in a getUpdates response .. the bot's call that "
        "shows the next question (its keyboard); latency_from_queued_ms adds the wait for the "
        "next getUpdates; first_call_ms ends at the bot's first sendMessage/edit to that chat.",
        "In the burst every applicant always has one update in flight, so latency there is about "
        "applicants / throughput (Little's law); p99 target judged on the paced phase "
        "(think uniform 0..2*think_s per answer) when it ran.",
        "intake bot: rate_limit=0 (per-user limit off for the load test)"
        + (
            "; the send limiter's 30 msg/s overall limit lifted (limits set to 0, retries kept) "
            "because the fake is not Telegram"
            if args.limiter == "off"
            else "; the send limiter as shipped (30 msg/s overall)"
        )
        + (
            "; SQLite WAL, synchronous=FULL (flushed to disk)"
            if args.db == "sqlite"
            else "; PostgreSQL, synchronous_commit on"
        )
        + ", every answer committed before its reply.",
        "The judged targets are the intake bot's on its own Bot API client (INTAKE_BOT_API_CLIENT"
        "=own); intake_bot_stock_client is the same bot on python-telegram-bot's stock client "
        "(HTTPXRequest, Update.de_json, AIORateLimiter), reported beside it, never judged"
        + (" (not run: --skip-stock)." if args.skip_stock else "."),
        "conversation baseline: ConversationHandler + PicklePersistence (update_interval 60 s: "
        "answers reach disk once a minute and at shutdown, not before the reply), updates one "
        "at a time (examples' default).",
        "echo: one sendMessage per update, with the intake bot's plumbing: "
        "concurrent_updates(256), the same Bot API request class and pool size as telegram_channel.app "
        "(bot_code); the conversation baseline keeps PTB's defaults (httpx, 256 connections), "
        "as the examples do.",
        "peak_rss_mb = VmHWM of the bot process; db_bytes = SQLite db+wal (pickle for the "
        "baseline).",
    ]
    if args.db == "postgresql" or args.webhook:
        parts.append(
            "PostgreSQL/instances: each run on a fresh PostgreSQL database (CREATE DATABASE, "
            "dropped after it unless --keep; synchronous_commit on); with --webhook (implied "
            "by more than one instance, for every count compared) the bot runs telegram_channel.app.serve in webhook mode (on "
            "PostgreSQL: several-instances mode, a chat's advisory lock across instances, no "
            "applicant views kept) and the fake POSTs each update to the next instance's "
            "webhook (round robin, keep-alive, --webhook-connections per instance); latency_ms "
            "then starts when the POST is written. Pinning (--pin "
            f"{args.pin}): "
            + (
                "nothing pinned."
                if args.pin == "none" or cpus is None
                else f"fake+applicants on CPU {cpus[0]}, instance i on CPU "
                f"{cpus[1]} if i is even, else {cpus[0]} (with the fake); PostgreSQL unpinned."
            )
            + " machine.*_cores: CPU of each party / elapsed (whole machine from /proc/stat; "
            "others = everything else on the machine, e.g. other people's tests)."
        )
    if args.api_delay:
        parts.append(
            f"--api-delay {args.api_delay:g}: the fake held back each answer to a Bot API call "
            "(not getUpdates) that many ms, as Telegram's round trip would."
        )
    if args.profile:
        parts.append("--profile: the intake bot ran under the profiler, its figures are slower.")
    if args.what_if:
        parts.append(
            f"WHAT-IF run {args.what_if}: NOT the shipped configuration (bench-level changes to "
            "what telegram_channel.app builds; see bench/README.md)."
        )
    return " ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description="Load test of the intake bot.")
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--drafts", type=int, default=0, help="stored drafts before the run")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument(
        "--skip-stock",
        action="store_true",
        help="do not run the intake bot a second time on the stock Bot API client",
    )
    parser.add_argument("--profile", action="store_true", help="profile the intake bot")
    parser.add_argument(
        "--pairs",
        type=int,
        default=None,
        metavar="N",
        help="then N bursts of the intake bot and the echo bot back to back (ratios per pair;"
        " the echo targets are judged on their medians); default 3 with the baselines, else 0",
    )
    parser.add_argument(
        "--think", type=float, default=5.0, help="mean think time of the paced phase (0 = skip)"
    )
    parser.add_argument("--limiter", choices=["off", "shipped"], default="off")
    parser.add_argument(
        "--api-delay",
        type=float,
        default=0.0,
        metavar="MS",
        help="hold back each Bot API answer (not getUpdates) this long: Telegram's round trip",
    )
    parser.add_argument("--timeout", type=float, default=600, help="per phase, seconds")
    parser.add_argument(
        "--stall", type=float, default=300, help="give up an applicant waiting this long"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the intake bot's database: a SQLite file, or a fresh PostgreSQL database per run",
    )
    parser.add_argument(
        "--pg-server", default=PG_SERVER, help="where --db postgresql creates its databases"
    )
    parser.add_argument(
        "--instances",
        default="1",
        help="instances of the intake bot (webhook mode, PostgreSQL); a list such as 1,2 runs"
        " each in turn, --rounds times, and reports the ratio",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --instances: repeat this often")
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="updates by webhook instead of long polling (always with several instances)",
    )
    parser.add_argument(
        "--webhook-connections",
        type=int,
        default=40,
        help="connections the fake opens to each instance's webhook (Telegram's max_connections)",
    )
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0,
        metavar="S",
        help="with --db postgresql: VACUUM (ANALYZE) the run's database every S seconds"
        " during a phase, as autovacuum would (0: never, as a server with autovacuum off)",
    )
    parser.add_argument(
        "--pin",
        choices=["spread", "none"],
        default="spread",
        help="spread: the fake on one CPU, instance i on the other if i is even, else on the"
        " fake's; none: nothing pinned",
    )
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        metavar="CHANGE",
        help="experiment, not the shipped bot: sniffio, warm, concurrency=N, pool=N, one_call_per_tap",
    )
    args = parser.parse_args()
    if args.pairs is None:
        args.pairs = 0 if args.skip_baselines else PAIRS
    args.instances = [int(n) for n in str(args.instances).split(",")]
    several = len(args.instances) > 1 or args.rounds > 1
    if max(args.instances) > 1 and args.db != "postgresql":
        parser.error("several instances run on PostgreSQL only (--db postgresql)")
    if max(args.instances) > 1:
        # Several instances take webhooks only; one instance compared with them does too.
        args.webhook = True
    if (several or args.db == "postgresql" or args.webhook) and not (
        args.skip_baselines and args.skip_stock and not args.pairs
    ):
        parser.error(
            "--db postgresql, --webhook and --instances measure the intake bot alone:"
            " add --skip-baselines --skip-stock"
        )
    from botproc import parse_what_if

    parse_what_if(args.what_if)  # refuse a bad combination before anything starts
    started = time.perf_counter()
    result = asyncio.run(main_async(args))
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    if "profile" in result.get("intake_bot", {}):
        print_profile(result["intake_bot"]["profile"])
        # The full lists are in the files; the JSON line keeps the top of each.
        prof = result["intake_bot"]["profile"]
        prof["self"], prof["total"] = prof["self"][:12], prof["total"][:20]
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
    return 0


def print_profile(profile: dict[str, Any]) -> None:
    say(f"\nprofile of the intake bot: {profile.get('profiler')}")
    if "idle_pct" in profile:
        say(f"  idle (waiting in the event loop's select): {profile['idle_pct']}%")
    for layer, pct in profile.get("layers", {}).items():
        say(f"  {pct:6.1f}%  {layer}")
    say("  top by own time (% of wall time):")
    for name, pct in profile["self"]:
        say(f"    {pct:6.2f}%  {name}")
    say("  top by total time including callees:")
    for name, pct in profile["total"]:
        say(f"    {pct:6.2f}%  {name}")
    say(f"  files: {profile.get('files')}\n")


if __name__ == "__main__":
    sys.exit(main())
