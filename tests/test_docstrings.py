"""Every public object has a numpydoc docstring a reader can use: a summary, every argument
under Parameters (and nothing else there), a Returns (or Yields) section when it returns a
value, the errors it raises on purpose under Raises, and an Examples section with a doctest.

The public objects are the functions and classes named in the ``__all__`` of the modules
listed in :data:`MODULES` (each counted once, in the module that defines it), plus the public
methods of those classes (their own and those inherited from a graphmrf base class). The
docstrings are parsed by numpydoc itself (:func:`numpydoc.validate.validate` and
:mod:`numpydoc.docscrape`); the codes in the messages are numpydoc's (GL08 no docstring,
SS01 no summary, PR01 an argument not documented, PR02 a documented argument that does not
exist, RT01 no Returns, YD01 no Yields, EX01 no Examples). The examples themselves run as
doctests in the suite (``--doctest-modules``).

Raises is checked two ways: a function decorated with ``@checked`` (or a class whose
``__init__`` is) names ``TypeError`` and ``ValueError`` (or the ``ValueError`` subclass it
raises, ``ModelError`` for the builders); and every error of the library's convention
(a GraphMRFError, ValueError or TypeError) that the body raises by name is named there
(or a base class of it). Errors raised inside private helpers are not traced.

What is exempt, and why (nothing else is):

* a method without a docstring of its own that overrides a documented graphmrf method of
  the same signature (``Integer.admits`` overriding ``Constraint.admits``): Sphinx shows
  the inherited docstring, which is checked where it is written;
* the fields of a NamedTuple or dataclass may be documented under Attributes instead of
  Parameters: the constructor is generated, and readers read them as attributes;
* :data:`EXAMPLE_FROM_CLASS`: methods that rely on their class's example (empty today).
"""

import ast
import builtins
import importlib
import inspect
import textwrap

import pytest
from numpydoc.docscrape import get_doc_object
from numpydoc.validate import validate

import graphmrf.errors

#: The modules whose ``__all__`` is checked. Modules being written on other branches
#: (feedforward, sklearn, the package ``__init__``) are added here when they land.
MODULES = [
    "graphmrf.ais",
    "graphmrf.arguments",
    "graphmrf.autoencoder",
    "graphmrf.backend",
    "graphmrf.belief",
    "graphmrf.builders",
    "graphmrf.compile",
    "graphmrf.conditionals",
    "graphmrf.constraints",
    "graphmrf.couplings",
    "graphmrf.datasets",
    "graphmrf.deep_belief",
    "graphmrf.deep_boltzmann",
    "graphmrf.diagnostics",
    "graphmrf.dsn",
    "graphmrf.errors",
    "graphmrf.exact",
    "graphmrf.feedforward",
    "graphmrf.goodness",
    "graphmrf.impute",
    "graphmrf.io",
    "graphmrf.kernels",
    "graphmrf.kinds",
    "graphmrf.layout",
    "graphmrf.learn",
    "graphmrf.memory",
    "graphmrf.models",
    "graphmrf.monitors",
    "graphmrf.parameters",
    "graphmrf.plots",
    "graphmrf.program",
    "graphmrf.sklearn",
    "graphmrf.statistics",
    "graphmrf.support",
    "graphmrf.symbolic",
    "graphmrf.train",
    "graphmrf.validate",
    "graphmrf.verify",
    "graphmrf.workspace",
    "graphmrf.samplers",
    "graphmrf.samplers.ancestral",
    "graphmrf.samplers.anneal",
    "graphmrf.samplers.clamp",
    "graphmrf.samplers.dynamics",
    "graphmrf.samplers.gibbs",
    "graphmrf.samplers.metropolis",
    "graphmrf.samplers.progress",
    "graphmrf.samplers.protocol",
    "graphmrf.samplers.run",
    "graphmrf.samplers.tempering",
]

#: Public objects of modules without an ``__all__`` (the command line has one entry point).
EXTRA = ["graphmrf.cli.main"]

#: Methods whose example is their class's: small accessors, each with the reason (method's
#: qualified name -> why). None is needed today: every public method has its own example.
EXAMPLE_FROM_CLASS = {}


