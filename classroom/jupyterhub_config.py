# JupyterHub for a mydocker-lab class: the course for every student, on one Linux machine.
#
#   sudo PREFIX/venv/bin/jupyterhub -f PREFIX/jupyterhub_config.py   (classroom/setup installs
#   it; PREFIX is /opt/mydocker-lab-classroom unless you chose another)
#
# Every setting a teacher may want to change is in PREFIX/classroom.env (KEY=VALUE lines, read
# below; also systemd's EnvironmentFile): who teaches, the limits, the port, the spawner.
# What this configuration does:
# - accounts are the machine's (PAM): a student logs in with their unix name and password.
#   Who may log in: the members of STUDENTS_GROUP, and the TEACHERS (who are admins).
#   AUTHENTICATOR=github logs in with GitHub instead (docs/teacher.md);
# - each student's server runs as the student: ClassroomSpawner (local processes, with a
#   cgroup per student) where there is no systemd, systemd's SystemdSpawner where there is
#   (SPAWNER=systemd: a service per student with Delegate=yes);
# - each server starts through mydocker_lab.classroom.sandbox: the course copied into
#   ~/mydocker-lab on first start, the server in user, PID and mount namespaces of its own
#   (a student sees only their own processes; containers are rootless);
# - MEMORY, CPUS and TASKS limit everything a student runs (their kernels, containers, ...).
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def _settings(path):
    """KEY=VALUE lines (systemd's EnvironmentFile syntax, without its escapes); the
    environment overrides the file."""
    values = {}
    if os.path.exists(path):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                key, sep, value = line.partition("=")
                if not sep:
                    raise SystemExit("%s:%d: not KEY=VALUE: %s" % (path, number, line))
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[key.strip()] = value
    for key in list(values) + [k[len("CLASSROOM_"):] for k in os.environ
                               if k.startswith("CLASSROOM_")]:
        if "CLASSROOM_" + key in os.environ:
            values[key] = os.environ["CLASSROOM_" + key]
    return values


S = _settings(os.environ.get("MYDOCKER_LAB_CLASSROOM_SETTINGS",
                             os.path.join(HERE, "classroom.env")))


def setting(key, default=None):
    return S.get(key, default)


def words(key, default=""):
    return [w for w in setting(key, default).replace(",", " ").split() if w]


def yes(key, default):
    value = setting(key, default).lower()
    if value not in ("yes", "no"):
        raise SystemExit("classroom.env: %s must be yes or no, not %r" % (key, value))
    return value == "yes"


PREFIX = setting("PREFIX", HERE)
VENV = os.path.join(PREFIX, "venv")
STATE = os.path.join(PREFIX, "state")
COURSE = setting("COURSE", os.path.join(PREFIX, "course"))
os.makedirs(STATE, mode=0o700, exist_ok=True)

c = get_config()  # noqa: F821

