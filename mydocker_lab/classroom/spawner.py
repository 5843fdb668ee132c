"""JupyterHub's local-process spawner, for a classroom on a machine without systemd.

``LocalProcessSpawner`` starts each student's server as the student, but ignores
``mem_limit`` and ``cpu_limit``. :class:`ClassroomSpawner` adds them, and a task limit,
with a cgroup per student delegated to the student (:mod:`.cgroup`), so that notebook 06's
``mydocker-lab run -m ...`` can make its container's cgroup below the student's.

The server runs through :mod:`.sandbox` in a PID namespace of its own, under ``unshare``,
which ignores SIGINT and SIGTERM while its child runs: the spawner sends those to the
namespace's first process (the sandbox's init) instead, and SIGKILL to ``unshare``
(whose ``--kill-child`` then ends the whole namespace). When the server has ended, the
student's cgroup is removed.
"""
import asyncio
import os
import pwd
import signal

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer

from .cgroup import CgroupError, StudentCgroup


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class ClassroomSpawner(LocalProcessSpawner):
    """Each student's server as the student, with a memory, CPU and task limit."""

    tasks_limit = Integer(1024, config=True,
                          help="The most processes and threads a student may have at once "
                               "(a fork bomb stops there); 0: no limit").tag(config=True)

    def _cgroup(self):
        limits = dict(memory=self.mem_limit or None, cpus=self.cpu_limit or None,
                      tasks=self.tasks_limit or None)
        if not any(limits.values()):
            return None
        return StudentCgroup(self.user.name, **limits)

    async def start(self):
        account = pwd.getpwnam(self.user.name)
        self._student_cgroup = None
        cgroup = self._cgroup()
        if cgroup is not None:
            cgroup.remove(deadline=5)  # a previous server's, if the hub was killed
            cgroup.create(account.pw_uid, account.pw_gid)
            self._student_cgroup = cgroup
            self.log.info("%s: cgroups %s", self.user.name, " ".join(cgroup.dirs()))
        try:
            return await super().start()
        except Exception:
            await self._remove_cgroup()
            raise

    def make_preexec_fn(self, name):
        become_student = super().make_preexec_fn(name)
        cgroup = getattr(self, "_student_cgroup", None)

        def preexec():
            if cgroup is not None:
                cgroup.join()  # still root here: into the student's cgroup, then the student
            become_student()
        return preexec

    async def _signal(self, sig):
        """SIGINT/SIGTERM go to the sandbox's init (``unshare`` ignores them)."""
        if sig in (signal.SIGINT, signal.SIGTERM):
            for child in _children(self.pid):
                try:
                    os.kill(child, sig)
                except ProcessLookupError:
                    pass
        return await super()._signal(sig if sig not in (signal.SIGINT, signal.SIGTERM)
                                     else 0)

    async def poll(self):
        status = await super().poll()
        if status is not None:
            await self._remove_cgroup()
        return status

    async def stop(self, now=False):
        await super().stop(now=now)
        await self._remove_cgroup()

    async def _remove_cgroup(self):
        try:
            cgroup = self._cgroup()
        except CgroupError:
            return
        if cgroup is None or not any(os.path.isdir(p) for p in cgroup.dirs()):
            return
        left = await asyncio.to_thread(cgroup.remove, 30)
        if left:
            self.log.warning("%s: cgroups still busy, not removed: %s", self.user.name,
                             " ".join(left))
