"""The command line validates every argument and never writes over results by accident."""

import subprocess
import sys

import pytest

import pwaffine
from pwaffine.experiments import cli


def _error(capsys, argv):
    """Run the command line expecting a usage error; return its message."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["study", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["study", "--seed", "x"], "argument --seed: expected an integer, got 'x'"),
    (["study", "--workers", "-2"], "argument --workers: must be >= 1, got -2"),
    (["study", "--workers", "0"], "argument --workers: must be >= 1, got 0"),
    (["study", "--runs", "0"], "argument --runs: must be >= 1, got 0"),
    (["hierarchy", "--models", "0"], "argument --models: must be >= 1, got 0"),
    (["figure1", "--runs", "1.5"], "argument --runs: expected an integer, got '1.5'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    assert message in _error(capsys, argv)


def test_out_must_be_a_fresh_directory_or_overwritten(capsys, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert f"--out {a_file} is a file" in _error(capsys, ["study", "--out", str(a_file)])
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    assert "is not empty; pass --overwrite" in _error(capsys, ["study", "--out", str(used)])
    png = tmp_path / "figure.png"
    png.write_bytes(b"")
    assert "exists; pass --overwrite" in _error(capsys, ["figure1", "--out", str(png)])
    assert "--out must end in .png" in _error(capsys, ["figure1", "--out", str(tmp_path / "f.jpg")])


def test_overwrite_replaces_stale_results_and_nothing_else(capsys, tmp_path):
    out = tmp_path / "study"
    (out / "runs").mkdir(parents=True)
    stale = out / "runs" / "run_007.json"
    stale.write_text("{}")
    mine = out / "notes.txt"
    mine.write_text("mine")
    cli.main(["study", "--runs", "1", "--quick", "--workers", "1", "--out", str(out),
              "--overwrite"])
    assert not stale.exists(), "a result of an earlier run survived --overwrite"
    assert (out / "runs" / "run_000.json").exists() and (out / "study.csv").exists()
    assert mine.read_text() == "mine"
    err = capsys.readouterr().err
    assert "study [1/1] run 0:" in err and "elapsed" in err


def test_version():
    out = subprocess.run([sys.executable, "-m", "pwaffine", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"pwaffine {pwaffine.__version__}"
