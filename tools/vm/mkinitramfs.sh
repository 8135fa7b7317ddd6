#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh OUT.cpio.gz KREL MODDIR [PAYLOAD_DIR]
#
# Build the guest's initramfs: busybox, the real programs the experiment uses
# (bash, ss, ip, nc, sysctl, ethtool, modprobe) with their shared libraries, the kernel
# modules the tests need from $KMODROOT/lib/modules/KREL (when that kernel has
# them as modules), the modules in MODDIR (.ko, .ko.xz, .ko.zst or .ko.gz;
# placed in /lib/modules/KREL/extra and indexed with depmod) and PAYLOAD_DIR
# copied to /opt/finwait. The guest's kmod, the host's, reads xz and zstd but
# not gzip: a .ko.gz goes in decompressed.
set -euo pipefail

out=$1 krel=$2 moddir=$3 payload=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp makes it 0700: the guest's / must let unprivileged users in.
chmod 0755 "$root"

mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules/"$krel"/extra}
mkdir -p "$root"/usr/{bin,sbin} "$root"/var/run "$root"/opt/finwait
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# Real programs, not busybox applets, where the experiment names them.
copy_prog() {
	local src dst lib
	src=$(readlink -f "$1")
	dst=$root$2
	mkdir -p "$(dirname "$dst")"
	# The real program, not a busybox applet of the same name, wins.
	rm -f "$dst" "$root/bin/$(basename "$dst")" "$root/sbin/$(basename "$dst")"
	cp "$src" "$dst"
	for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy_prog /usr/bin/bash /bin/bash
copy_prog /usr/bin/ss /bin/ss
copy_prog /usr/sbin/ip /sbin/ip
copy_prog /bin/nc.openbsd /bin/nc
copy_prog /usr/sbin/sysctl /sbin/sysctl
copy_prog /usr/sbin/ethtool /sbin/ethtool
copy_prog /usr/bin/jq /bin/jq
copy_prog /usr/bin/kmod /bin/kmod
for k in modprobe insmod rmmod lsmod depmod modinfo; do
	rm -f "$root/sbin/$k" "$root/bin/$k"
	ln -s /bin/kmod "$root/sbin/$k"
done
# ldd does not list the loader's own copy under /lib64 on every layout.
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

# Kernel pieces the tests use that a distro kernel builds as modules.
mroot=${KMODROOT:-}
mroot=${mroot%/}
if [ -n "${KMODROOT:-}" ] && [ -d "$mroot/lib/modules/$krel/kernel" ]; then
	# 9p and virtio_pci: run.sh --host-root's mount.
	for m in veth tcp_diag inet_diag 9p 9pnet_virtio virtio_pci; do
		modprobe -d "${mroot:-/}" -S "$krel" --show-depends "$m" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' |
			while read -r ko; do
				dst=$root/lib/modules/$krel/${ko#*/lib/modules/"$krel"/}
				mkdir -p "$(dirname "$dst")"
				cp "$ko" "$dst"
			done
	done
	cp "$mroot/lib/modules/$krel"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$krel/" 2>/dev/null || true
fi
if [ -n "$moddir" ]; then
	for ko in "$moddir"/*.ko "$moddir"/*.ko.xz "$moddir"/*.ko.zst "$moddir"/*.ko.gz; do
		[ -f "$ko" ] || continue
		case $ko in
		*.gz) gzip -dc "$ko" >"$root/lib/modules/$krel/extra/$(basename "$ko" .gz)" ;;
		*) cp "$ko" "$root/lib/modules/$krel/extra/" ;;
		esac
	done
fi
depmod -b "$root" "$krel"

[ -n "$payload" ] && cp -a "$payload"/. "$root/opt/finwait/"
echo 'root:x:0:0:root:/root:/bin/bash' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
install -m 0755 "$here/guest-init" "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
