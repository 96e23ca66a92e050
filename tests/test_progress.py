"""Progress bars: shown when asked or for long runs someone can see, silent otherwise."""

import sys
import time

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import memory
from graphmrf.samplers import progress


def run(total, enabled, pause=0.0):
    with progress.Progress(total, "demo", enabled) as bar:
        for _ in range(total):
            time.sleep(pause)
            bar.update(loss=0.5)
    return bar


def test_a_forced_bar_is_drawn_on_stderr_and_removed_at_the_end(capsys):
    bar = run(3, True, pause=0.11)  # longer than tqdm's redraw interval (0.1 s)
    err = capsys.readouterr().err
    assert "demo:" in err and "/3" in err and "loss=0.5" in err
    assert err.endswith("\r")  # leave=False: the last write clears the line
    assert bar.n == 3 and bar.bar is None


def test_the_default_is_silent_when_nobody_watches(capsys):
    run(300, None)  # stderr is captured by pytest: not a terminal
    run(5, False)
    assert capsys.readouterr() == ("", "")


def test_the_default_shows_a_bar_on_a_terminal_only_for_long_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    run(5, None)  # far shorter than LONG_RUN seconds
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "LONG_RUN", 0.01)
    run(5, None, pause=0.02)
    assert "demo" in capsys.readouterr().err
    run(5, False, pause=0.02)
    assert capsys.readouterr().err == ""


def test_in_a_notebook_without_widgets_the_bar_is_text_on_stdout(capsys, monkeypatch):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets fails
    monkeypatch.setattr(progress, "LONG_RUN", 0.01)
    run(3, None, pause=0.11)  # the default shows bars in a notebook (no terminal needed)
    out, err = capsys.readouterr()
    assert "demo:" in out and err == ""


def test_progress_accepts_booleans_only():
    with pytest.raises(TypeError, match="progress must be True, False or None; got 'yes'"):
        progress.Progress(3, "demo", "yes")
    assert progress.Progress(3, "demo", np.bool_(False)).bar is None


def test_long_running_functions_pass_progress_on(capsys):
    prog = gm.compile(gm.rbm(6, 4, seed=0))
    gm.sample(prog, 3, chains=2, seed=0, progress=True)
    assert "sample" in capsys.readouterr().err
    memory.capacity(20, [0.1], progress=True, seed=0)
    assert "capacity (hebb)" in capsys.readouterr().err
    gm.ais.log_partition(prog, n_chains=4, betas=10, seed=0, progress=True)
    assert "AIS" in capsys.readouterr().err
    data = np.random.default_rng(0).integers(0, 2, (20, 6)).astype(float)
    gm.fit(prog, data, epochs=2, seed=0, progress=True)
    assert "fit" in capsys.readouterr().err
    gm.fit(prog, data, epochs=2, seed=0)
    assert capsys.readouterr().err == ""
