"""The command line (the book's ``main.go`` and ``main_command.go``).

Parsing is done by hand, the way docker does it: options stop at the first
word that is not an option, so ``run -ti sh -c 'ls -l'`` hands ``-c`` and
``ls -l`` to ``sh`` untouched. (It also keeps ``argparse`` and its imports
off the run path, which is most of start-up.)
"""
import os
import sys
import _signal as signal  # the C module behind `signal`, which imports enum (4 ms a run)

from . import __version__
from .container.protocol import EXIT_RUNTIME, FORWARDED_SIGNALS
from .log import LEVELS, log

EXIT_USAGE = EXIT_RUNTIME  # 125, as docker run

MAIN_HELP = """\
Usage: mydocker-lab [--log-level LEVEL] [--log-format FORMAT] COMMAND

A teaching copy of the toy container runtime "mydocker" (Write Your Own
Docker, chapter 3): run a program in new Linux namespaces, the way
`docker run` does, one readable step at a time.

Commands:
  run     Run a command in a new container

Global options:
  --log-level LEVEL    debug, info (default), warning or error
  --log-format FORMAT  json (default: one logrus-style object a line) or text
  -h, --help           Show this help
  --version            Show the version

Run 'mydocker-lab run --help' to see what a container is made of.
"""

RUN_HELP = """\
Usage: mydocker-lab run [OPTIONS] COMMAND [ARG...]

Run COMMAND in a new container: new UTS (hostname), PID, mount, network and
IPC namespaces. What happens, step by step (the book's chapter 3.1):

  1. mydocker-lab clone()s a child into the new namespaces   run.py, container/process.py
     (and forks a watcher that kills it if mydocker-lab dies)
  2. the child re-executes this program as `init`            (the book's /proc/self/exe init)
  3. init makes / private, sets the hostname, mounts a       container/init.py
     fresh /proc with MS_NOEXEC|MS_NOSUID|MS_NODEV
  4. init execve()s COMMAND: same process, new program, so COMMAND is PID 1.
     COMMAND reaches init through a pipe (chapter 3.3), sent once the
     container is in its cgroup (with -m, --cpus...: cgroups/)
  5. mydocker-lab waits for it and exits with its status

Options (spelled as docker spells them: -ti, -eKEY=V, -e=KEY=V, --env=KEY=V,
-m=64m, --tty=false, -it=true):
  -i, --interactive       Keep STDIN attached to the container
  -t, --tty               Give the container its own pseudo terminal (use -ti for a shell)
  -e, --env KEY=VALUE     Set an environment variable (repeatable; KEY alone copies
                          this shell's value). The container starts with only PATH,
                          HOME, HOSTNAME and, with -t, TERM
      --hostname NAME     The container's hostname (default: 12 random hex digits):
                          letters, digits, '-' and dots, as docker takes it (RFC 1123)
      --rootless          Use a user namespace: root inside, yourself outside
                          (automatic when you are not root)
      --log-level LEVEL   debug, info (default), warning or error
      --log-format FORMAT json (default) or text. Logs go to stderr
  -h, --help              Show this help

Resource limits (chapter 3.2; any of them puts the container in its own cgroup,
v1 or v2, made before COMMAND starts and removed when it ends; root only):
  -m, --memory SIZE       At most SIZE of memory, e.g. 100m, 1g (swap included).
                          Beyond it the kernel's OOM killer ends the container: 137
      --cpu-shares N      CPU weight when CPUs are busy; 1024 is normal (book: -cpushare)
      --cpus N            At most N CPUs' worth of time, e.g. 0.5
      --cpuset-cpus LIST  Only these CPUs, e.g. 0 or 0-1 (book: -cpuset)

Exit status (as docker run):
  0-124   COMMAND's own exit status
  125     mydocker-lab itself failed (bad option, no privilege, a refused system call)
  126     COMMAND cannot be executed (permission denied, a directory)
  127     COMMAND not found
  128+N   COMMAND was killed by signal N (137: SIGKILL, 143: SIGTERM)

Signals:
  While the container starts, SIGINT (Ctrl-C), SIGTERM, SIGHUP, SIGQUIT, SIGUSR1
  and SIGUSR2 cancel the run: COMMAND never starts, nothing is left behind, and
  the exit status is 128+N (130 for Ctrl-C, 143 for SIGTERM). From the moment
  COMMAND is handed to init (it runs a millisecond later), they are passed on to
  it as soon as it runs; as in docker, a PID 1 gets only the signals it has a
  handler for (`run sleep 60` ignores them). With -t, Ctrl-C is a byte for the
  container's terminal. COMMAND starts with every signal's default action,
  whatever mydocker-lab's caller ignored (nohup...). If mydocker-lab dies, even
  by SIGKILL, its container is killed with it.

Examples:
  sudo mydocker-lab run -ti /bin/sh        a shell that is PID 1; try `ps -ef`, `hostname x`
  mydocker-lab run sh -c 'echo $$'          prints 1 (rootless when you are not root)
  mydocker-lab run --hostname lab -e GREETING=hi sh -c 'echo $GREETING from $(hostname)'
"""


