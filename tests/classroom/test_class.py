"""A class at work on a real JupyterHub: five students at once, one of them on every notebook.

Run by scripts/classroom-tier (which makes the accounts and starts the hub). Everything
goes through the hub: its REST API (an admin token) starts each student's server, and each
student's own token drives their server (contents, kernels, nbgrader's handlers).

1. :func:`class_day`: the five students at the same time: each one's server is started
   through the hub; the first student runs every notebook of ``~/mydocker-lab`` (what the
   hub copied in: the student versions of ``notebooks/*.ipynb``) in a kernel of that
   server, cell by cell, while the other four run the two of :data:`AT_ONCE` (what a class
   does to one machine at once: containers on terminals, cgroups of their own);
   then each student starts a container named after themselves and, once *all* five run,
   looks around: the processes, the hostnames and the files they can see.
2. :func:`grading_day`: the nbgrader round trip: the teacher makes the course from the
   lessons' sources, generates and releases the test lesson; two students fetch it, one
   answers right, one wrong, both submit; the teacher collects, autogrades and releases
   feedback; the second student fetches it.
3. every server stops through the hub, and nothing of the students is left running.
"""
import asyncio
import json
import os
import pwd
import re
import time
from pathlib import Path

import pytest

from hubclient import Hub, HubError, TIMINGS, timed

pytestmark = pytest.mark.classroom

ROOT = Path(__file__).resolve().parents[2]
COURSE = "mydocker-lab"          # the folder the hub copies into each home
TEST_LESSON = "90-test-lesson"
COURSE_ID = "mydocker-lab"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
#: What the other students run while the first runs every notebook: 05 starts containers on
#: pseudo terminals, 06 puts limits on them in the student's own cgroup -- the two that
#: five students at once could get in each other's way.
AT_ONCE = ["05-drive-the-cli.ipynb", "06-cgroups.ipynb"]

#: Run in a student's kernel first: who runs it, and what the notebooks' target is.
WHO = r"""
import json, os, socket
from mydocker_lab.lab.targets import get_target
t = get_target()
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "target_root": bool(t.root),
                  "hostname": socket.gethostname(), "home": os.path.expanduser("~")}))
"""

#: A container named after the student, left running; returns once it runs.
START_BOX = r"""
import os, subprocess, sys, time
marker = os.path.expanduser("~/.box-hostname")
if os.path.exists(marker):
    os.unlink(marker)
box = subprocess.Popen([sys.executable, "-m", "mydocker_lab", "run", "--hostname", %(box)r,
                        "sh", "-c", "hostname > %%s; exec sleep 900" %% marker],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
with open("/tmp/%(name)s-secret", "w") as f:
    f.write("only for %(name)s")
deadline = time.monotonic() + 300
while not (os.path.exists(marker) and os.path.getsize(marker)):
    if box.poll() is not None:
        raise RuntimeError("the container ended: " + box.stderr.read().decode())
    if time.monotonic() > deadline:
        raise RuntimeError("the container did not start in 300 s")
    time.sleep(0.05)  # polling a file the container writes: the kernel has no event for it
"""

#: What the student can see while every student's container runs.
LOOK_AROUND = r"""
import json, os, socket
others = %(others)r
procs = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open("/proc/%%s/status" %% pid) as f:
            uid = int(next(l for l in f if l.startswith("Uid:")).split()[1])
        with open("/proc/%%s/cmdline" %% pid, "rb") as f:
            argv = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, StopIteration):
        continue
    procs.append((int(pid), uid, argv))
files = {}
for other in others:
    home = os.path.expanduser("~" + other)
    for path in (home, os.path.join(home, %(course)r), "/tmp/%%s-secret" %% other):
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path).read()
            files[path] = "readable"
        except PermissionError:
            files[path] = "refused"
        except FileNotFoundError:
            files[path] = "not there"
with open(os.path.expanduser("~/.box-hostname")) as f:
    box_hostname = f.read().strip()
print(json.dumps({"procs": procs, "files": files, "box_hostname": box_hostname,
                  "hostname": socket.gethostname(), "tmp": sorted(os.listdir("/tmp"))}))
"""

STOP_BOX = r"""
box.kill(); box.wait()
print(box.returncode)
"""


def expected_notebooks():
    return sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def notebooks_of(students, name):
    """What ``name`` runs: every notebook for the first student, :data:`AT_ONCE` for the rest."""
    assert set(AT_ONCE) <= set(expected_notebooks())
    return expected_notebooks() if name == students[0] else AT_ONCE


class StudentDay:
    def __init__(self, name):
        self.name = name
        self.uid = pwd.getpwnam(name).pw_uid
        self.notebooks = {}   # name -> {"seconds", "errors", "stderr"}
        self.course = []
        self.failure = None


