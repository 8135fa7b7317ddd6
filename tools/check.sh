#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: install what is missing, build everything, run every suite:
#   host     the selftest programs and finwait build with -Werror;
#            finwait's unit and command-line tests; versions agree
#   distro   module (W=1, -Werror) + selftests in Debian's kernel
#   debug    module + KUnit + selftests in the debug kernel (KASAN, lockdep,
#            kmemleak scan at the end)
#   rtdebug  the same in a PREEMPT_RT debug kernel (6.12)
#   dkms     dkms add/build/install/remove in a private tree for the distro
#            kernel; the distro guest modprobes that DKMS-built module
# A guest that hangs, or whose kernel log holds a splat, fails its suite.
# Ends with "N passed, N failed, N skipped".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
vm=$top/tools/vm
out=$top/build/check
passed=0 failed=0 skipped=0

note() { printf '\n== %s\n' "$*"; }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
failx() { failed=$((failed + 1)); echo "FAIL: $*"; }

# count_tap FILE PREFIX: add a TAP stream's results ("ok", "not ok",
# "# SKIP") whose lines start with PREFIX (indentation for KUnit subtests).
count_tap() {
	local p f s
	p=$(grep -Ec "^$2ok [0-9]+ .*# SKIP" "$1")
	f=$(grep -Ec "^$2not ok [0-9]+" "$1")
	s=$(grep -Ec "^$2ok [0-9]+" "$1")
	s=$((s - p))
	passed=$((passed + s)) failed=$((failed + f)) skipped=$((skipped + p))
	echo "-- $(basename "$1"): $s passed, $f failed, $p skipped"
	grep -E "^$2not ok [0-9]+" "$1" | sed 's/^/FAIL: /'
	grep -E "^$2ok [0-9]+ .*# SKIP" "$1" | sed 's/^/SKIP: /'
}

# build_module NAME KDIR [MAKE ARGS...]: build the module out of the work
# tree for KDIR (W=1, -Werror), log in $out/NAME.build.log.
build_module() {
	local dir=$out/$1 kdir=$2
	shift 2
	rm -rf "$dir" && mkdir -p "$dir"
	cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$dir/"
	make -C "$kdir" M="$dir" W=1 KCFLAGS=-Werror "$@" modules >"$dir.build.log" 2>&1
}

mkdir -p "$out"
note "dependencies"
if "$vm/install-deps.sh"; then pass "dependencies installed"; else
	failx "dependencies"; echo "0 passed, 1 failed"; exit 1; fi

note "host"
payload=$out/payload
rm -rf "$payload" && mkdir -p "$payload"
cp -a "$top/selftests" "$payload/"
if make -s -C "$payload/selftests" KSRC="$("$vm/ksrc.sh")" all >"$out/selftests.build.log" 2>&1; then
	pass "selftest programs build"
else
	failx "selftest programs build"; cat "$out/selftests.build.log"
fi
ver=$(cat "$top/VERSION")

# finwait, the userspace tool: built (-Werror) into the payload, whose
# guests run its scenarios; its unit and command-line tests run here.
fw=$payload/finwait
cp -a "$top/tools/finwait" "$fw"
if make -s -C "$fw" VERSION="$ver" CFLAGS="-O2 -g -Werror" finwait tests/test_stats \
	>"$out/finwait.build.log" 2>&1; then
	pass "finwait builds (-Werror)"
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
else
	failx "finwait build"; cat "$out/finwait.build.log"
fi

if grep -qx "PACKAGE_VERSION=\"$ver\"" "$top/dkms.conf" &&
   grep -q "^finwait_stats $ver" "$top/README.md" &&
   [ "$("$fw/finwait" --version 2>&1)" = "finwait $ver" ]; then
	pass "VERSION, dkms.conf, README and finwait --version agree on $ver"
else
	failx "version $ver not the same in VERSION, dkms.conf, README.md and finwait --version"
fi

# shellcheck source=tools/vm/kernels.sh
. "$vm/kernels.sh"

# The guest script: KUnit (when built), then the selftests. $1: connections
# for the churn case (the KASAN + lockdep guest is ~30 times slower).
guest_script() {
	echo "export FW_CHURN=$1"
	cat <<'GUEST'
set -u
if [ -e /lib/modules/$(uname -r)/extra/finwait_stats_kunit.ko ]; then
	modprobe finwait_stats_kunit
	dmesg | sed -n 's/^\[[^]]*\] //; /KTAP version\|TAP version/,$p' |
		sed 's/^/kunit: /'
	rmmod finwait_stats_kunit
fi
cd /opt/finwait/selftests
modprobe finwait_stats || { echo "not ok 1 modprobe finwait_stats"; exit 1; }
./finwait_paths.sh
rc=$?
./finwait_harness || rc=1
../finwait/tests/guest.sh ../finwait/finwait ./fw_conn || rc=1
modprobe -r finwait_stats
./finwait_lifecycle.sh || rc=1
exit $rc
GUEST
}
# A guest still running after this many seconds is taken for hung. The RT
# debug guest (PREEMPT_RT + KASAN + lockdep) needs about 15 minutes here.
guest_timeout() { [ "$1" = rtdebug ] && echo 2400 || echo 900; }

