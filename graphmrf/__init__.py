"""graphmrf: energy-based and graphical models of stochastic neurons, declared as graphs."""

from . import (
    ais,
    autoencoder,
    constraints,
    datasets,
    deep_boltzmann,
    diagnostics,
    dsn,
    exact,
    feedforward,
    kinds,
    learn,
    memory,
    models,
    monitors,
    plots,
    samplers,
    symbolic,
    workspace,
)
from .backend import get_backend
from .builders import boltzmann, dbm, dbn, hopfield, ising, rbm, sbn
from .compile import compile
from .errors import (
    BackendUnavailableError,
    ChainTooShortError,
    DivergenceError,
    EnumerationTooLargeError,
    GraphMRFError,
    ModelError,
    ModelFileError,
)
from .io import load, save
from .program import Program
from .samplers import sample
from .impute import impute, predict_absent
from .train import History, fit
from .verify import verify
from .validate import validate

__version__ = "0.1.0"

__all__ = [
    "compile",
    "validate",
    "Program",
    "exact",
    "ais",
    "diagnostics",
    "memory",
    "samplers",
    "sample",
    "impute",
    "predict_absent",
    "fit",
    "History",
    "DivergenceError",
    "learn",
    "monitors",
    "workspace",
    "feedforward",
    "dsn",
    "deep_boltzmann",
    "autoencoder",
    "constraints",
    "datasets",
    "plots",
    "verify",
    "models",
    "kinds",
    "symbolic",
    "get_backend",
    "ising",
    "hopfield",
    "boltzmann",
    "rbm",
    "dbm",
    "sbn",
    "dbn",
    "save",
    "load",
    "GraphMRFError",
    "ModelError",
    "ModelFileError",
    "EnumerationTooLargeError",
    "BackendUnavailableError",
    "ChainTooShortError",
]