async def student_day(hub, day, everyone_up, all_boxes, results, to_run):
    name = day.name
    token = await hub.user_token(name)
    day.token = token
    day.start_seconds = await hub.start_server(name)
    server = hub.server(name, token)
    listing = await server.contents(COURSE)
    day.course = sorted(i["name"] for i in listing["content"] if i["name"].endswith(".ipynb"))
    probe = await server.kernel("classroom-tier-probe.ipynb")  # a session of its own
    try:
        day.who = await probe.value(WHO)
        everyone_up.append(name)
        start = time.monotonic()
        for nb_name in [n for n in day.course if n in to_run]:
            t0 = time.monotonic()
            try:
                nb, cells = await server.run_notebook("%s/%s" % (COURSE, nb_name))
            except HubError as err:
                day.notebooks[nb_name] = {"seconds": time.monotonic() - t0,
                                          "errors": [str(err)], "stderr": ""}
                continue
            day.notebooks[nb_name] = {
                "seconds": time.monotonic() - t0,
                "errors": [e for c in cells for e in c.errors()],
                "stderr": "".join(c.stderr() for c in cells)}
            out = results / name
            out.mkdir(parents=True, exist_ok=True)
            (out / nb_name).write_text(json.dumps(nb, indent=1))
        day.notebooks_seconds = time.monotonic() - start
        # every student's container at once, then look around
        others = [d for d in all_boxes if d != name]
        await probe.execute("pass")
        outputs = await probe.execute(START_BOX % {"box": name + "-box", "name": name}, 600)
        errors = [o for o in outputs if o["output_type"] == "error"]
        if errors:
            raise HubError("%s: starting a container: %s" % (name, errors[0]["evalue"]))
        all_boxes[name].set()
        await asyncio.wait_for(asyncio.gather(*(all_boxes[o].wait() for o in others)), 900)
        day.seen = await probe.value(LOOK_AROUND % {"others": others, "course": COURSE})
        day.box_status = (await probe.value(STOP_BOX))
    finally:
        await server.close_kernel(probe)


async def class_day(classroom):
    hub = Hub(classroom.url, classroom.admin_token)
    days = {name: StudentDay(name) for name in classroom.students}
    boxes = {name: asyncio.Event() for name in classroom.students}
    everyone_up = []
    start = time.monotonic()

    async def one(day):
        try:
            await student_day(hub, day, everyone_up, boxes, classroom.results,
                              notebooks_of(classroom.students, day.name))
        except Exception as err:  # recorded per student; the test reports it
            day.failure = "%s: %s" % (type(err).__name__, err)
            boxes[day.name].set()  # nobody waits for a student who fell over
    await asyncio.gather(*(one(d) for d in days.values()))
    timed("class day: %d students at once (one on every notebook)" % len(days),
          time.monotonic() - start)
    for day in days.values():
        if hasattr(day, "start_seconds"):
            timed("  %s: server started through the hub" % day.name, day.start_seconds)
        for nb_name, result in day.notebooks.items():
            timed("  %s: %s" % (day.name, nb_name), result["seconds"])
    return hub, days


@pytest.fixture(scope="session")
def day(classroom):
    return asyncio.run(class_day(classroom))


def test_every_student_got_a_server_and_the_course(classroom, day):
    _hub, days = day
    assert [d.name for d in days.values() if d.failure] == [], \
        "\n".join("%s: %s" % (d.name, d.failure) for d in days.values() if d.failure)
    for d in days.values():
        assert d.course == expected_notebooks(), "%s's ~/%s" % (d.name, COURSE)


def test_every_student_runs_rootless_as_themselves(day):
    _hub, days = day
    for d in days.values():
        assert d.who["uid"] == d.who["euid"] == d.uid != 0, d.who
        assert d.who["target_root"] is False, "%s's notebooks think they are root" % d.name
        assert d.who["hostname"] == os.uname().nodename


def notebook_failures(days):
    """``{(notebook, error): [students]}`` of every error of the notebooks each ran."""
    by_notebook = {}
    students = list(days)
    for d in days.values():
        for nb_name in notebooks_of(students, d.name):
            result = d.notebooks.get(nb_name)
            for error in ["not run"] if result is None else result["errors"]:
                by_notebook.setdefault((nb_name, error), []).append(d.name)
    return by_notebook


def test_every_notebook_passed_for_every_student(day):
    """Every cell ran without an error, rootless: of every notebook for the first student, of
    :data:`AT_ONCE` for the four who ran them at the same time."""
    _hub, days = day
    failed = notebook_failures(days)
    assert not failed, "\n".join("%s: %s (students: %s)" % (nb, what, " ".join(who))
                                 for (nb, what), who in sorted(failed.items()))


