import os

import networkx as nx
import numpy as np
import pytest
from hypothesis import settings

import graphmrf as gm

# property tests draw their examples from a fixed seed: the suite is reproducible
settings.register_profile("graphmrf", derandomize=True, deadline=None)
settings.load_profile("graphmrf")


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        default=os.environ.get("GRAPHMRF_TEST_BACKEND", "numpy"),
        help="array backend for the tests: numpy or cupy",
    )


@pytest.fixture(scope="session")
def backend(request):
    name = request.config.getoption("--backend")
    if name == "cupy":
        try:
            gm.get_backend("cupy")
        except gm.BackendUnavailableError as exc:
            pytest.skip(str(exc))
    return name


def pytest_collection_modifyitems(config, items):
    try:
        gm.get_backend("cupy")
        has_gpu = True
    except gm.BackendUnavailableError:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs CuPy and a GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace.update(np=np, nx=nx, gm=gm)
