#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkchroot.sh SUITE: make (once) and print a minimal Debian SUITE chroot in
# the cache, for building modules against kernels whose headers need that
# suite's compiler (sid's 7.x kernels need gcc-16, which Debian 12 has not).
# Made with debootstrap --variant=minbase, plus make, xz and zstd (for
# modules_install of kernels that compress modules), and the suites after
# SUITE (experimental for sid), so that fetch-kernel.sh can install headers
# in it with the chroot's own apt. The host's apt configuration is untouched.
set -euo pipefail

cache=${FINWAIT_CACHE:-/var/cache/finwait_stats}
mirror=${FINWAIT_MIRROR:-http://deb.debian.org}
suite=${1:?usage: mkchroot.sh SUITE}
dir=$cache/chroot-$suite
die() { echo "mkchroot: $suite: $*" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.chroot-$suite.lock"
flock 9
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap missing (make deps)"
echo "mkchroot: making $dir" >&2
rm -rf "$dir"
log=$cache/chroot-$suite.log
debootstrap --variant=minbase --include=make,ca-certificates,xz-utils,zstd \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	"$suite" "$dir" "$mirror/debian" >"$log" 2>&1 ||
	die "debootstrap failed: $(grep -E 'E:|W:' "$log" | tail -1) (see $log)"
{
	echo "deb $mirror/debian $suite main"
	[ "$suite" = sid ] && echo "deb $mirror/debian experimental main"
} >"$dir/etc/apt/sources.list"
# sid's Release may be past its Valid-Until between two publications.
echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99finwait"
chroot "$dir" apt-get -qq update >>"$log" 2>&1 || die "apt-get update in the chroot failed (see $log)"
touch "$dir/.done"
echo "$dir"
