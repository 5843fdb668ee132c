"""classroom/z2jh: the Kubernetes configuration asks for what its README says a student's pod
needs, its seccomp profile lets the course make namespaces, and its validator refuses values
the chart's schema refuses. (The chart's own schema is not reachable from CI: the README says
what was validated against it and when.)"""
import json
import subprocess
import sys
from pathlib import Path

import yaml

Z2JH = Path(__file__).resolve().parents[2] / "classroom" / "z2jh"

#: What mydocker-lab run and the notebooks call to make a container (rootless).
NAMESPACE_CALLS = ("clone", "clone3", "unshare", "setns", "mount", "umount2", "pivot_root",
                   "sethostname", "execve", "pipe2", "wait4")


def values():
    return yaml.safe_load((Z2JH / "values.yaml").read_text())


def test_the_students_pod_is_unprivileged_and_may_make_namespaces():
    v = values()
    pod = v["singleuser"]["extraPodConfig"]
    assert pod["hostUsers"] is False, "a user namespace for the pod"
    ctx = v["hub"]["config"]["KubeSpawner"]["container_security_context"]
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["runAsNonRoot"] is True
    assert ctx.get("privileged") is not True
    assert ctx["procMount"] == "Unmasked"
    assert ctx["seccompProfile"] == {"type": "Localhost",
                                     "localhostProfile": "mydocker-lab-namespaces.json"}
    assert (Z2JH / ctx["seccompProfile"]["localhostProfile"]).is_file()


def test_each_student_has_limits_and_a_home_with_the_course():
    su = values()["singleuser"]
    assert su["cpu"]["limit"] and su["memory"]["limit"]
    assert su["storage"]["type"] == "dynamic" and su["storage"]["capacity"]
    hook = su["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert "--no-clobber" in hook, "a student's own copy of the course is never overwritten"
    assert hook[-1].startswith(su["storage"]["homeMountPath"])


def test_the_seccomp_profile_allows_the_namespace_calls_and_refuses_the_kernels_own():
    profile = json.loads((Z2JH / "mydocker-lab-namespaces.json").read_text())
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {name for rule in profile["syscalls"] if rule["action"] != "SCMP_ACT_ALLOW"
              for name in rule["names"]}
    assert not denied & set(NAMESPACE_CALLS)
    assert {"init_module", "finit_module", "kexec_load", "bpf", "keyctl", "reboot",
            "userfaultfd", "open_by_handle_at", "perf_event_open"} <= denied
    assert "SCMP_ARCH_X86_64" in profile["architectures"]
    assert "SCMP_ARCH_AARCH64" in profile["architectures"]


def chart(tmp_path):
    """A stand-in chart of our own: a schema shaped like the real one's where values.yaml
    touches it (unknown keys refused under singleuser, typed limits)."""
    schema = {"type": "object", "properties": {
        "hub": {"type": "object"}, "prePuller": {"type": "object"},
        "cull": {"type": "object"}, "scheduling": {"type": "object"},
        "singleuser": {"type": "object", "additionalProperties": False, "properties": {
            name: {"type": "object"} for name in (
                "image", "extraPodConfig", "lifecycleHooks", "storage", "extraEnv",
                "networkPolicy")} | {
            "cpu": {"type": "object", "additionalProperties": False, "properties": {
                "limit": {"type": ["number", "null"]},
                "guarantee": {"type": ["number", "null"]}}},
            "memory": {"type": "object"}, "cmd": {"type": ["array", "string", "null"]},
            "defaultUrl": {"type": ["string", "null"]}, "uid": {"type": ["integer", "null"]},
            "fsGid": {"type": ["integer", "null"]},
            "allowPrivilegeEscalation": {"type": ["boolean", "null"]},
            "startTimeout": {"type": "integer"}}}}}
    (tmp_path / "values.schema.json").write_text(json.dumps(schema))
    (tmp_path / "values.yaml").write_text("singleuser:\n  cpu:\n    limit:\n  uid: 1000\n")
    return tmp_path


def validate(*argv):
    return subprocess.run([sys.executable, str(Z2JH / "validate"), *map(str, argv)],
                          capture_output=True, text=True, timeout=60)


def test_the_validator_passes_our_values_and_refuses_what_a_schema_refuses(tmp_path):
    ok = validate(chart(tmp_path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "values.yaml is valid against" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("singleuser:\n  memoryy: {limit: 1G}\n  cpu: {limit: one}\n")
    out = validate(tmp_path, Z2JH / "values.yaml", bad)
    assert out.returncode == 1
    assert "singleuser: Additional properties are not allowed ('memoryy'" in out.stdout
    assert "singleuser.cpu.limit: 'one' is not of type" in out.stdout
    # null removes a key, as in helm
    unset = tmp_path / "unset.yaml"
    unset.write_text("singleuser:\n  uid: null\n")
    assert validate(tmp_path, unset).returncode == 0


def test_the_validator_says_what_is_wrong_with_its_input(tmp_path):
    out = validate(tmp_path)
    assert out.returncode == 2 and "is not the jupyterhub chart" in out.stderr
    assert "Traceback" not in out.stderr
    assert validate().returncode == 2
