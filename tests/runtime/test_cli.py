"""The command line: help that teaches, and one clear line for every bad input."""
import pytest

from support import mydocker


def test_run_help_teaches_the_flow_and_exit_codes():
    proc = mydocker("run", "--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for needle in ("Usage: mydocker-lab run [OPTIONS] COMMAND [ARG...]", "/proc/self/exe init",
                   "MS_NOEXEC|MS_NOSUID|MS_NODEV", "125", "126", "127", "128+N", "-ti"):
        assert needle in text


def test_main_help_and_version():
    assert b"Commands:" in mydocker("--help").stdout
    assert mydocker("--version").stdout.startswith(b"mydocker-lab ")


@pytest.mark.parametrize("args, message", [
    ([], "no command given"),
    (["stop"], "unknown command 'stop'"),
    (["run"], '"run" requires at least 1 argument'),
    (["run", "--bogus", "sh"], "unknown flag: --bogus"),
    (["-ti", "run", "/bin/sh"], "unknown flag: -ti; the options of run go after it: "
                                "'mydocker-lab run -ti ...'"),
    (["run", "-x", "sh"], "unknown shorthand flag: 'x' in -x"),
    (["run", "-e"], "flag needs an argument: -e"),
    (["run", "--hostname"], "flag needs an argument: --hostname"),
    (["--log-level", "loud", "run", "sh"], "invalid value 'loud' for --log-level"),
    (["run", "--log-format=xml", "sh"], "invalid value 'xml' for --log-format"),
])
def test_usage_errors_are_one_line_and_125(args, message):
    proc = mydocker(*args)
    assert proc.returncode == 125
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert proc.stdout == b""


@pytest.mark.parametrize("args, message", [
    (["run", "--hostname", "x" * 65, "true"], "invalid hostname"),
    (["run", "--hostname", "é" * 33, "true"], "invalid hostname"),  # 66 bytes
    (["run", "-e", "=v", "true"], "invalid environment variable"),
])
def test_bad_values_are_one_log_line_and_125(args, message):
    proc = mydocker(*args)
    assert proc.returncode == 125
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0] and '"level":"error"' in lines[0]


def test_init_is_internal():
    proc = mydocker("init")
    assert proc.returncode == 125
    assert proc.stderr == b"mydocker-lab: init is internal: it is started by 'mydocker-lab run'\n"


def test_run_path_imports_only_the_runtime():
    """`mydocker-lab run` loads no notebook helper, and none of the standard library's slow
    imports (each costs every container milliseconds: benchmarks/bench_run.py)."""
    import subprocess
    import sys
    code = ("import sys; from mydocker_lab.cli import main; main(['--log-level', 'error', "
            "'run', '-t', 'true']); print(' '.join(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    modules = set(proc.stdout.split())
    # what this interpreter loads before any code runs (a site-packages .pth file can import
    # re or enum at startup): not the run path's doing
    startup = set(subprocess.run([sys.executable, "-c", "import sys; print(' '.join("
                                  "sorted(sys.modules)))"], capture_output=True, text=True,
                                 check=True).stdout.split())
    assert "mydocker_lab.relay" in modules  # it did run, with -t
    assert not {m for m in modules if m.startswith("mydocker_lab.lab")}
    assert not modules & {"IPython", "ipywidgets", "pexpect", "mydocker_lab.cgroups"}
    assert not (modules - startup) & {"re", "json", "enum", "argparse", "signal", "subprocess",
                                      "ctypes"}  # linux.py binds libc through _ctypes


def test_without_privilege_is_one_clear_line_and_125():
    """Root without CAP_SYS_ADMIN (as in a locked-down container) cannot create namespaces."""
    import subprocess
    import sys
    proc = subprocess.run(["setpriv", "--bounding-set=-sys_admin", sys.executable, "-m",
                           "mydocker_lab", "run", "true"], capture_output=True, timeout=30)
    assert proc.returncode == 125
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "clone: Operation not permitted (EPERM)" in lines[0]
    assert "sudo" in lines[0] and "--rootless" in lines[0]


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "PYTHONUNBUFFERED=1"])
def test_help_into_a_closed_pipe_is_quiet(unbuffered):
    """A user's shell has no PYTHONUNBUFFERED (this machine's has): both must give 141."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    proc = subprocess.Popen([sys.executable, "-m", "mydocker_lab", "run", "--help"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # like `mydocker-lab run --help | head -0`
    assert proc.wait(10) == 141
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_help_tells_what_signals_do():
    text = mydocker("run", "--help").stdout.decode()
    assert "Signals:" in text and "cancel the run" in text and "128+N" in text
    assert "passed on to" in text and "killed with it" in text
    assert "--tty=false" in text and "-e=KEY=V" in text


def test_help_into_a_closed_stdout_is_no_traceback():
    """Bug 5: with fd 1 closed, Python's sys.stdout is None: `run --help >&-` raised
    AttributeError. Now fd 1 is /dev/null from the first line on."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["run", "--help"], ["--version"], ["run", "--bogus"]):
        proc = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m",
                               "mydocker_lab"] + args, capture_output=True, timeout=30,
                              env=env)
        assert b"Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == (125 if "--bogus" in args else 0)


INIT_BY_HAND = r'''
mount --make-rshared /
dir=$1; shift
printf 'hostname\0' > "$dir/command"
before=$(hostname)
"$@" 5< "$dir/command"; echo "status $?"
echo "hostname $(hostname) (was $before)"
findmnt -n -o PROPAGATION /
'''


@pytest.mark.parametrize("how", ["plain", "pid-1"])
def test_init_by_hand_changes_nothing(how, tmp_path):
    """Bug 11: `mydocker-lab init --hostname pwned 5<f`, typed by hand, renamed the host and
    made its / private. init now refuses unless it is PID 1 of a new PID namespace in UTS
    and mount namespaces of its own. (Tried in a throw-away UTS and mount namespace: a
    regression would rename only that.)"""
    import subprocess
    import sys
    init = [sys.executable, "-m", "mydocker_lab", "init", "--hostname", "pwned"]
    if how == "pid-1":  # PID 1 of a new PID namespace, but the caller's UTS and mounts
        init = ["unshare", "--pid", "--fork"] + init
    proc = subprocess.run(["unshare", "--uts", "--mount", "sh", "-c", INIT_BY_HAND, "sh",
                           str(tmp_path)] + init, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    lines = proc.stdout.splitlines()
    assert lines[0] == "status 125", (proc.stdout, proc.stderr)
    assert lines[1].split()[1] != "pwned"
    assert lines[2] == "shared"
    assert proc.stderr == "mydocker-lab: init is internal: it is started by 'mydocker-lab run'\n"
