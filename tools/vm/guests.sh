# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154
# Sourced by tools/check.sh and tools/matrix.sh: build the module for a guest
# kernel, boot the kernel in qemu, run a suite in it, count the results.
# The caller sets top (the work tree) and out (a results directory).
#
# Suites:
#   full   KUnit (kernels built with it), finwait_paths.sh, finwait_harness,
#          finwait's guest tests, finwait_lifecycle.sh
#   smoke  load; stopped peer over IPv4 and IPv6, each lifetime checked
#          against the wall clock; peer FIN; peer RST; unload
#          (finwait_paths.sh stopped_peer peer_fin peer_reset)
# Every guest fails on a kernel splat (run.sh) or a skipped test.

vm=$top/tools/vm
payload=$out/payload
ver=$(cat "$top/VERSION")
passed=0 failed=0 skipped=0
# shellcheck source=tools/vm/kernels.sh
. "$vm/kernels.sh"

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

# build_payload: the selftest programs, finwait (-Werror), the demo script
# and Debian's node_exporter in $payload, which every guest gets in
# /opt/finwait. Logs in $out.
build_payload() {
	rm -rf "$payload" && mkdir -p "$payload"
	cp -a "$top/selftests" "$payload/"
	cp -a "$top/tools/finwait" "$payload/finwait"
	cp "$top/tools/demo-guest.sh" "$payload/"
	# Debian's node_exporter, for the textfile round trip (never installed).
	# Without it that one test fails, saying so; the others still run.
	if ne=$("$vm/fetch-deb.sh" prometheus-node-exporter 2>"$out/node_exporter.log"); then
		cp "$ne/usr/bin/prometheus-node-exporter" "$payload/node_exporter"
	else
		cat "$out/node_exporter.log" >&2
	fi
	make -s -C "$payload/selftests" KSRC="$("$vm/ksrc.sh")" all \
		>"$out/selftests.build.log" 2>&1 || return 1
	make -s -C "$payload/finwait" VERSION="$ver" CFLAGS="-O2 -g -Werror" finwait \
		tests/test_stats >"$out/finwait.build.log" 2>&1
}

