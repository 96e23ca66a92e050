"""The README's example runs and prints what it says."""

import os
import re

import numpy as np


def _read(path):
    with open(path) as fh:
        return fh.read()


README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_example_runs(capsys):
    text = _read(README)
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    ns = {}
    exec(blocks[0], ns)
    out = capsys.readouterr().out
    assert "39.6" in out
    assert abs(np.exp(ns["gm"].exact.log_partition(ns["prog"])) - 39.69) < 0.01


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_command():
    text = _read(README)
    assert "graphmrf exact" in text and "python3 -m pytest" in text
    ci = _read(os.path.join(os.path.dirname(__file__), "..", ".ci", "run"))
    assert "python3 -m pytest\n" in ci


def test_every_subpackage_is_listed_for_installation():
    """A non-editable install ships only the packages pyproject lists."""
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    found = {
        "graphmrf." + os.path.relpath(d, os.path.join(root, "graphmrf")).replace(os.sep, ".")
        for d, _, files in os.walk(os.path.join(root, "graphmrf"))
        if "__init__.py" in files
    }
    found = {f.replace("graphmrf..", "graphmrf") for f in found}
    assert found <= listed, found - listed