# -- the hub, its proxy, its state ---------------------------------------------------------------
c.JupyterHub.bind_url = setting("BIND_URL", "http://:8000")
c.JupyterHub.hub_bind_url = "http://127.0.0.1:%s" % setting("HUB_API_PORT", "8081")
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%s" % setting("PROXY_API_PORT", "8001")
c.ConfigurableHTTPProxy.command = [os.path.join(PREFIX, "proxy", "node_modules", ".bin",
                                                "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")
if setting("SSL_CERT"):
    c.JupyterHub.ssl_cert = setting("SSL_CERT")
    c.JupyterHub.ssl_key = setting("SSL_KEY")
# a class logs in at once, on a small machine: let the servers take their time to start
c.JupyterHub.concurrent_spawn_limit = int(setting("CONCURRENT_SPAWNS", "20"))
c.JupyterHub.cleanup_servers = True   # stopping the hub stops every student's server

# -- who logs in --------------------------------------------------------------------------------
TEACHERS = set(words("TEACHERS", "teacher"))
authenticator = setting("AUTHENTICATOR", "pam")
if authenticator == "pam":
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = set(words("STUDENTS_GROUP", "mydocker-lab-students"))
    c.PAMAuthenticator.open_sessions = False   # no systemd-logind session per server
elif authenticator == "github":
    # pip install oauthenticator (into PREFIX/venv); every GitHub user of the class still
    # needs a unix account of the same name (classroom/add-students): servers run as them.
    c.JupyterHub.authenticator_class = "oauthenticator.github.LocalGitHubOAuthenticator"
    c.LocalGitHubOAuthenticator.client_id = setting("OAUTH_CLIENT_ID")
    c.LocalGitHubOAuthenticator.client_secret = setting("OAUTH_CLIENT_SECRET")
    c.LocalGitHubOAuthenticator.oauth_callback_url = setting("OAUTH_CALLBACK_URL")
    c.LocalGitHubOAuthenticator.allowed_organizations = set(words("GITHUB_ORGANIZATIONS"))
    c.LocalGitHubOAuthenticator.allowed_groups = set(words("STUDENTS_GROUP",
                                                           "mydocker-lab-students"))
else:
    raise SystemExit("classroom.env: AUTHENTICATOR must be pam or github, not %r"
                     % authenticator)
c.Authenticator.admin_users = TEACHERS
c.Authenticator.allowed_users = TEACHERS   # and the students' group, above

# An API token for scripts (a teacher's, or scripts/classroom-tier): manage users and
# servers, and reach them.
if setting("ADMIN_TOKEN_FILE"):
    with open(setting("ADMIN_TOKEN_FILE")) as f:
        token = f.read().strip()
    c.JupyterHub.services = [{"name": "classroom-admin", "api_token": token}]
    c.JupyterHub.load_roles = [{
        "name": "classroom-admin", "services": ["classroom-admin"],
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users",
                   "read:users", "admin-ui"]}]

# -- each student's server --------------------------------------------------------------------
PATH = os.pathsep.join([os.path.join(VENV, "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
sandbox = [os.path.join(VENV, "bin", "python"), "-I", "-m", "mydocker_lab.classroom.sandbox",
           "--course", COURSE]
if not yes("SANDBOX", "yes"):
    sandbox.append("--no-namespaces")
c.Spawner.cmd = sandbox + ["--", os.path.join(VENV, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/mydocker-lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {"PATH": PATH}
c.Spawner.mem_limit = setting("MEMORY", "1G")
c.Spawner.cpu_limit = float(setting("CPUS", "1"))
c.Spawner.start_timeout = int(setting("START_TIMEOUT", "300"))
c.Spawner.http_timeout = int(setting("START_TIMEOUT", "300"))
tasks = int(setting("TASKS", "1024"))

spawner = setting("SPAWNER", "local")
if spawner == "local":
    c.JupyterHub.spawner_class = "mydocker_lab.classroom.spawner.ClassroomSpawner"
    c.ClassroomSpawner.tasks_limit = tasks
    c.ClassroomSpawner.interrupt_timeout = 15
elif spawner == "systemd":
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.isolate_tmp = True          # a /tmp of their own
    c.SystemdSpawner.disable_user_sudo = True    # NoNewPrivileges
    c.SystemdSpawner.unit_extra_properties = {
        # the student's cgroup is theirs to manage: notebook 06's `mydocker-lab run -m`
        # makes its containers' cgroups below it (the sandbox moves the server into a leaf)
        "Delegate": "yes",
        "TasksMax": str(tasks) if tasks else "infinity",
        "MemorySwapMax": "0",
    }
else:
    raise SystemExit("classroom.env: SPAWNER must be local or systemd, not %r" % spawner)

# -- logs -----------------------------------------------------------------------------------------
c.JupyterHub.log_level = setting("LOG_LEVEL", "INFO")
c.Spawner.debug = setting("LOG_LEVEL", "INFO") == "DEBUG"
if setting("EXTRA_CONFIG"):  # a file of further JupyterHub settings, loaded last
    load_subconfig(setting("EXTRA_CONFIG"))  # noqa: F821
