"""Checking a flow file nobody has vetted yet, in a child process with a time and memory budget.

An admin's upload is read while the bot serves everyone else. Reading YAML and checking
the flow is pure Python: done on the event loop, a file that is slow to read would stop
every other chat until it finished, and one that is big to build would grow the bot's
memory for good. The loader's limits (bot/flow/loader.py) keep honest files small and
refuse the known bombs at once; this is the backstop for whatever they do not foresee:
the check runs in a fresh interpreter that may use ``Budget.memory_bytes`` of address
space and is killed after ``Budget.seconds``, one check at a time, while the bot goes on.

The child answers with the checked result, pickled: the :class:`Flow` (so the bot does
not read the file a second time on its own loop) or the list of problems. Unpickling is
safe here because the bytes come from our own child running only our code; the file's
text only ever travels inside them as strings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.flow.loader import FlowError, Problem, load_flow_text
from bot.flow.model import Flow
from bot.i18n_marks import N_

log = logging.getLogger(__name__)

SECONDS = 10.0
MEMORY_BYTES = 512 * 1024 * 1024
_OUT_OF_MEMORY = 3  # the child's exit status when it ran out of its memory budget
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the bot package
# -I: no PYTHON* variables, no user site, no current folder on the path. The environment
# is cut down to what starting Python may need, so the child never holds the bot's
# settings (token, database URL, secrets) while it reads a stranger's file.
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from bot.flow.sandbox import child; child()"
_ENV_KEPT = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "SYSTEMROOT")


@dataclass(frozen=True)
class Budget:
    """What checking one file may cost: wall-clock seconds and bytes of address space."""

    seconds: float = SECONDS
    memory_bytes: int = MEMORY_BYTES


class CheckStopped(Exception):
    """The check was stopped before it finished (too slow, too big); nothing was read.

    Not a :class:`FlowError`: there is no line to point at, only what to do about it.
    """

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))

    def render(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(**self.params)


class FlowChecker:
    """Checks untrusted flow files in a child process, one at a time."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        # Two admins uploading at once wait for each other rather than run two
        # interpreters of up to 512 MB side by side on a small server.
        self._one_at_a_time = asyncio.Semaphore(1)

    async def check(self, source: str) -> Flow:
        """The flow in ``source``; raise FlowError with its problems, or CheckStopped."""
        async with self._one_at_a_time:
            try:
                output, status = await self._run(source.encode("utf-8"))
            except OSError as exc:  # no process could be started (out of memory, of pids)
                log.error("flow check process could not start: %s", exc.strerror or exc)
                output, status = b"", None
        if status == _OUT_OF_MEMORY:
            log.warning("flow check ran out of its memory budget")
            raise CheckStopped(
                N_(
                    "Checking this file needed too much memory, so it was stopped and nothing"
                    " was published. Please make the file smaller or simpler and send it again."
                )
            )
        try:
            kind, value = pickle.loads(output) if status == 0 else (None, None)
        except Exception:
            kind, value = None, None
        if kind == "flow" and isinstance(value, Flow):
            return value
        if kind == "problems" and isinstance(value, list):
            raise FlowError(value)
        log.error("flow check process failed with status %s", status)
        raise CheckStopped(
            N_("The file could not be checked, and nothing was published. Please try again later.")
        )

    async def _run(self, data: bytes) -> tuple[bytes, int | None]:
        seconds = self.budget.seconds
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            _CHILD,
            _ROOT,
            str(self.budget.memory_bytes),
            str(seconds),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if k in _ENV_KEPT},
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(data), seconds)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.warning("flow check took longer than %s s and was stopped", seconds)
            raise CheckStopped(
                N_(
                    "Checking this file took too long (more than {seconds} seconds), so it was"
                    " stopped and nothing was published. Please make the file smaller or simpler"
                    " and send it again."
                ),
                seconds=_seconds(seconds),
            ) from None
        return output, proc.returncode


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def child() -> None:
    """The child's side: limits first, then read stdin, check, write the pickled result."""
    memory_bytes, seconds = int(sys.argv[2]), float(sys.argv[3])
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        # Should the bot die and never kill this child, the CPU limit still ends it.
        cpu = int(seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    except (ImportError, ValueError, OSError):  # no such limits here (not Linux)
        pass
    try:
        data = sys.stdin.buffer.read()
        result: tuple[str, object]
        try:
            result = ("flow", load_flow_text(data.decode("utf-8")))
        except FlowError as err:
            result = ("problems", err.problems)
        except UnicodeDecodeError:
            result = ("problems", [Problem(1, N_("the file is not UTF-8 text"))])
        out = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)
