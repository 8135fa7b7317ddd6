#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/vm/tests/badinput.sh: the test bed refuses bad input with a line
# naming the kernel and the cause, and changes nothing (TAP). Root; asks
# Debian's archive (a package that does not exist, a suite that does not
# exist); boots nothing but qemu on a file that is not a kernel. Uses a
# cache of its own.
set -uo pipefail
vm=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export FINWAIT_CACHE=$t/cache
n=0 failed=0

# expect NAME PATTERN CMD...: CMD fails, and the last line of its stderr
# (the one a summary shows; before it only progress notes) matches PATTERN
# (an extended regex).
expect() {
	local name=$1 pat=$2 err
	shift 2
	n=$((n + 1))
	if "$@" >"$t/out" 2>"$t/err"; then
		echo "not ok $n $name # succeeded"; failed=$((failed + 1)); return
	fi
	err=$(grep -v '^$' "$t/err" | tail -1)
	if grep -Eq "$pat" <<<"$err"; then
		echo "ok $n $name"
		echo "# $err"
	else
		echo "not ok $n $name"
		sed 's/^/# stderr: /' "$t/err"
		failed=$((failed + 1))
	fi
}

cat >"$t/list" <<'EOF'
# name  build        suites                               abi
gone    host         bookworm-security@debian-security    9\.99\.[0-9]+-amd64
nosuite chroot:nosuchsuite nosuchsuite@debian             7\.2\.[0-9]+\+deb14-amd64
EOF
echo "TAP version 13"
echo "1..11"
expect "unknown kernel name" "fetch-kernel: nosuch: unknown kernel .*deb510" \
	"$vm/fetch-kernel.sh" nosuch
expect "run.sh: unknown kernel name" "unknown kernel 'nosuch' \\(known: distro debug rtdebug deb510" \
	"$vm/run.sh" --kernel nosuch /dev/null
expect "a suite without the package" \
	"fetch-kernel: gone: no package linux-headers-.*9.*in bookworm-security" \
	env FINWAIT_KERNEL_LIST="$t/list" "$vm/fetch-kernel.sh" gone
# A cached version does not stand in for a package the archive no longer
# has (only for an archive that cannot be reached).
mkdir -p "$t/cache/kernels/gone-1.0"
printf 'KVERSION=1.0\nKDIR=/nonexistent\n' >"$t/cache/kernels/gone-1.0/env"
touch "$t/cache/kernels/gone-1.0/.done"
expect "a package gone, with a cached version" \
	"fetch-kernel: gone: no package linux-headers-.*9.*in bookworm-security" \
	env FINWAIT_KERNEL_LIST="$t/list" "$vm/fetch-kernel.sh" gone
rm -rf "$t/cache/kernels/gone-1.0"
# An archive that cannot be reached: without a cached version, a failure
# that says so; with one, that version, and a line saying so.
expect "the archive cannot be reached" "fetch-kernel: gone: apt-get update for .* failed: E: .*(Could not connect|Connection refused)" \
	env FINWAIT_MIRROR=http://127.0.0.1:9 FINWAIT_KERNEL_LIST="$t/list" "$vm/fetch-kernel.sh" gone
mkdir -p "$t/cache/kernels/gone-1.0"
printf 'KVERSION=1.0\nKDIR=/nonexistent\n' >"$t/cache/kernels/gone-1.0/env"
touch "$t/cache/kernels/gone-1.0/.done"
n=$((n + 1))
if got=$(FINWAIT_MIRROR=http://127.0.0.1:9 FINWAIT_KERNEL_LIST="$t/list" "$vm/fetch-kernel.sh" gone 2>"$t/err") &&
   [ "$got" = "$t/cache/kernels/gone-1.0" ] && grep -q "cannot be reached.*using the cached gone-1.0" "$t/err"; then
	echo "ok $n the archive cannot be reached, a cached version: used, and said"
	echo "# $(cat "$t/err")"
else
	echo "not ok $n the archive cannot be reached, a cached version: used, and said"
	sed 's/^/# stderr: /' "$t/err"
	failed=$((failed + 1))
fi
rm -rf "$t/cache/kernels/gone-1.0"
expect "a suite that does not exist" "fetch-kernel: nosuite: apt-get update for nosuchsuite@debian failed" \
	env FINWAIT_KERNEL_LIST="$t/list" "$vm/fetch-kernel.sh" nosuite
expect "a chroot that cannot be made" "mkchroot: nosuchsuite: debootstrap failed" \
	"$vm/mkchroot.sh" nosuchsuite
expect "custom kernel without KIMAGE" "custom: give KIMAGE=" \
	env -u KIMAGE -u KDIR -u FW_USER_KIMAGE -u FW_USER_KDIR "$vm/run.sh" --kernel custom /dev/null
# A kernel tree that has all it needs but an image that is not a kernel:
# qemu refuses it, run.sh says the guest died.
mkdir -p "$t/tree/include/config"
echo 6.99.0-bad >"$t/tree/include/config/kernel.release"
: >"$t/tree/Module.symvers"
# shellcheck source=tools/vm/kernels.sh
. "$vm/kernels.sh"
# shellcheck disable=SC2086
printf 'CONFIG_%s=y\n' $fw_custom_needs >"$t/tree/.config"
echo 'not a kernel' >"$t/bzImage"
echo 'exit 0' >"$t/script"
expect "a kernel that does not boot" "run.sh: the custom guest hung or died" \
	env -u FW_USER_KIMAGE -u FW_USER_KDIR KIMAGE="$t/bzImage" KDIR="$t/tree" \
	sh -c '"$0" --kernel custom --timeout 60 "$1" 2>&1 >/dev/null | grep "hung or died" >&2; exit 1' \
	"$vm/run.sh" "$t/script"
n=$((n + 1))
if compgen -G "$t/cache/kernels/gone-*" >/dev/null || compgen -G "$t/cache/kernels/nosuite-*" >/dev/null; then
	echo "not ok $n refused kernels leave nothing in the cache"; failed=$((failed + 1))
else
	echo "ok $n refused kernels leave nothing in the cache"
fi
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
