"""CPU per Bot API call, layer by layer: where a reply's cost goes before the bot's own work.

    python bench/calls.py                 # 20,000 sendMessage calls per layer, 64 at once
    python bench/calls.py --calls 5000
    python bench/calls.py --at-once 256   # more callers than connections: a burst's queue

The fake Bot API (bench/fakeapi.py) runs in another process, pinned to the other CPU; the
calls are made from this one, pinned to one CPU, and timed with the process's CPU clock.
Layers, each on its own fresh connections to the fake:

* ``bot``: what a reply does, ``telegram_channel.transport.call``: the rate limiter as telegram_channel.app builds it
  (no rate, retries kept), ``BotApiRequest.post_json`` and the answer read as PTB reads it;
* ``ptb_post``: the same call through PTB's ``Bot._post`` (what replies did before c88a9d0,
  and what PTB's own methods still do);
* ``transport``: ``BotApiRequest.do_request`` alone (a ready ``RequestData``);
* ``http1``: ``telegram_channel.http1.Http1Pool.request`` alone, the JSON body encoded by the caller;
* ``aiohttp``: one ``aiohttp.ClientSession.post`` with the same body (what the transport
  used before ``telegram_channel/http1.py``).

Prints a line per layer on stderr and one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PARAMS: dict[str, Any] = {
    "chat_id": 5,
    "text": "<b>您是为自己申请，还是替家人申请？</b>\n\n请选一个。",
    "parse_mode": "HTML",
    "link_preview_options": {"is_disabled": True},
    "reply_markup": {
        "inline_keyboard": [
            [{"text": "为我自己", "callback_data": "a:12:1:c:0"}],
            [{"text": "为家人", "callback_data": "a:12:1:c:1"}],
            [{"text": "⬅️ 返回", "callback_data": "a:12:1:b:0"}],
        ]
    },
}
POOL = 64  # connections, as telegram_channel.app asks for with no rate limit (the bench's case)


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _serve(ports: Any) -> None:
    from fakeapi import FakeApi

    _pin(1)

    async def main() -> None:
        api = FakeApi()
        await api.start()
        ports.put(api.port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _measure(
    calls: int, call: Callable[[], Awaitable[Any]], at_once: int
) -> dict[str, float]:
    async def worker(n: int) -> None:
        for _ in range(n):
            await call()

    await asyncio.gather(*(worker(20) for _ in range(at_once)))  # connections open, code warm
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(calls // at_once) for _ in range(at_once)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = calls // at_once * at_once
    return {"cpu_us_per_call": round(cpu / done * 1e6, 1), "calls_per_s": round(done / wall)}


async def _layers(port: int, calls: int, at_once: int) -> dict[str, dict[str, float]]:
    import aiohttp
    from telegram.ext import ExtBot
    from telegram.request import RequestData
    from telegram.request._requestparameter import RequestParameter

    from telegram_channel import http1
    from telegram_channel.sendlimit import SendLimiter
    from telegram_channel.transport import BotApiRequest, call

    _pin(0)
    base = f"http://127.0.0.1:{port}/bot1:x"
    out: dict[str, dict[str, float]] = {}

    limiter = SendLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    request = BotApiRequest(connection_pool_size=POOL)
    bot = ExtBot(
        "1:x", base_url=f"http://127.0.0.1:{port}/bot", request=request, rate_limiter=limiter
    )
    await request.initialize()
    await limiter.initialize()
    out["bot"] = await _measure(calls, lambda: call(bot, "sendMessage", dict(PARAMS)), at_once)
    out["ptb_post"] = await _measure(calls, lambda: bot._post("sendMessage", dict(PARAMS)), at_once)
    await request.shutdown()

    request = BotApiRequest(connection_pool_size=POOL)
    await request.initialize()

    def data() -> RequestData:
        return RequestData([RequestParameter.from_input(k, v) for k, v in PARAMS.items()])

    out["transport"] = await _measure(
        calls, lambda: request.do_request(f"{base}/sendMessage", "POST", data()), at_once
    )
    await request.shutdown()

    pool = http1.Http1Pool(size=POOL)
    origin = http1.Origin("http", "127.0.0.1", port)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    async def lean() -> None:
        body = encode(PARAMS).encode()
        _, payload = await pool.request("POST", origin, "/bot1:x/sendMessage", body=body)
        json.loads(payload)

    out["http1"] = await _measure(calls, lean, at_once)
    await pool.close()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POOL)) as session:
        headers = {"Content-Type": "application/json"}

        async def plain_aiohttp() -> None:
            body = encode(PARAMS).encode()
            async with session.post(f"{base}/sendMessage", data=body, headers=headers) as resp:
                json.loads(await resp.read())

        out["aiohttp"] = await _measure(calls, plain_aiohttp, at_once)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument(
        "--at-once",
        type=int,
        default=POOL,
        help=f"callers at once; above {POOL} they queue for the {POOL} connections",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    ports: Any = mp.Queue()
    server = mp.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        layers = asyncio.run(_layers(port, args.calls, args.at_once))
    finally:
        server.terminate()
        server.join(5)
    for name, figures in layers.items():
        print(
            f"{name:10s} {figures['cpu_us_per_call']:7.1f} µs CPU a call"
            f" {figures['calls_per_s']:8d} calls/s",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {"calls": args.calls, "at_once": args.at_once, "connections": POOL, "layers": layers}
        )
    )


if __name__ == "__main__":
    main()
