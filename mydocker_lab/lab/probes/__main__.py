"""``python -m mydocker_lab.lab.probes NAME [ARG...]``: run one probe, print JSON."""
import json
import sys

from . import load_all


def main(argv):
    probes = load_all()
    if not argv or argv[0] not in probes:
        sys.stderr.write("usage: python -m mydocker_lab.lab.probes NAME [ARG...]; NAME is one "
                         "of: %s\n" % ", ".join(sorted(probes)))
        return 2
    result = probes[argv[0]](*argv[1:])
    sys.stdout.write(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return 0


sys.exit(main(sys.argv[1:]))
