"""Probes: small experiments the notebooks run *on a target*, as a child process.

``python -m mydocker_lab.lab.probes NAME [ARG...]`` runs the probe NAME and
prints its result as one JSON document. A probe may create namespaces, mount
things or exec programs: it runs in its own process on the target (the local
Linux or the VM), never inside the Jupyter kernel. Probes use the standard
library and ``mydocker_lab.linux`` only, so they run wherever mydocker-lab runs.

Each module of this package registers its probes with ``@probe("name")``: one module
per notebook, named like it (``run_flow.py`` for 04-the-run-flow), ``basics.py`` for what
every notebook uses; ``support.py`` holds what the probes share.
"""
import importlib
import pkgutil

PROBES = {}


def probe(name):
    """Register a function as the probe ``name``; it returns something JSON can encode."""
    def register(func):
        PROBES[name] = func
        return func
    return register


def load_all():
    """Import every probe module; the registry, by name."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module("%s.%s" % (__name__, info.name))
    return PROBES