# guest_run NAME KDIR EXTRA CHURN [MODDIR]: build the module for KDIR (W=1,
# -Werror), boot NAME with the modules of MODDIR (default: that build), run
# the guest script; output in $out/NAME.out, status in NAME.rc.
guest_run() {
	local name=$1 kdir=$2 extra=$3 mods=${5:-$out/$1}
	guest_script "$4" >"$out/$name.guest.sh"
	if ! build_module "$name" "$kdir"; then
		echo build >"$out/$name.rc"
		return
	fi
	# shellcheck disable=SC2086
	"$vm/run.sh" --kernel "$name" --modules "$mods" --payload "$payload" \
		--timeout "$(guest_timeout "$name")" --log "$out/$name.console.log" $extra "$out/$name.guest.sh" \
		>"$out/$name.out" 2>&1
	echo $? >"$out/$name.rc"
}

report() {
	local name=$1 log=$out/$1.out rc
	note "$name kernel"
	rc=$(cat "$out/$name.rc" 2>/dev/null)
	[ -n "$rc" ] || { failx "$name: no status"; return; }
	if [ "$rc" = build ]; then
		failx "$name: module build"; tail -30 "$out/$name.build.log"; return
	fi
	pass "$name: module builds (W=1, -Werror)"
	if [ "$(modinfo -F version "$out/$name/finwait_stats.ko")" = "$ver" ]; then
		pass "$name: MODULE_VERSION is $ver"
	else
		failx "$name: MODULE_VERSION is not $ver"
	fi
	cat "$log"
	count_tap "$log" ""
	if grep -q '^kunit: ' "$log"; then
		sed -n 's/^kunit: //p' "$log" >"$log.kunit"
		count_tap "$log.kunit" "    "
	elif [ "$name" != distro ]; then
		failx "$name: KUnit did not run"
	fi
	case $rc in
	0) pass "$name: guest run" ;;
	124) failx "$name: guest hung or died" ;;
	125) failx "$name: kernel splat (see $out/$name.console.log)" ;;
	*) failx "$name: guest run exited $rc" ;;
	esac
	if grep -q '# SKIP' "$log"; then
		failx "$name: a test skipped that must run here"
	fi
}

# The debug kernels are built first if they are not cached (no guest runs
# then: the tests measure time); the two debug guests, the slow ones, start
# at once, one core each, beside the host checks and the DKMS round trip;
# the distro guest follows the debug one, so that the longest (RT) sets the
# time.
rm -f "$out"/*.rc
declare -A kdirs
for k in debug rtdebug; do
	note "$k kernel (built once, then cached)"
	if fw_kernel $k; then
		pass "$k kernel $KREL"
		kdirs[$k]=$KDIR
	else
		failx "$k kernel build"
		echo nokernel >"$out/$k.rc"
	fi
done
[ -n "${kdirs[rtdebug]:-}" ] && guest_run rtdebug "${kdirs[rtdebug]}" --kmemleak 2000 "" &
debug_pid=
if [ -n "${kdirs[debug]:-}" ]; then
	guest_run debug "${kdirs[debug]}" --kmemleak 2000 "" &
	debug_pid=$!
fi

note "style"
if fw_kernel distro; then
	if make -s -C "$top" style >"$out/style.log" 2>&1 && [ ! -s "$out/style.log" ]; then
		pass "checkpatch --strict clean"
	else
		failx "checkpatch --strict"; cat "$out/style.log"
	fi
	if build_module sparse "$KDIR" C=2 CF=-Wsparse-error &&
	   ! grep -E 'warning|error' "$out/sparse.build.log"; then
		pass "sparse (C=2) clean"
	else
		failx "sparse"; grep -E 'warning|error' "$out/sparse.build.log"
	fi
fi

note "dkms"
rm -rf "$out/dkms" && mkdir -p "$out/dkms"
if fw_kernel distro && "$top/tools/dkms-check.sh" "$KREL" "$out/dkms" >"$out/dkms.log" 2>&1; then
	pass "dkms add/build/install/remove for $KREL"
	distro_kdir=$KDIR
else
	failx "dkms (see $out/dkms.log)"; tail -20 "$out/dkms.log"
	echo nokernel >"$out/distro.rc"
fi

# The distro guest runs once the debug one is done (single-threaded TCG:
# one host core a guest), while the RT one still does.
note "guests"
[ -n "$debug_pid" ] && wait "$debug_pid"
[ -e "$out/distro.rc" ] || guest_run distro "$distro_kdir" "" 10000 "$out/dkms"
wait
for k in distro debug rtdebug; do
	if [ "$(cat "$out/$k.rc" 2>/dev/null)" = nokernel ]; then
		failx "$k guest not run"
	else
		report "$k"
	fi
done

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
