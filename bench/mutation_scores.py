"""Mutation scores of the core modules, from the results ``mutmut run`` left in mutants/.

docs/testing.md says how to run it. A mutant counts as caught when a test failed
(killed) or ran out of time (a loop that no longer ends is a change the tests noticed);
a survivor counts as caught only when a comment in a test file names it as equivalent
(``# equivalent: bot.flow.values.x_mask__mutmut_7: why no test can tell``), so the score
never hides a survivor nobody looked at. Prints one JSON line, like the other benchmarks.

    python bench/mutation_scores.py            # every module mutmut has run
    python bench/mutation_scores.py --survivors  # and the names of those left
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# mutmut's exit codes (mutmut/stats.py): 1 and 3 a test failed, 0 every test passed,
# 33 and 5 no test reaches the mutant, None not run yet; the timeouts.
KILLED = {1, 3}
TIMEOUT = {36, 24, -24, 152, 255}
EQUIVALENT = re.compile(r"#\s*equivalent:\s*([\w.]+__mutmut_\d+)")


def named_equivalents(tests: Path) -> set[str]:
    """Mutant names that a comment in a test file gives as equivalent."""
    found: set[str] = set()
    for path in sorted(tests.glob("test_*.py")):
        found.update(EQUIVALENT.findall(path.read_text(encoding="utf-8")))
    return found


def scores(mutants: Path, equivalents: set[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(mutants))[: -len(".meta")]
        killed = sum(code in KILLED for code in codes.values())
        timeout = sum(code in TIMEOUT for code in codes.values())
        survived = sorted(name for name, code in codes.items() if code == 0)
        equivalent = [name for name in survived if name in equivalents]
        untested = sorted(name for name, code in codes.items() if code in (5, 33))
        not_run = sum(code is None for code in codes.values())
        total = len(codes)
        if not_run == total:
            continue  # not run yet (or nothing to mutate): no figure to give
        caught = killed + timeout + len(equivalent)
        out[module] = {
            "mutants": total,
            "killed": killed,
            "timeout": timeout,
            "equivalent": len(equivalent),
            "survived": len(survived) - len(equivalent),
            "no_tests": len(untested),
            "not_run": not_run,
            "score": round(100 * caught / (total - not_run), 1),
            "left": [n for n in survived if n not in equivalents] + untested,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list the mutants left")
    args = parser.parse_args()
    mutants = ROOT / "mutants"
    if not mutants.is_dir():
        print("no mutants/ here: run mutmut first (docs/testing.md)", file=sys.stderr)
        return 1
    result = scores(mutants, named_equivalents(ROOT / "tests"))
    if not args.survivors:
        for figures in result.values():
            figures.pop("left")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
