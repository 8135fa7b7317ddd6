#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: install what is missing, build everything, run every suite:
#   host     the selftest programs and finwait build with -Werror;
#            finwait's unit and command-line tests; versions agree;
#            checkpatch --strict and sparse on the distro kernel
#   dkms     dkms add/build/install/remove in a private tree for the distro
#            kernel; the distro guest modprobes that DKMS-built module
#   full suites (tools/vm/guests.sh) in three guests:
#            distro   Debian's kernel (linux-image-amd64, or KREL=)
#            debug    6.1 + KASAN, lockdep, kmemleak, KUnit
#            rtdebug  6.12 PREEMPT_RT + lockdep, kmemleak, KUnit
#   smoke    on every kernel of tools/vm/kernels.list (5.10, 6.12, 6.12-rt,
#            7.2, 7.3-rc; fetched from Debian's archive on first use)
# make check KIMAGE=bzImage KDIR=build-tree: the host checks, then the full
# suites on that kernel alone.
# A guest that hangs, or whose kernel log holds a splat, fails its suite.
# Ends with a table of the guests and "N passed, N failed, N skipped".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/check
# shellcheck source=tools/vm/guests.sh
. "$top/tools/vm/guests.sh"
t_start=$(date +%s)
host_setup
fw=$payload/finwait
for t in unit host; do
	if [ $t = unit ]; then
		"$fw/tests/test_stats" "$fw/tests/fixtures" >"$out/finwait.$t.tap" 2>&1
	else
		FW_VERSION=$ver "$fw/tests/host.sh" "$fw/finwait" >"$out/finwait.$t.tap" 2>&1
	fi
	r=$?
	count_tap "$out/finwait.$t.tap" ""
	[ $r -eq 0 ] || failx "finwait $t tests exited $r"
done

if grep -qx "PACKAGE_VERSION=\"$ver\"" "$top/dkms.conf" &&
   grep -q "^finwait_stats $ver" "$top/README.md" &&
   [ "$("$fw/finwait" --version 2>&1)" = "finwait $ver" ]; then
	pass "VERSION, dkms.conf, README and finwait --version agree on $ver"
else
	failx "version $ver not the same in VERSION, dkms.conf, README.md and finwait --version"
fi

# The guests: the full suites where the slow (debug) ones start first, then
# the smoke runs; two at a time (one per CPU), beside the host's checks.
if [ -n "$fw_user_kimage" ]; then
	specs=(custom:full)
elif [ -n "$fw_user_kdir" ]; then
	failx "KDIR=$fw_user_kdir without KIMAGE=: give both to test your own kernel"
	specs=()
else
	specs=(debug:full rtdebug:full "distro:full:$out/dkms")
	for k in $(fw_kernel_names); do
		case $k in distro|debug|rtdebug) ;; *) specs+=("$k:smoke") ;; esac
	done
fi
names=()
for spec in "${specs[@]}"; do names+=("${spec%%:*}"); done
prepare_kernels "${names[@]}"

# The guests start now; the distro one, third in line, waits for the DKMS
# round trip's module (dkms.pending).
rm -rf "$out/dkms" && mkdir -p "$out/dkms" && touch "$out/dkms.pending"
note "guests: ${specs[*]}"
(run_guests "${specs[@]}") &
guests=$!

note "dkms"
if fw_kernel distro 2>"$out/dkms.kernel.log" && "$top/tools/dkms-check.sh" "$KREL" "$out/dkms" >"$out/dkms.log" 2>&1; then
	pass "dkms add/build/install/remove for $KREL"
else
	failx "dkms (see $out/dkms.log)"; cat "$out/dkms.kernel.log"; tail -20 "$out/dkms.log"
fi
rm -f "$out/dkms.pending"

note "test bed"
# The test bed's own refusals (an unknown kernel, a suite without the
# package, a chroot that cannot be made, a kernel that does not boot).
"$vm/tests/badinput.sh" >"$out/badinput.tap" 2>&1
r=$?
count_tap "$out/badinput.tap" ""
[ $r -eq 0 ] || failx "test bed bad-input tests exited $r"

note "style"
if fw_kernel distro; then
	if make -s -C "$top" style >"$out/style.log" 2>&1 && [ ! -s "$out/style.log" ]; then
		pass "checkpatch --strict clean"
	else
		failx "checkpatch --strict"; cat "$out/style.log"
	fi
	# The module, and make bench's floor module.
	rm -rf "$out/sparse" && mkdir -p "$out/sparse"
	cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$out/sparse/"
	cp -a "$top/tools/bench/floor" "$out/sparse/floor"
	if make -C "$KDIR" M="$out/sparse" C=2 CF=-Wsparse-error modules >"$out/sparse.build.log" 2>&1 &&
	   make -C "$KDIR" M="$out/sparse/floor" C=2 CF=-Wsparse-error modules >>"$out/sparse.build.log" 2>&1 &&
	   ! grep -E 'warning|error' "$out/sparse.build.log"; then
		pass "sparse (C=2) clean"
	else
		failx "sparse"; grep -E 'warning|error' "$out/sparse.build.log"
	fi
fi

wait "$guests"
for spec in "${specs[@]}"; do
	IFS=: read -r name mode _ <<<"$spec"
	report "$name" "$mode"
done
table
t=$(($(date +%s) - t_start))
echo
echo "make check took $((t / 60)) min $((t % 60)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