def _module_objects(module_name):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        # a function wrapped by functools (a cache) is a function to its reader
        if (inspect.isfunction(inspect.unwrap(obj)) or inspect.isclass(obj)) and obj.__module__ in MODULES:
            yield obj


def _methods(cls):
    """(name, function, defining class) of the public methods of ``cls``: its own and those
    it inherits from graphmrf classes (not those of ``object``, ``tuple``, ``Exception``...)."""
    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("graphmrf"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen or name in getattr(klass, "__dataclass_fields__", {}):
                continue  # private, seen, or a dataclass field whose default is a function (data)
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if not inspect.isfunction(value):
                continue  # properties and data
            seen.add(name)
            yield name, value, klass


def _inherits_doc(cls, name, fn):
    """Whether ``fn`` (no docstring of its own) overrides a documented graphmrf method of the
    same signature, whose docstring Sphinx shows for it (and which is checked where defined)."""
    if fn.__doc__:
        return False
    for base in cls.__mro__[1:]:
        other = vars(base).get(name)
        if inspect.isfunction(other) and other.__doc__ and base.__module__.startswith("graphmrf"):
            return inspect.signature(other) == inspect.signature(fn)
    return False


def public_objects():
    """(qualified name, object) of every public object, each once."""
    found, seen = [], set()

    def add(qualname, obj):
        if id(obj) not in seen:
            seen.add(id(obj))
            found.append((qualname, obj))

    for module_name in MODULES:
        for obj in _module_objects(module_name):
            add(f"{obj.__module__}.{obj.__qualname__}", obj)
            if inspect.isclass(obj):
                for name, fn, klass in _methods(obj):
                    if not _inherits_doc(klass, name, fn):
                        add(f"{obj.__module__}.{obj.__qualname__}.{name}", fn)
    for path in EXTRA:
        module_name, name = path.rsplit(".", 1)
        add(path, getattr(importlib.import_module(module_name), name))
    return found


OBJECTS = public_objects()


def _names(section):
    """The names documented in a Parameters-like section (``a, b : int`` documents both)."""
    return {n.strip() for p in section for n in p.name.split(",") if n.strip()}


def _generated_fields(obj):
    """The fields of a NamedTuple or dataclass, whose generated constructor takes them: they
    may be documented under Attributes (what a reader reads them as) instead of Parameters."""
    if inspect.isclass(obj):
        if issubclass(obj, tuple) and hasattr(obj, "_fields"):
            return set(obj._fields)
        if hasattr(obj, "__dataclass_fields__"):
            return set(obj.__dataclass_fields__)
    return set()


def _signature_names(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return set()
    names = []
    for p in sig.parameters.values():
        star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(star + p.name)
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return set(names)


# -------------------------------------------------------------------------- raises
def _function_source(obj):
    """The source of a function, or of a class's own ``__init__`` (None without one)."""
    if inspect.isclass(obj):
        init = vars(obj).get("__init__")
        if init is None:
            return None
        obj = init
    fn = inspect.unwrap(obj)
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None


def _exception(name, obj):
    """The exception class a name in ``obj``'s module (or the builtins) refers to, or None."""
    module = inspect.getmodule(inspect.unwrap(obj.__init__ if inspect.isclass(obj) else obj))
    value = getattr(module, name, None) or getattr(builtins, name, None) or getattr(graphmrf.errors, name, None)
    return value if inspect.isclass(value) and issubclass(value, BaseException) else None


def _conventional(exc):
    """An error the library raises on purpose: a GraphMRFError, ValueError or TypeError."""
    return issubclass(exc, (graphmrf.errors.GraphMRFError, ValueError, TypeError))


def raised_directly(obj):
    """The conventional errors ``obj``'s own body raises by name (``raise ValueError(...)``)."""
    source = _function_source(obj)
    if source is None:
        return set()
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name):
                exc = _exception(target.id, obj)
                if exc is not None and _conventional(exc):
                    found.add(exc)
    return found


def _constraints(obj):
    """The ``@checked`` table of a function, or of a class's ``__init__`` (empty without)."""
    target = vars(obj).get("__init__") if inspect.isclass(obj) else obj
    return getattr(target, "__constraints__", {}) if target is not None else {}


def raises_problems(obj, doc):
    """What the Raises section of ``obj``'s docstring ``doc`` leaves out."""
    # an entry may name several errors ("TypeError, ValueError"), a dotted name, or "ValueError (or ...)"
    names = [
        n.strip().split()[0].split(".")[-1] for p in doc["Raises"] for n in (p.type or p.name).split(",") if n.strip()
    ]
    documented = [d for d in (_exception(n, obj) for n in names) if d is not None]

    def covered(exc):
        return any(issubclass(exc, d) for d in documented)

    problems = []
    if _constraints(obj):
        if not covered(TypeError):
            problems.append("@checked: TypeError not under Raises")
        if not any(issubclass(d, ValueError) for d in documented):
            problems.append("@checked: ValueError (or the ModelError it raises) not under Raises")
    for exc in sorted(raised_directly(obj), key=lambda e: e.__name__):
        if not covered(exc):
            problems.append(f"raises {exc.__name__} but does not document it under Raises")
    return problems


# -------------------------------------------------------------------------- the checks
def problems(qualname, obj):
    """Every way ``obj``'s docstring falls short, as numpydoc codes and sentences."""
    result = validate(get_doc_object(obj))
    codes = {code for code, _ in result["errors"]}
    if "GL08" in codes:
        return ["GL08 no docstring"]
    # only the sections the author wrote: numpydoc would otherwise list a class's public
    # attributes (a dataclass field defaulting to None) under Attributes by itself
    doc = get_doc_object(obj, config={"show_class_members": False})
    found = []
    if "SS01" in codes:
        found.append("SS01 no summary")
    signature = _signature_names(obj)
    documented = _names(doc["Parameters"])
    fields = _generated_fields(obj)
    if fields:
        documented |= _names(doc["Attributes"]) & fields
    missing = {n for n in signature if n not in documented and n.lstrip("*") not in documented}
    unknown = {n for n in _names(doc["Parameters"]) if n not in signature and "*" + n not in signature}
    unknown -= {"*" + n for n in signature} | {"**" + n for n in signature}
    if missing:
        found.append(f"PR01 not documented: {sorted(missing)}")
    if unknown:
        found.append(f"PR02 documented but not arguments: {sorted(unknown)}")
    if "RT01" in codes:
        found.append("RT01 returns a value but has no Returns section")
    if "YD01" in codes:
        found.append("YD01 yields but has no Yields section")
    if qualname not in EXAMPLE_FROM_CLASS and ">>>" not in "\n".join(doc["Examples"]):
        found.append("EX01 no Examples section with a doctest (>>>)")
    found += raises_problems(obj, doc)
    return found


def test_the_walk_finds_the_public_surface():
    names = {name for name, _ in OBJECTS}
    # a function, a @checked function, a class, a method inherited from a private base,
    # a NamedTuple, an error class and the command line
    for name in [
        "graphmrf.exact.log_partition",
        "graphmrf.builders.rbm",
        "graphmrf.program.Program",
        "graphmrf.program.Program.energy",
        "graphmrf.samplers.protocol.Gibbs.init",
        "graphmrf.ais.AISResult",
        "graphmrf.symbolic.derive",
        "graphmrf.errors.ModelError",
        "graphmrf.cli.main",
    ]:
        assert name in names
    assert len(OBJECTS) > 250
    assert set(EXAMPLE_FROM_CLASS) <= names


def test_the_checks_catch_what_they_are_for():
    """The checker itself: a bare docstring fails every rule it should."""

    def bad(program, data, *, seed=None):
        """Do a thing."""
        if seed is None:
            raise ValueError("seed")
        return program

    found = " ".join(problems("bad", bad))
    for code in ("PR01", "RT01", "EX01", "raises ValueError"):
        assert code in found

    def good(program, seed=None):
        """Return the program.

        Parameters
        ----------
        program : Program
            The model.
        seed : int
            Unused.

        Returns
        -------
        Program

        Raises
        ------
        ValueError
            Never.

        Examples
        --------
        >>> good(1)
        1
        """
        if seed is not None:
            raise ValueError("seed")
        return program

    assert problems("good", good) == []


@pytest.mark.parametrize("qualname,obj", OBJECTS, ids=[name for name, _ in OBJECTS])
def test_docstring(qualname, obj):
    found = problems(qualname, obj)
    assert not found, f"{qualname}: " + "; ".join(found)
