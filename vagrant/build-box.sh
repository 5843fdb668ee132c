#!/usr/bin/env bash
# Build a minimal Debian 12 (bookworm) Vagrant box for the libvirt provider, offline from
# Vagrant Cloud (only a Debian apt mirror is needed), and add it as debian/bookworm64.
#
# Students use the public box of that name; this script exists for machines that cannot
# download boxes (our CI). Idempotent: does nothing when the box is already added.
#
# Layout: ext4 over the whole disk image (no partition table), booted by extlinux whose
# boot sector is the file system's own first sector. Serial console on ttyS0.
#
# Usage: sudo vagrant/build-box.sh            (env: MYDOCKER_LAB_BOX, MYDOCKER_LAB_BOX_DIR,
#                                               MYDOCKER_LAB_MIRROR, MYDOCKER_LAB_BOX_SIZE_GB)
set -euo pipefail

BOX_NAME="${MYDOCKER_LAB_BOX:-debian/bookworm64}"
MIRROR="${MYDOCKER_LAB_MIRROR:-http://deb.debian.org/debian}"
SIZE_GB="${MYDOCKER_LAB_BOX_SIZE_GB:-8}"
SUITE=bookworm

say() { printf '[build-box %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mount)"
for tool in debootstrap extlinux mkfs.ext4 qemu-img vagrant; do
    command -v "$tool" >/dev/null || die "missing tool: $tool (apt-get install debootstrap extlinux e2fsprogs qemu-utils vagrant)"
done

if vagrant box list --machine-readable 2>/dev/null | grep -q ",box-name,${BOX_NAME}\$"; then
    if vagrant box list 2>/dev/null | grep -E "^${BOX_NAME} +\(libvirt" >/dev/null; then
        say "box ${BOX_NAME} (libvirt) already added: nothing to do"
        exit 0
    fi
fi

KEY=""
for k in /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
         /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub \
         /usr/share/vagrant/keys/vagrant.pub; do
    if [ -f "$k" ]; then KEY="$k"; break; fi
done
[ -n "$KEY" ] || die "cannot find vagrant's insecure public key (keys/vagrant.pub in the vagrant gem)"

WORK="$(mktemp -d /var/tmp/mydocker-lab-box.XXXXXX)"
MNT="$WORK/root"
IMG="$WORK/disk.raw"
mounted=()
cleanup() {
    local rc=$?
    for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT INT TERM

say "creating ${SIZE_GB}G sparse image in $WORK"
truncate -s "${SIZE_GB}G" "$IMG"
# extlinux 6.04 does not read ext4's 64bit/metadata_csum features; turn them off.
mkfs.ext4 -q -F -L root -O ^64bit,^metadata_csum "$IMG"
mkdir -p "$MNT"
mount -o loop "$IMG" "$MNT"; mounted+=("$MNT")

say "debootstrap $SUITE from $MIRROR (takes a minute or two)"
debootstrap --arch=amd64 \
    --include=linux-image-amd64,openssh-server,sudo,python3,python3-venv,procps,iproute2,rsync,ifupdown,isc-dhcp-client,systemd-sysv,ca-certificates,less \
    "$SUITE" "$MNT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }

say "configuring the guest"
for d in proc sys dev; do mount --bind "/$d" "$MNT/$d"; mounted+=("$MNT/$d"); done

cat >"$MNT/etc/fstab" <<'FSTAB'
LABEL=root  /  ext4  errors=remount-ro  0  1
FSTAB
echo bookworm >"$MNT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbookworm\n' >"$MNT/etc/hosts"
cat >"$MNT/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
NET
cat >"$MNT/etc/apt/sources.list" <<APT
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
APT

chroot "$MNT" /bin/sh -eu <<'CHROOT'
id vagrant >/dev/null 2>&1 || useradd -m -s /bin/bash vagrant
echo 'vagrant:vagrant' | chpasswd
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
# a fresh machine-id on first boot (each VM gets its own DHCP identity)
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
CHROOT
install -m 0600 "$KEY" "$MNT/home/vagrant/.ssh/authorized_keys"
chroot "$MNT" chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys
echo 'UseDNS no' >"$MNT/etc/ssh/sshd_config.d/vagrant.conf"

say "installing extlinux"
mkdir -p "$MNT/boot/extlinux"
cat >"$MNT/boot/extlinux/extlinux.conf" <<'EXT'
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 1
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=root rw console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0
EXT
extlinux --install "$MNT/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"

for ((i=${#mounted[@]}-1; i>=1; i--)); do umount "${mounted[$i]}"; done
mounted=("$MNT")
# give freed blocks (apt's cache) back to the sparse image so the box stays small
fstrim "$MNT" 2>/dev/null || say "fstrim not supported here: the box will be larger"
umount "$MNT"
mounted=()

say "packaging the box"
BOX="$WORK/box"
mkdir -p "$BOX"
qemu-img convert -O qcow2 "$IMG" "$BOX/box.img"
rm -f "$IMG"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s}\n' "$SIZE_GB" >"$BOX/metadata.json"
cat >"$BOX/Vagrantfile" <<'VF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
VF
tar -C "$BOX" -cf "$WORK/box.box" metadata.json Vagrantfile box.img
# vagrant-libvirt caches each box version as a volume in the storage pool: drop stale ones
if command -v virsh >/dev/null && virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
    prefix="$(printf '%s' "$BOX_NAME" | sed 's|/|-VAGRANTSLASH-|g')_vagrant_box_image_"
    virsh -c qemu:///system vol-list default 2>/dev/null | awk -v p="$prefix" 'index($1, p) == 1 {print $1}' |
    while read -r vol; do
        say "removing stale libvirt volume $vol"
        virsh -c qemu:///system vol-delete --pool default "$vol" >/dev/null || true
    done
fi
say "adding box $BOX_NAME ($(du -h "$WORK/box.box" | cut -f1))"
vagrant box add --force --name "$BOX_NAME" --provider libvirt "$WORK/box.box" >/dev/null
say "done: box $BOX_NAME added"
