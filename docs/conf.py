"""Sphinx configuration of graphmrf's API reference (built by .ci/run with warnings as errors)."""

import graphmrf

project = "graphmrf"
author = "the graphmrf developers"
release = version = graphmrf.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax", "numpydoc"]
autosummary_generate = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
nitpicky = False
