#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: finwait_stats's cost, memory and scale in the distro-kernel
# guest (2 vCPUs, TCG), against two baselines in the same boot:
#   none     no module
#   floor    tools/bench/floor/fw_floor.ko: empty ftrace hooks, the same
#            mechanism on exactly the functions finwait_stats hooks
#   finwait  finwait_stats
# Prints a table and writes it, with date and machine, to
# tools/bench/RESULTS.md. BENCH_ROUNDS (10), BENCH_SECONDS (10) and
# BENCH_SCALE (100000) change the run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${BENCH_ROUNDS:-10} secs=${BENCH_SECONDS:-10} scale=${BENCH_SCALE:-100000}
out=$top/build/bench
results=$top/tools/bench/RESULTS.md

"$top/tools/vm/install-deps.sh"
# shellcheck source=tools/vm/kernels.sh
. "$top/tools/vm/kernels.sh"
fw_kernel distro
rm -rf "$out" && mkdir -p "$out/mod" "$out/floor" "$out/payload"
cp -a "$top/Kbuild" "$top/VERSION" "$top/module" "$out/mod/"
cp -a "$top/tools/bench/floor/." "$out/floor/"
echo "bench: building finwait_stats and fw_floor for $KREL"
make -s -C "$KDIR" M="$out/mod" modules >"$out/build.log" 2>&1
make -s -C "$KDIR" M="$out/floor" modules >>"$out/build.log" 2>&1
cp "$out/floor/fw_floor.ko" "$out/mod/"
gcc -O2 -Wall -Wextra -Werror -o "$out/payload/fw_churn" "$top/tools/bench/fw_churn.c"
cp "$top/selftests/lib.sh" "$out/payload/"
{ echo "set -- $rounds $secs $scale"; cat "$top/tools/bench/guest.sh"; } >"$out/guest.sh"

echo "bench: $rounds rounds x 3 configurations x $secs s, then $scale connections held"
t0=$(date +%s)
rc=0
"$top/tools/vm/run.sh" --kernel distro --modules "$out/mod" --payload "$out/payload" \
	--mem 4096 --append slab_nomerge --timeout 3600 "$out/guest.sh" >"$out/guest.out" 2>&1 || rc=$?
wall=$(( $(date +%s) - t0 ))
# The guest's serial port ends lines with CR LF.
tr -d '\r' <"$out/guest.out" >"$out/guest.txt"
if [ $rc -ne 0 ] || grep -q '^FAIL' "$out/guest.out"; then
	echo "bench: the guest run failed ($rc):" >&2
	grep -E '^FAIL|run.sh' "$out/guest.out" >&2 || tail -30 "$out/guest.out" >&2
	exit 1
fi

# The table, from the guest's "round R CONFIG connections N seconds S rate X".
table() {
	awk '
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function stats(name, a, n,   i, c) {
		for (i = 1; i <= n; i++) c[i] = a[i]
		printf "| %-8s | %8.0f | %8.0f | %8.0f |\n", name, median(c, n), lo_(a, n), hi_(a, n)
	}
	$1 == "round" { r[$3, $2] = $9; n = $2 > n ? $2 : n }
	END {
		print "| config   | median/s |    min/s |    max/s |"
		print "|----------|----------|----------|----------|"
		for (i = 1; i <= n; i++) { a[i] = r["none", i]; b[i] = r["floor", i]; c[i] = r["finwait", i] }
		stats("none", a, n); stats("floor", b, n); stats("finwait", c, n)
		for (i = 1; i <= n; i++) { x[i] = c[i] / a[i]; y[i] = c[i] / b[i]; z[i] = b[i] / a[i] }
		printf "\nMedian of the per-round ratios (%d rounds):\n\n", n
		printf "- finwait / none:  %.3f (min %.3f, max %.3f); target >= 0.97\n", median(x, n), lo_(x, n), hi_(x, n)
		printf "- finwait / floor: %.3f (min %.3f, max %.3f); target >= 0.99\n", median(y, n), lo_(y, n), hi_(y, n)
		printf "- floor / none:    %.3f (min %.3f, max %.3f)\n", median(z, n), lo_(z, n), hi_(z, n)
	}
	function lo_(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] < v) v = a[i]; return v }
	function hi_(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] > v) v = a[i]; return v }
	' "$out/guest.txt"
}

kv() { sed -n "s/^$1 //p" "$out/guest.txt"; }
read_empty=$(kv read_empty) read_full=$(kv read_full)
vm=$(kv vmalloc)
vm_bytes=$(echo "$vm" | awk '{ print $1 }') vm_max=$(echo "$vm" | awk '{ print $4 }')
{
	echo "# make bench: results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), finwait_stats $(cat "$top/VERSION") ($(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown))."
	echo "Guest: Debian $KREL, qemu $(qemu-system-x86_64 --version | head -1 | awk '{ print $4 }') TCG single-threaded, 2 vCPUs, 4 GiB, slab_nomerge."
	echo "Host: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r). Whole run: $wall s."
	echo
	echo "## 1. Connection churn over loopback"
	echo
	echo "2 client/server pairs (pair i on vCPU i), $secs s per run, sources spread over 127.0.0.0/8;"
	echo "every client passes FIN-WAIT-2 and the timewait handoff and ends by peer_fin."
	echo "After a 65 s warm-up (TIME-WAIT sockets at their steady number), configurations"
	echo "alternated none, floor, finwait in each of $rounds rounds."
	echo "Hooked functions (both modules): $(kv symbols)."
	echo
	table
	echo
	echo "## 2. Scale: $scale connections in FIN-WAIT-2 at once"
	echo
	echo "- held in $(kv hold_seconds) s; $(kv scale)"
	echo "- reading /proc/net/finwait_stats (2000 reads): none tracked: $read_empty; $scale tracked: $read_full"
	echo "- module memory (record pool + table, vmalloc'd at load for max_tracked $vm_max, /proc/vmallocinfo): $vm_bytes B = $(( vm_bytes / vm_max )) B per record of the pool, $(( vm_bytes / scale )) B per connection at $scale (target <= 64)"
	echo
	echo "## 3. The max_tracked bound"
	echo
	echo "- max_tracked=1000, 3000 stopped peers: $(kv bound)"
} >"$results"
cat "$results"
