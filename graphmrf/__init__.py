"""graphmrf: energy-based and graphical models of stochastic neurons, declared as graphs."""

from . import (
    ais,
    autoencoder,
    belief,
    constraints,
    datasets,
    deep_belief,
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
from .builders import boltzmann, dbm, dbn, hopfield, ising, lattice, potts, rbm, sbn
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
from .impute import impute, predict_absent
from .io import load, save
from .program import Program
from .samplers import sample
from .train import History, fit
from .validate import validate
from .verify import verify

__version__ = "0.1.0"

__all__ = [
    "compile",
    "validate",
    "Program",
    "exact",
    "ais",
    "belief",
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
    "deep_belief",
    "plots",
    "verify",
    "models",
    "kinds",
    "symbolic",
    "get_backend",
    "ising",
    "lattice",
    "potts",
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