# host_setup: an empty results directory, the host's packages, the payload.
host_setup() {
	mkdir -p "$out"
	rm -f "$out"/*.rc "$out"/*.kernel.log "$out/rows"
	note "dependencies"
	if "$vm/install-deps.sh"; then pass "dependencies installed"; else
		failx "dependencies"; echo "0 passed, 1 failed"; exit 1; fi
	note "host"
	if build_payload; then
		pass "selftest programs and finwait build (-Werror)"
	else
		failx "selftest programs or finwait build"
		cat "$out/selftests.build.log" "$out/finwait.build.log"
	fi
}

# guest_script full|smoke CHURN: the script the guest runs. CHURN:
# connections for the churn cases (a KASAN + lockdep guest is ~30 times
# slower than Debian's kernel).
guest_script() {
	echo "export FW_CHURN=$2"
	if [ "$1" = smoke ]; then
		cat <<'GUEST'
set -u
cd /opt/finwait/selftests
ls /lib/modules/$(uname -r)/extra | sed 's/^/# module file: /'
modprobe finwait_stats || { echo "not ok 1 modprobe finwait_stats"; exit 1; }
FW_TESTS="stopped_peer peer_fin peer_reset" FW_FAMILIES="-4 -6" ./finwait_paths.sh
rc=$?
if modprobe -r finwait_stats && ! grep -q '^finwait_stats ' /proc/modules; then
	echo "ok 4 unload"
else
	echo "not ok 4 unload"; rc=1
fi
exit $rc
GUEST
		return
	fi
	cat <<'GUEST'
set -u
if modinfo finwait_stats_kunit >/dev/null 2>&1; then
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

# guest_run NAME MODE [MODDIR]: build the module for kernel NAME (W=1,
# -Werror), boot NAME with the modules of MODDIR (default: that build,
# installed the way the kernel installs modules, compressed if its
# configuration says so), run MODE's suite. Everything lands in $out/NAME.*;
# NAME.rc holds the guest's status, or "kernel" / "build" when it did not
# get that far.
guest_run() {
	local t0
	# A kernel prepare_kernels could not build is reported, not retried.
	[ "$(cat "$out/$1.rc" 2>/dev/null)" = kernel ] && return
	t0=$(date +%s)
	rm -f "$out/$1".{rc,time,kernel,kunit,modfile}
	guest_boot "$@" </dev/null
	echo $(($(date +%s) - t0)) >"$out/$1.time"
}

guest_boot() {
	local name=$1 mode=$2 mods=${3:-} dir=$out/$1 churn=10000 extra=()
	# The version prepare_kernels resolved for this run.
	if ! FINWAIT_NO_REFRESH=1 fw_kernel "$name" 2>"$out/$name.kernel.log"; then
		echo kernel >"$out/$name.rc"
		return
	fi
	echo "$KREL ${KVERSION:--}" >"$out/$name.kernel"
	rm -rf "$dir" "$dir.inst" && mkdir -p "$dir"
	cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$dir/"
	if ! fw_make_module "$dir" W=1 KCFLAGS=-Werror modules >"$dir.build.log" 2>&1; then
		echo build >"$out/$name.rc"
		return
	fi
	# A module made beside the guests (check.sh's DKMS round trip).
	while [ -n "$mods" ] && [ -e "$mods.pending" ]; do sleep 1; done
	if [ -z "$mods" ]; then
		mods=$dir.inst
		if ! fw_install_module "$dir" "$mods" >>"$dir.build.log" 2>&1; then
			echo build >"$out/$name.rc"
			return
		fi
		# Installed as the kernel's configuration says: compressed or not.
		ko=finwait_stats.ko$(sed -n 's/^CONFIG_MODULE_COMPRESS_XZ=y/.xz/p;
			s/^CONFIG_MODULE_COMPRESS_ZSTD=y/.zst/p; s/^CONFIG_MODULE_COMPRESS_GZIP=y/.gz/p' \
			"$KDIR/.config" 2>/dev/null | head -1)
		if [ ! -e "$mods/$ko" ]; then
			echo "not $ko: $(ls "$mods")" >>"$dir.build.log"
			echo build >"$out/$name.rc"
			return
		fi
		echo "$ko" >"$out/$name.modfile"
	fi
	if [ "$mode" = full ] && grep -qs '^CONFIG_KUNIT=y' "$KDIR/.config"; then
		touch "$out/$name.kunit"
	fi
	if grep -qs '^CONFIG_DEBUG_KMEMLEAK=y' "$KDIR/.config"; then
		extra+=(--kmemleak)
		churn=2000
	fi
	guest_script "$mode" "$churn" >"$out/$name.guest.sh"
	# The kernel just resolved, not a newer one published meanwhile.
	FINWAIT_NO_REFRESH=1 "$vm/run.sh" --kernel "$name" --modules "$mods" --payload "$payload" \
		--timeout "$(guest_timeout "$name" "$mode")" --log "$out/$name.console.log" \
		"${extra[@]}" "$out/$name.guest.sh" >"$out/$name.out" 2>&1
	echo $? >"$out/$name.rc"
}

# prepare_kernels NAME...: before any guest runs (the guests measure time),
# build the debug kernels among NAMEs (each once, then cached) and fetch the
# Debian ones (serially: they share apt lists and a chroot), the fetches
# beside the builds. A kernel that fails here gets NAME.rc "kernel" and its
# reason in NAME.kernel.log; guest_run then skips it and report counts it.
prepare_kernels() {
	local k fetch=()
	for k; do
		case $k in
		distro|debug|rtdebug|custom) ;;
		*) fetch+=("$k") ;;
		esac
	done
	(for k in "${fetch[@]}"; do
		"$vm/fetch-kernel.sh" "$k" 2>"$out/$k.kernel.log" >/dev/null ||
			echo kernel >"$out/$k.rc"
	done) &
	for k; do
		case $k in
		debug|rtdebug)
			note "$k kernel (built once, then cached)"
			if fw_kernel "$k" 2>"$out/$k.kernel.log"; then
				echo "$k kernel $KREL"
			else
				echo kernel >"$out/$k.rc"
				cat "$out/$k.kernel.log"
			fi
			;;
		esac
	done
	wait
}

# A guest still running after this many seconds is taken for hung.
guest_timeout() {
	case $1:$2 in
	*:smoke) echo 300 ;;
	# The KASAN guest's full suites took 15 min 45 s here (2026-11-29).
	rtdebug:* | debug:*) echo 1800 ;;
	*) echo 900 ;;
	esac
}

# run_guests SPEC...: guest_run each SPEC (NAME:MODE[:MODDIR]) in the
# order given, FINWAIT_JOBS at a time (default 2, 1 on one CPU: a TCG guest
# keeps one host CPU busy, and more guests at once slow the wall-clock
# tests of each). Run it in a subshell of its own: it waits for all of
# that shell's jobs.
run_guests() {
	local spec n=${FINWAIT_JOBS:-$(( $(nproc) < 2 ? 1 : 2 ))} name mode mods
	for spec; do
		while [ "$(jobs -rp | wc -l)" -ge "$n" ]; do
			wait -n
		done
		IFS=: read -r name mode mods <<<"$spec"
		guest_run "$name" "$mode" "$mods" &
	done
	wait
}

# report NAME MODE: count one guest's results; append a row
# "name release version passed failed skipped seconds" to $out/rows.
report() {
	local name=$1 mode=$2 log=$out/$1.out rc p0=$passed f0=$failed s0=$skipped
	note "$name kernel ($mode)"
	rc=$(cat "$out/$name.rc" 2>/dev/null)
	# What fetching or building the kernel had to say (an offline run's
	# cached version, a compiler that is not the kernel's).
	[ "$rc" = kernel ] || sed 's/^#* */# /' "$out/$name.kernel.log" 2>/dev/null
	case $rc in
	'') failx "$name: no status" ;;
	kernel) failx "$name: $(grep -v '^$' "$out/$name.kernel.log" | tail -1)" ;;
	build) failx "$name: module build ($(cat "$out/$name.kernel" 2>/dev/null))"
		tail -30 "$out/$name.build.log" ;;
	*)
		pass "$name: module builds (W=1, -Werror) for $(cat "$out/$name.kernel")"
		if [ "$(modinfo -F version "$out/$name/finwait_stats.ko")" = "$ver" ]; then
			pass "$name: MODULE_VERSION is $ver"
		else
			failx "$name: MODULE_VERSION is not $ver"
		fi
		[ -e "$out/$name.modfile" ] &&
			pass "$name: modules_install made $(cat "$out/$name.modfile"), as the kernel's config says"
		cat "$log"
		count_tap "$log" ""
		if [ -e "$out/$name.kunit" ]; then
			if grep -q '^kunit: ' "$log"; then
				sed -n 's/^kunit: //p' "$log" >"$log.kunit"
				count_tap "$log.kunit" "    "
			else
				failx "$name: KUnit did not run"
			fi
		fi
		case $rc in
		0) pass "$name: guest run" ;;
		124) failx "$name: guest hung or died (see $out/$name.console.log)" ;;
		125) failx "$name: kernel splat (see $out/$name.console.log)" ;;
		*) failx "$name: guest run exited $rc" ;;
		esac
		if grep -q '# SKIP' "$log"; then
			failx "$name: a test skipped that must run here"
		fi
		;;
	esac
	# shellcheck disable=SC2046
	echo "$name" $(cat "$out/$name.kernel" 2>/dev/null || echo "- -") \
		$((passed - p0)) $((failed - f0)) $((skipped - s0)) \
		"$(cat "$out/$name.time" 2>/dev/null || echo 0)" >>"$out/rows"
}

# table: the rows of this run, for people.
table() {
	echo
	printf '%-9s %-26s %-22s %6s %6s %7s %6s\n' kernel release version passed failed skipped time
	while read -r n r v p f s t; do
		printf '%-9s %-26s %-22s %6s %6s %7s %3dm%02ds\n' "$n" "$r" "$v" "$p" "$f" "$s" $((t / 60)) $((t % 60))
	done <"$out/rows"
}