def test_no_student_saw_another(day):
    _hub, days = day
    names = list(days)
    for d in days.values():
        seen = d.seen
        assert seen["box_hostname"] == d.name + "-box"
        assert seen["hostname"] == os.uname().nodename, "the host's name changed"
        uids = {uid for _pid, uid, _argv in seen["procs"]}
        assert uids == {d.uid}, "%s saw processes of uids %s" % (d.name, sorted(uids))
        text = "\n".join(argv for _p, _u, argv in seen["procs"])
        for other in names:
            if other != d.name:
                assert other not in text, "%s saw a process of %s:\n%s" % (d.name, other, text)
                assert "%s-secret" % other not in seen["tmp"]
        assert "%s-secret" % d.name in seen["tmp"]
        assert set(seen["files"].values()) <= {"refused", "not there"}, seen["files"]
        assert any(v == "refused" for v in seen["files"].values())
        assert d.box_status == -9


# -- nbgrader ---------------------------------------------------------------------------

TEACHER = r"""
import json, os, subprocess
def sh(*argv, cwd=None):
    r = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True)
    return {"argv": " ".join(argv), "rc": r.returncode, "out": r.stdout[-4000:],
            "err": r.stderr[-4000:]}
"""


def answers(nb, solutions, replace=None):
    """The student's notebook ``nb`` answered: each answer cell (nbgrader solution cell)
    gets ``replace[grade_id]`` if given, else its solution from ``solutions``."""
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            gid = meta["grade_id"]
            cell["source"] = (replace or {}).get(gid, solutions[gid])
    return nb


def solutions_of(source):
    """{grade_id: the answer cell with its solution} of an nbgrader source notebook."""
    out = {}
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            out[meta["grade_id"]] = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", "",
                                           text, flags=re.M)
    return out


async def grading_day(classroom, hub, days):
    teacher = classroom.teacher
    right, wrong = classroom.students[:2]
    log = {}
    start = time.monotonic()
    await hub.start_server(teacher)
    tserver = hub.server(teacher, await hub.user_token(teacher))
    kernel = await tserver.kernel("teacher.ipynb")
    try:
        await kernel.execute(TEACHER)

        async def teacher_sh(*argv, cwd="~/course"):
            code = "print(json.dumps(sh(*%r, cwd=os.path.expanduser(%r))))" % (argv, cwd)
            result = await kernel.value(code, timeout=1800)
            log.setdefault("teacher", []).append(result)
            assert result["rc"] == 0, "%(argv)s failed (%(rc)s):\n%(out)s\n%(err)s" % result
            return result
        t0 = time.monotonic()
        made = await kernel.value(
            "print(json.dumps(sh('python', '-m', 'mydocker_lab.classroom.nbgrader_course',"
            " '--lessons', %r, os.path.expanduser('~/course'))))" % str(classroom.test_lessons))
        assert made["rc"] == 0, made
        real = await kernel.value(
            "print(json.dumps(sh('python', '-m', 'mydocker_lab.classroom.nbgrader_course',"
            " '--lessons', %r, os.path.expanduser('~/course'))))"
            % str(classroom.prefix / "lessons"))
        log["real lessons"] = real
        # nbgrader itself accepts every real lesson the course made (its student version)
        for name in re.findall(r"^assignment (\S+):", real["out"], re.M):
            await teacher_sh("nbgrader", "generate_assignment", name)
            log.setdefault("real lessons generated", []).append(name)
        await teacher_sh("nbgrader", "generate_assignment", TEST_LESSON)
        await teacher_sh("nbgrader", "release_assignment", TEST_LESSON)
        timed("nbgrader: course made, %s generated and released" % TEST_LESSON,
              time.monotonic() - t0)
        source = await tserver.contents("course/source/%s/%s.ipynb" % (TEST_LESSON, TEST_LESSON))
        solutions = solutions_of(source["content"])

        async def student(name, replace):
            server = hub.server(name, days[name].token)
            listed = await server.post("/assignments/fetch", {"course_id": COURSE_ID,
                                                               "assignment_id": TEST_LESSON})
            path = "%s/%s.ipynb" % (TEST_LESSON, TEST_LESSON)
            nb = (await server.contents(path))["content"]
            assert BEGIN not in json.dumps(nb), "the released notebook holds a solution"
            await server.save(path, answers(nb, solutions, replace))
            submitted = await server.post("/assignments/submit", {
                "course_id": COURSE_ID, "assignment_id": TEST_LESSON})
            assert not (isinstance(submitted, dict) and submitted.get("success") is False), \
                submitted
            return listed
        t0 = time.monotonic()
        await asyncio.gather(
            student(right, None),
            student(wrong, {"answer-1": 'ANSWER = "echo nope"',
                            "answer-2": "FIRST_PID = 42"}))
        timed("nbgrader: 2 students fetched, answered, submitted (at once)",
              time.monotonic() - t0)
        t0 = time.monotonic()
        await teacher_sh("nbgrader", "collect", TEST_LESSON)
        await teacher_sh("nbgrader", "autograde", TEST_LESSON)
        timed("nbgrader: collect + autograde (2 submissions)", time.monotonic() - t0)
        t0 = time.monotonic()
        await teacher_sh("nbgrader", "generate_feedback", TEST_LESSON)
        await teacher_sh("nbgrader", "release_feedback", TEST_LESSON)
        marks = await kernel.value(
            "from nbgrader.api import Gradebook\n"
            "with Gradebook('sqlite:///' + os.path.expanduser('~/course/gradebook.db')) as gb:\n"
            "    print(json.dumps({s: [gb.find_submission(%r, s).score,\n"
            "                          gb.find_submission(%r, s).max_score] for s in %r}))"
            % (TEST_LESSON, TEST_LESSON, [right, wrong]))
        wserver = hub.server(wrong, days[wrong].token)
        await wserver.post("/assignments/fetch_feedback", {"course_id": COURSE_ID,
                                                            "assignment_id": TEST_LESSON})
        feedback_dir = await wserver.contents("%s/feedback" % TEST_LESSON)
        stamp = sorted(i["name"] for i in feedback_dir["content"])[-1]
        html = (await wserver.contents("%s/feedback/%s/%s.html"
                                       % (TEST_LESSON, stamp, TEST_LESSON)))["content"]
        timed("nbgrader: feedback generated, released, fetched", time.monotonic() - t0)
    finally:
        await tserver.close_kernel(kernel)
    timed("nbgrader round trip (total)", time.monotonic() - start)
    return {"marks": marks, "feedback": html, "log": log, "right": right, "wrong": wrong}


