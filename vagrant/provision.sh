#!/usr/bin/env bash
# Provision the mydocker-lab VM (Debian 12). Idempotent: safe to run again (`vagrant provision`).
#
# - installs mydocker-lab for root in a venv (/opt/mydocker-lab/venv), linked as
#   /usr/local/bin/mydocker-lab, so `sudo mydocker-lab run -ti /bin/sh` works;
# - unless MYDOCKER_LAB_JUPYTER=no: JupyterLab as a systemd service on port 8888 with a token
#   kept in /etc/mydocker-lab/jupyter-token (read it with
#   `vagrant ssh -c 'sudo cat /etc/mydocker-lab/jupyter-token'`).
#
# Environment (passed through by the Vagrantfile):
#   MYDOCKER_LAB_SRC        the synced source tree   (default /home/vagrant/mydocker-lab)
#   MYDOCKER_LAB_JUPYTER    yes|no                   (default yes)
#   MYDOCKER_LAB_WHEELHOUSE a directory of wheels: install from it without network (CI)
#   MYDOCKER_LAB_JUPYTER_GUEST_PORT                  (default 8888)
set -euo pipefail

SRC="${MYDOCKER_LAB_SRC:-/home/vagrant/mydocker-lab}"
JUPYTER="${MYDOCKER_LAB_JUPYTER:-yes}"
WHEELHOUSE="${MYDOCKER_LAB_WHEELHOUSE:-}"
PORT="${MYDOCKER_LAB_JUPYTER_GUEST_PORT:-8888}"
VENV=/opt/mydocker-lab/venv
CONF=/etc/mydocker-lab
USER_NAME=vagrant

say() { printf '[provision %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { say "error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the Vagrantfile does)"
[ -f "$SRC/pyproject.toml" ] || die "no source tree at $SRC (the rsync synced folder)"
case "$JUPYTER" in yes|no) ;; *) die "MYDOCKER_LAB_JUPYTER must be yes or no, not '$JUPYTER'";; esac

# 1. Debian packages: the public box lacks python3-venv. Touch apt only when something is missing.
need=()
for p in python3 python3-venv procps iproute2 rsync; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# 2. The package, for root, in a venv.
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
fi
if [ -n "$WHEELHOUSE" ]; then
    [ -d "$WHEELHOUSE" ] || die "MYDOCKER_LAB_WHEELHOUSE=$WHEELHOUSE is not a directory"
    extra=""; [ "$JUPYTER" = yes ] && extra="[lab]"
    say "installing mydocker-lab$extra from $WHEELHOUSE (no network)"
    "$VENV/bin/pip" install -q --no-index --find-links "$WHEELHOUSE" --force-reinstall --no-deps mydocker-lab
    [ "$JUPYTER" = yes ] && "$VENV/bin/pip" install -q --no-index --find-links "$WHEELHOUSE" "mydocker-lab$extra"
else
    extra=""; [ "$JUPYTER" = yes ] && extra="[lab]"
    # editable: after `vagrant rsync` the VM runs the code you just edited on the host
    say "installing mydocker-lab$extra from $SRC (editable; needs PyPI)"
    "$VENV/bin/pip" install -q -e "$SRC$extra"
fi
ln -sfn "$VENV/bin/mydocker-lab" /usr/local/bin/mydocker-lab
say "$(/usr/local/bin/mydocker-lab --help >/dev/null 2>&1 && echo 'mydocker-lab is installed' || echo 'warning: mydocker-lab --help failed')"

# 3. JupyterLab as a service, with a token.
if [ "$JUPYTER" = yes ]; then
    install -d -m 0755 "$CONF"
    if [ ! -s "$CONF/jupyter-token" ]; then
        say "generating the JupyterLab token"
        (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))' >"$CONF/jupyter-token")
    fi
    (umask 077; printf 'JUPYTER_TOKEN=%s\n' "$(cat "$CONF/jupyter-token")" >"$CONF/jupyter.env")
    unit=/etc/systemd/system/mydocker-lab-jupyter.service
    new_unit="$(cat <<UNIT
[Unit]
Description=JupyterLab for mydocker-lab
After=network-online.target
Wants=network-online.target

[Service]
User=$USER_NAME
EnvironmentFile=$CONF/jupyter.env
Environment=PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WorkingDirectory=$SRC
# 0.0.0.0 inside the guest only: the host forwards its 127.0.0.1 port here (see Vagrantfile)
ExecStart=$VENV/bin/jupyter lab --no-browser --ip=0.0.0.0 --port=$PORT --ServerApp.root_dir=$SRC/notebooks
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
)"
    if [ ! -f "$unit" ] || [ "$(cat "$unit")" != "$new_unit" ]; then
        printf '%s\n' "$new_unit" >"$unit"
        systemctl daemon-reload
    fi
    systemctl enable mydocker-lab-jupyter.service >/dev/null 2>&1
    systemctl restart mydocker-lab-jupyter.service
    say "JupyterLab: http://127.0.0.1:<forwarded port>/lab  (token: sudo cat $CONF/jupyter-token)"
fi
say "done"
