"""What notebook 06's experiments show as root, for readers without root.

Made by ``mydocker_lab.lab.cgroups.store_root_results()`` (as root); do not edit.
"""
import json

RESULTS = json.loads(r"""
{
 "cpu-vs-memory": "limit        the program wants       what the kernel did\n-----------  ----------------------  ----------------------------------------------\n--cpus 0.25  burn 0.2 s of CPU time  exit 0, took more than twice that on the clock\n-m 50m       allocate 200 MiB        exit 137, killed by SIGKILL\n\n✔ CPU time can be handed out later, so the kernel makes the program wait; memory cannot, so it takes a process away",
 "cpuset-0": "host (this probe)                      container (--cpuset-cpus 0)\n-----------------                      ---------------------------\nCpus_allowed_list: <the host's CPUs>   Cpus_allowed_list: 0\n\n✔ the container runs on CPU 0 only",
 "memory-100-20": "                  what happened\n----------------  -----------------------------------\nmydocker-lab run  -m 100m python -c <allocate 20 MiB>\nexit status       0\nprogram printed   allocated 20\nruntime's log     no warning\n\n✔ 20 MiB fit in the 100 MiB limit (with the interpreter's own few MiB)",
 "memory-50-100": "                  what happened\n----------------  ----------------------------------------------------------------------------------------------------------\nmydocker-lab run  -m 50m python -c <allocate 100 MiB>\nexit status       137 = 128 + 9 (SIGKILL)\nprogram printed   (nothing: it never got there)\nruntime's log     OOM: the kernel's OOM killer killed 1 process of the container: it reached its memory limit (--memory 50m)\n\n✔ the limit held: 100 MiB do not fit in 50 MiB, so the kernel's OOM killer ended the program with SIGKILL (exit 137)",
 "memory-50-200": "                  what happened\n----------------  ----------------------------------------------------------------------------------------------------------\nmydocker-lab run  -m 50m python -c <allocate 200 MiB>\nexit status       137 = 128 + 9 (SIGKILL)\nprogram printed   (nothing: it never got there)\nruntime's log     OOM: the kernel's OOM killer killed 1 process of the container: it reached its memory limit (--memory 50m)\n\n✔ the limit held: 200 MiB do not fit in 50 MiB, so the kernel's OOM killer ended the program with SIGKILL (exit 137)",
 "views-100m": "host (looking at the container)                       container (looking at itself)\n-------------------------------                       -----------------------------\nthe container's cgroup  mydocker-lab/<container id>   my cgroup               mydocker-lab/<container id>\nmemory limit            104857600 bytes (100 MiB)     my memory limit         104857600 bytes (100 MiB)\nprocesses in it         1 (the container's sh)        my CPUs                 <the host's CPUs>\nmy CPUs                 <the host's CPUs>             my PID                  2 (a child of sh, PID 1)\n\nafter the container exits:\nexit status             0\ncgroup directory        removed\n\n✔ one cgroup, the same limit seen from both sides; made before the command ran, removed after it ended"
}
""")