#: Resource limit options (the book's and docker's names) -> the key in Options.limits.
LIMIT_FLAGS = {"--memory": "memory", "--cpu-shares": "cpu-shares", "--cpushare": "cpu-shares",
               "--cpus": "cpus", "--cpuset-cpus": "cpuset-cpus", "--cpuset": "cpuset-cpus"}
#: run's flags without a value (a value may be given: --tty=false, -t=true) and with one.
BOOL_FLAGS = {"-i": "--interactive", "-t": "--tty"}
VALUE_FLAGS = {"-e": "--env", "-m": "--memory"}
#: Go's strconv.ParseBool, which docker's flags use.
TRUE, FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


class UsageError(Exception):
    pass


def console():
    """The ``mydocker-lab`` command: :func:`main`, then exit at once.

    First, the signals mydocker-lab forwards are blocked: one that arrives from now on
    waits until ``run`` looks (it ends a run that has not started its command yet, or
    goes to the command), so none can interrupt us half-way (no traceback, ever).
    Nothing of ours needs the interpreter's teardown (module clean-up, ~3 ms of every
    container's start-to-exit), so ``os._exit`` with the status.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    open_missing_stdio()
    os._exit(main())


def open_missing_stdio():
    """A closed stdin, stdout or stderr becomes /dev/null: read-only for 0, write-only
    for 1 and 2. As in docker, whose containers always start with all three open (what
    they write reaches the client, or nowhere once the client's own stdout is closed),
    the container's stdout stays writable, and none of our own files can take the
    place of a missing 0, 1 or 2."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            new = os.open(os.devnull, mode)  # the lowest free number: fd itself
            if new != fd:
                os.dup2(new, fd)
                os.close(new)
            os.set_inheritable(fd, True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["init"]:  # the hidden subcommand: the container's first process
        from .container.init import main as init_main
        return init_main(argv[1:])
    try:
        return _main(argv)
    except UsageError as err:
        _say("%s (see 'mydocker-lab %s--help')" % (err, "run " if "run" in argv else ""))
        return EXIT_USAGE
    except KeyboardInterrupt:  # only when called in-process: console() blocks SIGINT
        return 130
    except BrokenPipeError:  # `mydocker-lab --help | head -1`: the reader has gone
        return 141  # 128 + SIGPIPE, as if the signal had ended us


def _main(argv):
    settings = {"log_level": "info", "log_format": "json"}
    argv = _global_options(argv, settings)
    if argv is None:
        return 0
    if not argv:
        raise UsageError("no command given: try 'mydocker-lab run -ti /bin/sh'")
    if argv[0] != "run":
        raise UsageError("unknown command %r" % argv[0])
    opts = parse_run(argv[1:], settings)
    if opts is None:
        _write(RUN_HELP)
        return 0
    log.level, log.fmt = settings["log_level"], settings["log_format"]
    from .run import RunError, run
    try:
        return run(opts, settings["log_level"], settings["log_format"])
    except RunError as err:
        log.error(str(err))
        return EXIT_USAGE


def _global_options(argv, settings):
    while argv and argv[0].startswith("-"):
        word = argv.pop(0)
        if word in ("-h", "--help"):
            _write(MAIN_HELP)
            return None
        if word == "--version":
            _write("mydocker-lab %s\n" % __version__)
            return None
        if not _log_option(word, argv, settings):
            if "run" in argv:  # `mydocker-lab -ti run sh`: run's own options come after it
                raise UsageError("unknown flag: %s; the options of run go after it: "
                                 "'mydocker-lab run %s ...'" % (word, word))
            raise UsageError("unknown flag: %s" % word)
    return argv


def _log_option(word, rest, settings):
    """--log-level/--log-format, as ``--opt VALUE`` or ``--opt=VALUE``; True if it was one."""
    name, eq, value = word.partition("=")
    if name not in ("--log-level", "--log-format"):
        return False
    if not eq:
        if not rest:
            raise UsageError("flag needs an argument: %s" % name)
        value = rest.pop(0)
    choices = LEVELS if name == "--log-level" else ("json", "text")
    if value not in choices:
        raise UsageError("invalid value %r for %s: want one of %s"
                         % (value, name, ", ".join(choices)))
    settings[name[2:].replace("-", "_")] = value
    return True


def parse_run(args, settings):
    """``run`` options up to the first non-option word; None for --help.

    Spelled as docker's flag parser (spf13/pflag) takes them: ``-ti``, ``-e KEY=V``,
    ``-eKEY=V``, ``-e=KEY=V``, ``--env KEY=V``, ``--env=KEY=V``, ``--tty=false``,
    ``-t=true``, ``-it=true`` (in a cluster, ``=`` gives its value to the letter before
    it and ends the word); plus the book's Go spellings ``-cpushare 512``, ``-cpuset 0``.
    """
    from .run import Options
    opts = Options(command=[])
    args = list(args)
    while args and args[0].startswith("-") and args[0] != "-":
        word = args.pop(0)
        if word == "--":
            break
        if word in ("-h", "--help"):
            return None
        if word.startswith("-c") and "-" + word.partition("=")[0] in LIMIT_FLAGS:
            word = "-" + word  # the book's Go spelling: -cpushare 512, -cpuset 0
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in ("--interactive", "--tty", "--rootless"):
                _set(opts, name, _bool(name, value) if eq else True)
            elif name in ("--env", "--hostname") or name in LIMIT_FLAGS:
                if not eq:
                    if not args:
                        raise UsageError("flag needs an argument: %s" % name)
                    value = args.pop(0)
                _set(opts, name, value)
            elif not _log_option(word, args, settings):
                raise UsageError("unknown flag: %s" % word)
            continue
        letters = word[1:]  # a cluster of one-letter flags, pflag's way
        while letters:
            flag, rest = "-" + letters[0], letters[1:]
            if flag not in BOOL_FLAGS and flag not in VALUE_FLAGS:
                raise UsageError("unknown shorthand flag: %r in %s" % (letters[0], word))
            name = BOOL_FLAGS.get(flag) or VALUE_FLAGS[flag]
            if len(rest) > 1 and rest[0] == "=":  # -t=false, -e=K=V: the rest is the value
                value, letters = rest[1:], ""
                _set(opts, name, _bool(flag + ", " + name, value) if flag in BOOL_FLAGS
                     else value)
            elif flag in BOOL_FLAGS:
                _set(opts, name, True)
                letters = rest
            else:  # -eK=V, or -e K=V
                if not rest:
                    if not args:
                        raise UsageError("flag needs an argument: %s" % flag)
                    rest = args.pop(0)
                _set(opts, name, rest)
                letters = ""
    if not args:
        raise UsageError('"run" requires at least 1 argument: COMMAND [ARG...]')
    opts.command = args
    return opts


def _bool(name, value):
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise UsageError('invalid argument %r for "%s" flag: want true or false' % (value, name))


def _set(opts, name, value):
    if name == "--env":
        opts.env.append(value)
    elif name in LIMIT_FLAGS:
        opts.limits[LIMIT_FLAGS[name]] = value  # checked by cgroups/limits.py
    else:
        setattr(opts, name[2:], value)


def _write(text):
    """Write to stdout unbuffered (a BrokenPipeError reaches main: exit 141)."""
    data = memoryview(text.encode())
    while data:
        data = data[os.write(1, data):]


def _say(line):
    try:
        os.write(2, ("mydocker-lab: %s\n" % line).encode("utf-8", "backslashreplace"))
    except OSError:
        pass  # nowhere left to tell