@pytest.fixture(scope="session")
def grading(classroom, day):
    hub, days = day
    result = asyncio.run(grading_day(classroom, hub, days))
    (classroom.results / "nbgrader.json").write_text(json.dumps(
        {k: v for k, v in result.items() if k != "feedback"}, indent=1))
    return result


def test_nbgrader_round_trip_marks(grading):
    marks = grading["marks"]
    score, total = marks[grading["right"]]
    assert total > 0 and score == total, marks
    score, total = marks[grading["wrong"]]
    assert score < total, marks
    TIMINGS["marks: %s (right answers)" % grading["right"]] = marks[grading["right"]][0]
    TIMINGS["marks: %s (wrong answers)" % grading["wrong"]] = marks[grading["wrong"]][0]


def test_nbgrader_feedback_says_what_is_wrong(grading):
    html = grading["feedback"]
    # the checkers' verdicts, as the student sees them in their feedback
    assert "printed" in html and "not its hostname" in html, html[:2000]
    assert "is not what the container" in html


def test_the_real_lessons_that_are_in_the_format_become_assignments(grading):
    real = grading["log"]["real lessons"]
    made = re.findall(r"^assignment (\S+):", real["out"], re.M)
    left_out = re.findall(r"^left out (\S+):", real["err"], re.M)
    TIMINGS["real lessons made into assignments: %s" % (" ".join(made) or "none")] = len(made)
    assert grading["log"].get("real lessons generated", []) == made
    assert sorted(made + left_out) == sorted(
        p.stem for p in (ROOT / "notebooks" / "solutions").glob("*.ipynb")), real


# -- the end of the day --------------------------------------------------------------------

def _processes_of(uids):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/status" % pid) as f:
                    uid = int(next(l for l in f if l.startswith("Uid:")).split()[1])
            except (OSError, StopIteration):
                continue
            if uid in uids:
                found.append(int(pid))
    return found


def test_every_server_stops_and_leaves_nothing(classroom, day, grading):
    hub, days = day
    names = classroom.students + [classroom.teacher]
    uids = {pwd.getpwnam(n).pw_uid for n in names}

    async def stop_all():
        t0 = time.monotonic()
        await asyncio.gather(*(hub.stop_server(n) for n in names))
        timed("every server stopped through the hub", time.monotonic() - t0)
    asyncio.run(stop_all())
    deadline = time.monotonic() + 60
    while _processes_of(uids) and time.monotonic() < deadline:
        time.sleep(0.2)  # a killed process is reaped by PID 1 here, slowly
    assert _processes_of(uids) == [], "the students' processes outlived their servers"
    from mydocker_lab.classroom.cgroup import PARENT, hierarchies
    left = [os.path.join(place, PARENT, n) for _v, place in hierarchies().values()
            for n in names if os.path.exists(os.path.join(place, PARENT, n))]
    assert left == [], "cgroups left behind"
