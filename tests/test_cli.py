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
    assert main("exact".split()) == 0
    out = capsys.readouterr().out
    assert "Z = 39.69" in out and "v = 11  p = 0.4660" in out


def test_sample_and_verify(capsys, tmp_path):
    assert main("sample ising3_periodic.graphml --chains 50 --sweeps 20 --burn-in 5".split()) == 0
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
    main("models".split())
    assert "lecture_bm.graphml" in capsys.readouterr().out


# ---- exit statuses: errors are one line and status 2, a closed pipe is quiet, --version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "argv, message",
    [
        # before: SystemExit with status 1, the status verify uses for "failed"
        (
            ["verify", "nosuch.npz"],
            r"graphmrf: model 'nosuch.npz': no such file and not a shipped model \(shipped: explaining_away, ",
        ),
        # before: a ValueError traceback (the rest of the line is the sampler's own wording)
        (["exact", "--max-states", "1"], r"graphmrf: exact: enumerating .* states .* the limit is max_states=1 "),
        (["exact", "tests"], r"graphmrf: model 'tests': no such file and not a shipped model \(shipped: "),
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


def test_verify_of_the_unclamped_explaining_away_net_is_inconclusive_with_its_own_exit_status(capsys):
    """A shipped model by name without its extension; one state holds 0.99991 of the mass."""
    assert main("verify explaining_away --chains 2000 --sweeps 10".split()) == 3
    out = capsys.readouterr().out
    assert "INCONCLUSIVE  joint chi-square" in out and "PASS" not in out and "--clamp" in out


def test_verify_clamped_posterior_as_json(capsys):
    import json

    argv = "verify explaining_away --clamp house_jumps=1 --chains 2000 --sweeps 10 --method metropolis --json"
    code = main(argv.split())
    report = json.loads(capsys.readouterr().out)  # nothing but the JSON on stdout
    assert code == 0 and report["verdict"] == "pass" and report["settings"]["clamp"]
    assert report["checks"][0]["status"] == "pass" and report["power"]["total_variation"] > 0


def test_verify_detect_beta_picks_the_chains_and_a_failure_exits_1(capsys):
    assert main("verify lecture_bm --detect-beta 0.9 --sweeps 20 --max-states 64".split()) == 0
    assert "3888 independent chains" in capsys.readouterr().out
    # one sweep from uniform random states is far from mixed (mean energy off by ~8 sd)
    assert main("verify lecture_bm --chains 4000 --sweeps 1".split()) == 1
    assert "verdict: FAIL" in capsys.readouterr().out


def test_verify_estimators_and_ais_from_the_command_line(capsys, tmp_path):
    data = tmp_path / "v.csv"
    np.savetxt(data, np.array([[1, 0], [1, 1], [0, 1]] * 20), delimiter=",", fmt="%d")
    boltzmann = f"verify lecture_bm --method boltzmann --data {data} --chains 300 --sweeps 20 --replicates 20"
    assert main(boltzmann.split()) == 0
    assert "negative control" in capsys.readouterr().out
    assert main("verify lecture_bm --method ais --sweeps 100 --replicates 10".split()) == 0
    assert "mean square of standardised errors" in capsys.readouterr().out


def test_verify_usage_errors_exit_2(capsys):
    import pytest

    assert main("verify no_such_model".split()) == 2
    assert "not a shipped model" in capsys.readouterr().err
    assert main("verify lecture_bm --clamp v9=1 --chains 100".split()) == 2
    assert "no node of that name" in capsys.readouterr().err
    assert main("verify lecture_bm --method cd-1".split()) == 2  # its hidden units are coupled
    assert "conditionally independent" in capsys.readouterr().err
    for argv in ("--clamp v1", "--chains 0", "--detect-beta 1", "--detect-beta 0.9 --detect-tv 0.1"):
        with pytest.raises(SystemExit) as exc:
            main(["verify", "lecture_bm", *argv.split()])
        assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main("verify --help".split())
    assert "3  inconclusive" in capsys.readouterr().out


def test_sample_with_fewer_sweeps_than_the_default_burn_in(capsys):
    # the default burn-in (100) once exceeded --sweeps 50, which sample() refuses: it is capped at the sweeps
    assert main("sample lecture_bm --chains 10 --sweeps 50".split()) == 0
    assert "unit updates/s" in capsys.readouterr().out
    assert main("sample lecture_bm --chains 10 --sweeps 50 --burn-in 60".split()) == 2
    assert "burn_in must be <= n_sweeps (50); got 60" in capsys.readouterr().err
