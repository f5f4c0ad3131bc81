"""The ``intake-bot flow ...`` commands: in-process through ``command_line.cli.main`` and, once for
real, as the installed console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from command_line.cli import main
from tests.helpers import console_script

ROOT = Path(__file__).parent.parent
FLOWS = Path(__file__).parent / "flows"
DEFAULT_FILE = ROOT / "bot" / "flows" / "judicial-assistance.yaml"
EXAMPLE = FLOWS / "example.yaml"
EVERY = FLOWS / "every_type.yaml"
SEVERAL = FLOWS / "broken_several.yaml"
SEVERAL_LINES = [2, 8, 9, 10, 13, 17, 21, 24, 26, 28]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("INTAKE_DB", str(path))
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no intake-bot.toml of the developer's is read
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def flow_list(capsys: pytest.CaptureFixture[str]) -> dict[tuple[str, int], tuple[int, str]]:
    """``flow list`` as {(flow, version): (intakes, mark)}."""
    code, out, _ = run(capsys, "flow", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["flow", "version", "published", "(UTC)", "intakes", "current"]
    rows = {}
    for line in lines[1:]:
        parts = line.split()
        assert len(parts) in (4, 5), line
        rows[(parts[0], int(parts[1]))] = (int(parts[3]), parts[4] if len(parts) == 5 else "")
    return rows


# --- validate --------------------------------------------------------------------------


def test_validate_accepts_the_default_flow_and_the_example(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "flow", "validate", str(DEFAULT_FILE), str(EXAMPLE), str(EVERY))
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{DEFAULT_FILE}: ok: flow 'judicial-assistance', ")
    assert lines[0].endswith("languages zh, en, ug")
    assert lines[1] == (
        f"{EXAMPLE}: ok: flow 'judicial-assistance', 7 steps (7 questions), languages zh, en"
    )
    assert lines[2] == f"{EVERY}: ok: flow 'every-type', 16 steps (14 questions), languages zh, en"
    assert not db.exists()  # validating touches no database


def test_validate_lists_every_problem_with_its_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "flow", "validate", str(SEVERAL))
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == len(SEVERAL_LINES)
    for line, number in zip(lines, SEVERAL_LINES, strict=True):
        assert line.startswith(f"{SEVERAL}: line {number}: "), line
    assert "Traceback" not in err


def test_validate_of_good_and_broken_files_checks_them_all(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = FLOWS / "broken_yaml_syntax.yaml"
    code, out, err = run(capsys, "flow", "validate", str(broken), str(EXAMPLE))
    assert code == 1
    assert err.splitlines() == [
        f"{broken}: line 7: YAML syntax: mapping values are not allowed here"
    ]
    assert out.startswith(f"{EXAMPLE}: ok:")


def test_validate_of_a_deep_or_aliased_file_is_a_problem_not_a_crash(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(
        "id: deep\nlanguages: [en]\ntitle: {en: Deep}\nsteps: " + "[" * 1000 + "]" * 1000
    )
    aliased = tmp_path / "aliased.yaml"
    aliased.write_text(EXAMPLE.read_text(encoding="utf-8").replace("title: ", "title: &t ", 1))
    code, out, err = run(capsys, "flow", "validate", str(deep), str(aliased))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{deep}: line 4: the file is nested too deeply (at most 50 levels)",
        f"{aliased}: line 3: anchors and aliases (& and *) are not allowed in a flow file;"
        " write each value out in full",
    ]


def test_validate_of_a_missing_file_is_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "flow", "validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert err.splitlines() == [f"intake-bot: no such file: {tmp_path / 'nope.yaml'}"]


# --- publish, list, rollback, export ---------------------------------------------------


def test_publish_twice_then_rollback(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "flow", "publish", str(EVERY))
    assert (code, out) == (0, "published every-type version 1; new intakes use it\n"), err
    code, out, _ = run(capsys, "flow", "publish", str(EVERY))
    assert (code, out) == (0, "published every-type version 2; new intakes use it\n")

    rows = flow_list(capsys)
    assert rows == {
        ("every-type", 1): (0, ""),
        ("every-type", 2): (0, "active"),
        ("judicial-assistance", 1): (0, "current"),  # the embedded default, seeded once
    }

    code, out, _ = run(capsys, "flow", "rollback", "every-type", "1")
    assert (code, out) == (0, "every-type version 1 is current again; new intakes use it\n")
    rows = flow_list(capsys)
    assert rows[("every-type", 1)] == (0, "active")
    assert rows[("every-type", 2)] == (0, "")
    assert len(rows) == 3


def test_export_prints_the_yaml_of_a_version(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "flow", "publish", str(EVERY))[0] == 0
    code, out, _ = run(capsys, "flow", "export", "every-type", "--version", "1")
    assert code == 0
    assert out == EVERY.read_text(encoding="utf-8")
    # without arguments: the current version of the active flow
    assert run(capsys, "flow", "export")[1] == EVERY.read_text(encoding="utf-8")
    code, out, _ = run(capsys, "flow", "export", "judicial-assistance")
    assert code == 0 and out == DEFAULT_FILE.read_text(encoding="utf-8")
    target = tmp_path / "out.yaml"
    code, out, _ = run(capsys, "flow", "export", "every-type", "--version", "1", "-o", str(target))
    assert (code, out) == (0, "")
    assert target.read_text(encoding="utf-8") == EVERY.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ("flow", "rollback", "judicial-assistance", "9"),
        ("flow", "rollback", "no-such-flow", "1"),
        ("flow", "export", "judicial-assistance", "--version", "9"),
        ("flow", "export", "no-such-flow"),
    ],
)
def test_an_unknown_flow_or_version_is_one_line_and_changes_nothing(
    db: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("intake-bot: ")
    assert argv[2] in err
    assert "None" not in err and "Traceback" not in err
    assert flow_list(capsys) == {("judicial-assistance", 1): (0, "active")}


def test_publishing_a_broken_file_stores_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "flow", "publish", str(SEVERAL))
    assert code == 1 and out == ""
    assert [line.split(": ")[1] for line in err.splitlines()] == [
        f"line {n}" for n in SEVERAL_LINES
    ]
    assert flow_list(capsys) == {("judicial-assistance", 1): (0, "active")}


def test_usage_mistakes(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "flow")
    assert code == 2 and "validate" in err and "rollback" in err
    assert run(capsys)[0] == 2
    with pytest.raises(SystemExit) as caught:
        main(["flow", "rollback", "judicial-assistance", "one"])
    assert caught.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


# --- the installed command -------------------------------------------------------------


def test_the_console_script_validates_publishes_and_lists(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DB"] = str(tmp_path / "real.db")
    env["INTAKE_LOG_LEVEL"] = "WARNING"

    def intake_bot(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [console_script(), *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    broken = intake_bot("flow", "validate", str(SEVERAL))
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr
    assert [line.split(": ")[1] for line in broken.stderr.splitlines()] == [
        f"line {n}" for n in SEVERAL_LINES
    ]

    good = intake_bot("flow", "validate", str(EXAMPLE))
    assert good.returncode == 0 and ": ok: flow 'judicial-assistance'" in good.stdout

    published = intake_bot("flow", "publish", str(EVERY))
    assert published.returncode == 0, published.stderr
    assert published.stdout == "published every-type version 1; new intakes use it\n"

    listed = intake_bot("flow", "list")
    assert listed.returncode == 0
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("every-type", "1", "active"),
        ("judicial-assistance", "1", "current"),
    ]

    missing = intake_bot("flow", "rollback", "every-type", "5")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
