"""mydocker-lab: the `run` command of the book's toy container runtime, rebuilt to learn from.

The runtime (``cli``, ``run``, ``container``, ``cgroups``, ``log``, ``linux``, ``relay``)
uses the standard library only; the notebooks' helpers live in ``mydocker_lab.lab``.
"""
__version__ = "0.1.0"
