"""The README's example runs and prints what it says."""

import os
import re

import numpy as np

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_example_runs(capsys):
    text = open(README).read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    ns = {}
    exec(blocks[0], ns)
    out = capsys.readouterr().out
    assert "39.6" in out
    assert abs(np.exp(ns["gm"].exact.log_partition(ns["prog"])) - 39.69) < 0.01


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_command():
    text = open(README).read()
    assert "graphmrf exact" in text and "python3 -m pytest" in text
    ci = open(os.path.join(os.path.dirname(__file__), "..", ".ci", "run")).read()
    assert "python3 -m pytest\n" in ci
