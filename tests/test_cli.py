"""The command line: exact, sample, verify, models."""

import numpy as np

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
