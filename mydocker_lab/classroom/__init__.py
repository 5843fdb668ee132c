"""The classroom: the course served to a class by JupyterHub, handed out and graded by nbgrader.

- :mod:`.nbgrader_course` makes an nbgrader course from the lessons' sources;
- :mod:`.sandbox` wraps each student's Jupyter server (the course copied on first start; the
  server in a user, PID and mount namespace of its own, so a student sees only their own
  processes and containers);
- :mod:`.cgroup` is the memory, CPU and task limit per student, delegated to the student;
- :mod:`.spawner` is JupyterHub's local-process spawner with both.

The hub's configuration, the set-up and the accounts scripts are in the repository's
``classroom/`` folder; the teacher's guide is docs/teacher.md (linked from the README).
Notebook-side code never imports this package.
"""
