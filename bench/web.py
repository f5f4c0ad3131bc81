"""The web chat under load: N applicants at once answer the whole built-in interview over
HTTP, as phones' browsers would (forms, 303 redirects, cookies), against `intake-bot web`'s
server in its own process pinned to one CPU.

Each applicant opens the start page, taps Start, and answers whatever each page asks
(consent: agree; choice: the first; multiple choice: the first, then Done; optional
questions: Skip; others typed), then Send on the review. An "update" is one form sent (the
redirect and the next page it leads to included in its latency), the same unit as an
update of the Telegram bench (bench/run.py); Start, which hashes a new resume code with
scrypt (slow on purpose, bot/webchat.py), is timed apart. Prints one JSON line: forms per
second, their latency (p50/p95/p99/max, ms), the server's CPU per form and peak RSS
(VmHWM), and the database's size afterwards.

Then every applicant's applications page stays open and looks for news (``/news``, as the
page's script does every 15 seconds, web_channel/chat.js) ``--looks`` times, back to back,
with the ETag of its last answer: looks per second, their latency and the server's CPU per
look, apart from the forms'. 500 open pages look about 33 times a second in real use.

    python bench/web.py                    # 500 applicants
    python bench/web.py --applicants 50    # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_FORM = re.compile(r'<form[^>]*id="q"[^>]*data-step="([^"]*)" data-type="([^"]*)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
TYPED = {"date": "1975-03-08", "number": "1", "phone": "13912345678"}


def _serve(db: str, port: int, cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    from bot.config import Settings
    from web_channel.app import serve_web

    settings = Settings(db_path=db, web_port=port, web_rate_limit=0, log_level="WARNING")
    asyncio.run(serve_web(settings))


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _form(page: str) -> tuple[str, str, dict[str, str], str]:
    m = _FORM.search(page)
    if m is None:
        return "", "", {}, page
    rest = page[m.start() :]
    hidden = dict(_HIDDEN.findall(rest[: rest.index("</form>")]))
    return m.group(1), m.group(2), hidden, rest


class Phases:
    """The forms of everyone first, then the looks for news of everyone (measured apart)."""

    def __init__(self, applicants: int, looks: int) -> None:
        self.left = applicants
        self.looks = looks
        self.interviewed = asyncio.Event()
        self.look = asyncio.Event()
        self.look_latencies: list[float] = []
        self.unchanged = 0

    def finished(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.interviewed.set()


async def applicant(
    base: str, latencies: list[float], starts: list[float], stall: float, phases: Phases
) -> bool:
    """One person through the interview, then their open page looking for news; False when
    they did not get a reference."""
    timeout = aiohttp.ClientTimeout(total=stall)
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: an address, not a name
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as http:
        try:
            sent = await _interview(http, base, latencies, starts)
        finally:
            phases.finished()
        if sent and phases.looks:
            await phases.look.wait()
            await _look(http, base, phases)
        return sent


async def _look(http: aiohttp.ClientSession, base: str, phases: Phases) -> None:
    etag = ""
    for _ in range(phases.looks):
        t = time.perf_counter()
        async with http.get(base + "/news", headers={"If-None-Match": etag} if etag else {}) as r:
            await r.read()
            etag = r.headers.get("ETag", etag)
            phases.unchanged += r.status == 304
        phases.look_latencies.append(time.perf_counter() - t)


async def _interview(
    http: aiohttp.ClientSession, base: str, latencies: list[float], starts: list[float]
) -> bool:
    async with http.get(base + "/", headers={"Accept-Language": "zh-CN"}) as r:
        home = await r.text()
    m = _CSRF.search(home)
    if m is None:
        return False
    t = time.perf_counter()
    async with http.post(base + "/start", data={"csrf": m.group(1)}) as r:
        await r.read()
    async with http.get(base + "/chat") as r:
        page = await r.text()
    starts.append(time.perf_counter() - t)
    last = ""
    for _ in range(120):
        step, kind, hidden, rest = _form(page)
        toggled, last = step == last, step
        if kind == "review":
            data = {**hidden, "move": "send"}
        elif kind == "consent":
            data = {**hidden, "move": "agree"}
        elif kind == "multi_choice" and toggled:
            data = {**hidden, "move": "done"}
        elif kind in ("choice", "multi_choice"):
            data = {**hidden, "choice": "0"}
        elif kind == "" or step == "":
            return False
        elif 'value="done"' in rest.split("</form>")[0]:
            data = {**hidden, "move": "done"}
        elif 'value="skip"' in rest.split("</form>")[0]:
            data = {**hidden, "move": "skip"}
        else:
            data = {**hidden, "move": "typed", "text": TYPED.get(kind, "张家村")}
        t = time.perf_counter()
        async with http.post(base + "/answer", data=data) as r:
            page = await r.text()
            where = r.url.path
        latencies.append(time.perf_counter() - t)
        if where == "/status":
            return 'id="ref"' in page
    return False


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(base + "/") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the web chat did not start")
            await asyncio.sleep(0.2)
    rss_after_start = _peak_rss_mb(pid)
    latencies: list[float] = []
    starts: list[float] = []
    phases = Phases(args.applicants, args.looks)
    cpu_before = _cpu_s(pid)
    started = time.perf_counter()
    everyone = asyncio.gather(
        *(applicant(base, latencies, starts, args.stall, phases) for _ in range(args.applicants)),
        return_exceptions=True,
    )
    await phases.interviewed.wait()
    wall = time.perf_counter() - started
    cpu = _cpu_s(pid) - cpu_before
    cpu_before = _cpu_s(pid)
    started = time.perf_counter()
    phases.look.set()
    done = await everyone
    look_wall = time.perf_counter() - started
    look_cpu = _cpu_s(pid) - cpu_before
    looks = len(phases.look_latencies)
    sent = sum(1 for d in done if d is True)
    forms = len(latencies) + len(starts)
    return {
        "applicants": args.applicants,
        "sent": sent,
        "failed": args.applicants - sent,
        "forms": forms,
        "seconds": round(wall, 2),
        "updates_per_s": round(forms / wall, 1),
        # An answer: the form, its redirect and the next question's page.
        "latency_ms": _percentiles(latencies),
        # Start: a new person, their resume code hashed (scrypt, on purpose slow), the
        # first question's page.
        "start_latency_ms": _percentiles(starts),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_update": round(cpu / forms * 1000, 3) if forms else None,
        "updates_per_cpu_s": round(forms / cpu, 1) if cpu else None,
        # An open page's look for news (``/news``, with the ETag it has).
        "looks": looks,
        "looks_unchanged": phases.unchanged,
        "looks_per_s": round(looks / look_wall, 1) if looks else None,
        "look_latency_ms": _percentiles(phases.look_latencies),
        "server_cpu_ms_per_look": round(look_cpu / looks * 1000, 3) if looks else None,
        "rss_after_start_mb": round(rss_after_start, 1),
        "peak_rss_mb": round(_peak_rss_mb(pid), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--stall", type=float, default=300.0, help="seconds per applicant")
    parser.add_argument("--looks", type=int, default=20, help="looks for news per open page")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as work:
        db = str(Path(work) / "intake.db")
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(db, port, 0 if cpus > 1 else None), daemon=True
        )
        server.start()
        assert server.pid is not None
        if cpus > 1 and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {1})
        try:
            result = asyncio.run(run(args, port, server.pid))
        finally:
            server.terminate()
            server.join(30)
        result["db_bytes"] = sum(
            p.stat().st_size for p in Path(work).glob("intake.db*") if p.is_file()
        )
    print(json.dumps(result), flush=True)
    return 0 if result["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
