"""The command line: exact, sample, verify, models; exit statuses, a closed pipe, --version."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import graphmrf
from graphmrf.cli import main


def test_exact_default_is_the_lecture_machine(capsys):
    assert main(["exact"]) == 0
    out = capsys.readouterr().out
    assert "Z = 39.69" in out and "v = 11  p = 0.4660" in out


def test_sample_and_verify(capsys, tmp_path):
    assert main(["sample", "ising3_periodic.graphml", "--chains", "50", "--sweeps", "20", "--burn-in", "5"]) == 0
    assert "unit updates/s" in capsys.readouterr().out
    png = tmp_path / "v.png"
    assert main(["verify", "lecture_bm.graphml", "--chains", "3000", "--sweeps", "30", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "PASS  joint chi-square" in out and png.exists()


def test_errors_are_reported_not_raised(capsys, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros(2))
    assert main(["exact", str(bad)]) == 2
    assert "no graphmrf header" in capsys.readouterr().err


def test_models_lists_the_shipped_files(capsys):
    main(["models"])
    assert "lecture_bm.graphml" in capsys.readouterr().out


# ---- exit statuses: errors are one line and status 2, a closed pipe is quiet, --version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "argv, message",
    [
        # before: SystemExit with status 1, the status verify uses for "failed"
        (
            ["verify", "nosuch.npz"],
            r"graphmrf: model 'nosuch.npz': no such file and not a shipped model \(explaining_away.graphml, ",
        ),
        # before: a ValueError traceback (the rest of the line is the sampler's own wording)
        (["sample", "--chains", "0"], r"graphmrf: .*\bchains\b.*; got 0$"),
        (
            ["exact", "tests"],
            r"graphmrf: load: path must be a path \(str or os.PathLike\) ending in .graphml \(unit-level models\) or "
            r".npz; got 'tests'",
        ),
    ],
)
def test_library_errors_are_one_line_and_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.match(message, err)


def test_version_comes_from_the_package(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"graphmrf {graphmrf.__version__}\n"


def test_pyproject_reads_the_version_from_the_package():
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        meta = tomllib.load(fh)
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "graphmrf.__version__"}


def run_cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "graphmrf.cli", *args], cwd=ROOT, env=env, **kwargs)


def test_a_closed_pipe_ends_quietly_with_status_141():
    # the reader goes away before the first write: every write then fails with EPIPE
    proc = run_cli("exact", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == b""


def test_graphmrf_exact_piped_into_head(tmp_path):
    # a real shell pipe; whether the 1.5 kB of output fit in the pipe before head left
    # depends on timing, so the status is 0 or 141, never a traceback
    env = dict(os.environ, PYTHONPATH=ROOT)
    err = tmp_path / "err.txt"
    cmd = f"'{sys.executable}' -m graphmrf.cli exact 2>'{err}' | head -1; echo \"status ${{PIPESTATUS[0]}}\""
    out = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    first, status = out.stdout.splitlines()
    assert first.startswith("model    ") and status in ("status 0", "status 141")
    assert err.read_text() == ""
