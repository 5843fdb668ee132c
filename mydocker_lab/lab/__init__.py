"""Helpers for the notebooks: targets, probes, widgets, pexpect sessions, exercise checkers.

Nothing here runs on ``mydocker-lab run``'s path, and nothing here calls
unshare, mount or execve inside the Jupyter kernel: every Linux-level step
runs as a child process on a *target* (see ``targets``).
"""
