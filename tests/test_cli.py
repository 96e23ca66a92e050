"""The command line: exact, sample, verify, models."""

import numpy as np

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
