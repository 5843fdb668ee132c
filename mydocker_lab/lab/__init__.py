"""Helpers for the notebooks: targets, probes, widgets, pexpect sessions, exercise checkers.

Nothing here runs on ``mydocker-lab run``'s path, and nothing here calls
unshare, mount or execve inside the Jupyter kernel: every Linux-level step
runs as a child process on a *target* (see ``targets``).

One module per notebook, named after it (its number and "the" left out), with its probes
in the module of the same name under ``probes/`` (they run on the target):

====================================  ==========================  =================================
notebook                              helpers                     probes
====================================  ==========================  =================================
01-namespaces                         ``namespaces.py``           ``probes/namespaces.py``
02-proc-mount-flags                   ``proc_mount_flags.py``     ``probes/proc_mount_flags.py``
03-execve-replaces-init               ``execve_replaces_init.py`` ``probes/execve_replaces_init.py``
04-the-run-flow                       ``run_flow.py``             ``probes/run_flow.py``
05-drive-the-cli                      ``drive_cli.py``            (none: a pexpect session)
06-cgroups                            ``cgroups.py``              ``probes/cgroups.py``
07-the-pipe                           ``pipe.py``                 ``probes/pipe.py``
====================================  ==========================  =================================

What they share: ``targets.py`` and ``remote.py`` (where steps run: this Linux, an ssh host,
the VM), ``session.py`` (the one pexpect session), ``display.py`` (how results look),
``labels.py`` (the machine's own values as labels), ``common.py`` (plain values and
functions both sides import), ``probes/basics.py`` and ``probes/support.py`` (the probes').

The notebook side (every module here but ``probes``) imports on any computer (macOS and
Windows too, driving the VM): no fcntl, termios, pty, tty or resource, no C library call,
no probe at import time; pexpect is imported where a session starts.
"""
