#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: finwait_stats's cost, memory and scale, against two
# baselines in the same boot:
#   none     no module
#   floor    tools/bench/floor/fw_floor.ko: empty ftrace hooks, the same
#            mechanism on exactly the functions finwait_stats hooks
#   finwait  finwait_stats
# and the peers a user would reach for instead, the host's own programs
# (run.sh --host-root; install-deps.sh bench installs them):
#   bpftrace   tools/bench/fin_wait2.bt: FIN-WAIT-2 timestamps on the
#              tracepoint sock:inet_sock_set_state
#   tcpstates  bcc's tcpstates (tcpstates-bpfcc)
# Two boots of the distro kernel under TCG:
#   1. instruction-counted (qemu -icount shift=3,sleep=on), 1 vCPU: the
#      guest's clock counts executed instructions, so a churn rate is the
#      same whatever the host does; the cost ratios come from here.
#      BENCH_ICOUNT_ROUNDS (6) rounds of BENCH_ICOUNT_SECONDS (10) guest s.
#      Then one stopped peer (tcp_fin_timeout 2 s) with the module and both
#      peers watching: the lifetime each reports.
#   2. 2 vCPUs on the host's clock: churn with contention (its rate follows
#      the host's load: reported for scale, not for the ratios), then
#      BENCH_SCALE (100000) connections held at once, and the bound.
#      BENCH_ROUNDS (4) rounds of BENCH_SECONDS (10) s.
# Prints the tables and writes them, with date and machine, to
# tools/bench/RESULTS.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${BENCH_ROUNDS:-4} secs=${BENCH_SECONDS:-10} scale=${BENCH_SCALE:-100000}
irounds=${BENCH_ICOUNT_ROUNDS:-6} isecs=${BENCH_ICOUNT_SECONDS:-10}
# The tree measured, named before RESULTS.md is rewritten (which dirties it).
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
out=$top/build/bench
results=$top/tools/bench/RESULTS.md

"$top/tools/vm/install-deps.sh" bench
# shellcheck source=tools/vm/kernels.sh
. "$top/tools/vm/kernels.sh"
fw_kernel distro
# shellcheck source=tools/bench/common.sh
. "$top/tools/bench/common.sh"
echo "bench: building finwait_stats and fw_floor for $KREL"
fw_bench_build "$top" "$out"
cp "$top/tools/bench/fin_wait2.bt" "$out/payload/"
# guest NAME RUN.SH-OPTIONS... -- GUEST-ARGS: one boot, its output in
# $out/NAME.txt; a failed one stops the bench.
guest() {
	local name=$1 rc=0 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	{ echo "set -- $(printf '%q ' "$@")"; cat "$top/tools/bench/guest.sh"; } >"$out/$name.sh"
	"$top/tools/vm/run.sh" --kernel distro --modules "$out/mod" --payload "$out/payload" \
		"${opts[@]}" "$out/$name.sh" >"$out/$name.out" 2>&1 || rc=$?
	# The guest's serial port ends lines with CR LF.
	tr -d '\r' <"$out/$name.out" >"$out/$name.txt"
	if [ $rc -ne 0 ] || grep -q '^FAIL' "$out/$name.txt"; then
		echo "bench: the $name guest failed ($rc):" >&2
		grep -E '^FAIL|run.sh' "$out/$name.txt" >&2 || tail -30 "$out/$name.txt" >&2
		exit 1
	fi
}

t0=$(date +%s)
icfg=${BENCH_ICOUNT_CONFIGS:-none floor floor_guard floor_regs finwait bpftrace tcpstates}
echo "bench: 1 vCPU, instruction-counted: $irounds rounds x ($icfg) x $isecs guest s, then one stopped peer"
guest icount --smp 1 --icount 3 --mem 2048 --append slab_nomerge --timeout 5400 --host-root -- \
	"$irounds" "$isecs" 0 1 "churn lifetime" "$icfg"
wall_i=$(( $(date +%s) - t0 ))
t0=$(date +%s)
echo "bench: 2 vCPUs: $rounds rounds x 3 configurations x $secs s, then $scale connections held"
guest smp2 --mem 4096 --append slab_nomerge --timeout 3600 -- "$rounds" "$secs" "$scale" 2 "churn scale bound"
wall=$(( $(date +%s) - t0 ))

# table FILE TARGETS: the churn table of one boot, from its lines "round R
# CONFIG connections N seconds S rate X" (configs none, floor, finwait and
# maybe floor_guard, floor_regs and the peers); with TARGETS=yes each round's
# ratios and the targets.
table() {
	awk -v targets="$2" '
	function median(a, n,   i, j, t, c) {
		for (i = 1; i <= n; i++) c[i] = a[i]
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (c[j] < c[i]) { t = c[i]; c[i] = c[j]; c[j] = t }
		return n % 2 ? c[(n + 1) / 2] : (c[n / 2] + c[n / 2 + 1]) / 2
	}
	function lo_(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] < v) v = a[i]; return v }
	function hi_(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] > v) v = a[i]; return v }
	function verdict(v, t) { return v >= t ? "met" : sprintf("MISSED by %.4f", t - v) }
	function pair(num, den) { if ((num in seen) && (den in seen)) { pn[++np] = num; pd[np] = den } }
	# ratio(num, den): per-round ratios of two configs into q[], their count
	function ratio(num, den,   i) {
		for (i = 1; i <= n; i++) q[i] = r[num, i] / r[den, i]
		return n
	}
	$1 == "round" { if (!(($3) in seen)) { seen[$3] = 1; cfg[++nc] = $3 } r[$3, $2] = $9; n = $2 > n ? $2 : n }
	$1 == "calls" && $3 != "" { calls[$2] += $3; conns[$2] += $5 }
	$1 == "seen" { seen_n[$2] += $3; seen_of[$2] += $5 }
	END {
		print "| config      | median/s |    min/s |    max/s |  spread | hook calls per connection |"
		print "|-------------|----------|----------|----------|---------|---------------------------|"
		for (k = 1; k <= nc; k++) {
			for (i = 1; i <= n; i++) a[i] = r[cfg[k], i]
			printf "| %-11s | %8.1f | %8.1f | %8.1f | %5.2f %% | %25s |\n", cfg[k], median(a, n), lo_(a, n),
				hi_(a, n), 100 * (hi_(a, n) - lo_(a, n)) / median(a, n),
				conns[cfg[k]] ? sprintf("%.1f", calls[cfg[k]] / conns[cfg[k]]) : ""
		}
		# the ratios, of the configurations this boot ran
		np = 0
		pair("finwait", "none"); pair("finwait", "floor"); pair("finwait", "floor_guard")
		pair("floor", "none"); pair("floor_guard", "none"); pair("floor_regs", "none")
		pair("bpftrace", "none"); pair("tcpstates", "none")
		if (targets == "yes") {
			printf "\n| round |"
			for (p = 1; p <= np; p++) printf " %s / %s |", pn[p], pd[p]
			printf "\n|-------|"
			for (p = 1; p <= np; p++) printf "---|"
			printf "\n"
			for (i = 1; i <= n; i++) {
				printf "| %5d |", i
				for (p = 1; p <= np; p++) printf " %.4f |", r[pn[p], i] / r[pd[p], i]
				printf "\n"
			}
		}
		printf "\nMedian of the per-round ratios (%d rounds), min and max:\n\n", n
		for (p = 1; p <= np; p++) {
			ratio(pn[p], pd[p])
			printf "- %s / %s: %.4f (%.4f .. %.4f)", pn[p], pd[p], median(q, n), lo_(q, n), hi_(q, n)
			if (targets == "yes" && pn[p] == "finwait" && pd[p] == "none")
				printf "; target >= 0.99: %s", verdict(median(q, n), 0.99)
			if (targets == "yes" && pn[p] == "finwait" && pd[p] == "floor")
				printf "; target >= 0.995: %s", verdict(median(q, n), 0.995)
			printf "\n"
		}
		for (k = 1; k <= nc; k++)
			if (seen_of[cfg[k]])
				printf "- %s: %d of the %d connections seen through FIN-WAIT-2 (%.1f %%)\n", cfg[k],
					seen_n[cfg[k]], seen_of[cfg[k]], 100 * seen_n[cfg[k]] / seen_of[cfg[k]]
	}
	' "$1"
}

kv() { sed -n "s/^$1 //p" "${2:-$out/smp2.txt}"; }
# lifetime KEY: a figure of the stopped-peer run, in ms
lifetime() { kv lifetime "$out/icount.txt" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) printf "%.3f", $(i + 1) / 1000 }'; }
read_empty=$(kv read_empty) read_full=$(kv read_full)
vm=$(kv vmalloc)
vm_bytes=$(echo "$vm" | awk '{ print $1 }') vm_max=$(echo "$vm" | awk '{ print $4 }')
[ "${vm_bytes:-0}" -gt 0 ] || { echo "bench: no module memory measured" >&2; exit 1; }
per_conn=$(( (vm_bytes + scale - 1) / scale ))
{
	echo "# make bench: results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), finwait_stats $(cat "$top/VERSION") ($rev)."
	echo "Guest: Debian $KREL, qemu $(qemu-system-x86_64 --version | head -1 | awk '{ print $4 }') TCG."
	echo "Host: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)."
	echo "Wall time: $wall_i s for the instruction-counted boot, $wall s for the other."
	echo "Hooked with ftrace (both modules): $(kv symbols); and the tracepoints sock:inet_sock_set_state, tcp:tcp_destroy_sock."
	echo
	echo "Every client of the churn passes FIN-WAIT-2 and the timewait handoff and ends"
	echo "by peer_fin (fw_churn: sources spread over 127.0.0.0/8, the client closes first,"
	echo "the server acknowledges its FIN at once, then closes; checked: 17 hook calls a"
	echo "connection, where a FIN-WAIT-2 that ends on the full socket makes 15)."
	echo "Each run churns in a netns of its own, deleted after it; the next run starts"
	echo "once its TIME-WAIT sockets are gone. After one warm-up run, the configurations"
	echo "alternate, each round starting one further down the list. First boot: $icfg."
	echo "Second boot: none floor finwait."
	echo
	echo "- none: no module"
	echo "- floor: fw_floor, the module's mechanism on the same functions with empty"
	echo "  callbacks (arguments only) and empty probes on the tracepoints"
	echo "- floor_guard: the same, each callback taking the recursion guard, as the"
	echo "  module's handlers do but for the two that only write a per-CPU slot"
	echo "- floor_regs: floor with saved registers (FTRACE_OPS_FL_SAVE_REGS)"
	echo "- finwait: finwait_stats"
	echo "- bpftrace: bpftrace $(bpftrace --version 2>/dev/null | awk '{ print $2 }') running tools/bench/fin_wait2.bt, FIN-WAIT-2"
	echo "  timestamps on sock:inet_sock_set_state"
	echo "- tcpstates: bcc $(dpkg-query -W -f='${Version}' bpfcc-tools 2>/dev/null)'s tcpstates-bpfcc, a line per state change,"
	echo "  unbuffered as on a terminal"
	echo
	echo "The peers are the host's own programs, run from its root (read-only over"
	echo "virtio-9p) in a chroot, started before a run and stopped after it; each one's"
	echo "count is what it saw of the run's connections in FIN-WAIT-2 (bpftrace: its"
	echo "map's count; tcpstates: the lines it printed before it was stopped, the rest"
	echo "lost in its perf buffer or not yet read)."
	echo "A rate covers each connection up to its TIME-WAIT socket: a run's TIME-WAIT"
	echo "sockets end with its netns, after the module is unloaded, so their end (timer,"
	echo "kill, destructor: 3 hook calls) is in no run, for every configuration."
	echo
	echo "## 1. Cost: churn in an instruction-counted guest (1 vCPU)"
	echo
	echo "qemu -icount shift=3,sleep=on -smp 1: guest time counts executed instructions,"
	echo "so a rate is connections per 10^9/8 instructions, whatever the host's load."
	echo "1 client/server pair, $isecs guest s per run, $irounds rounds. The targets are on these."
	echo
	table "$out/icount.txt" yes
	echo
	echo "## 2. What each reports for one stopped peer (tcp_fin_timeout 2 s)"
	echo
	echo "A server that never closes; the client closes at once and is orphaned: its"
	echo "socket is handed to a timewait socket in FIN-WAIT-2 right away, which the"
	echo "FIN-WAIT-2 timer ends after tcp_fin_timeout. All three watch the same"
	echo "connection, in the instruction-counted boot."
	echo
	echo "| reporter      | FIN-WAIT-2 lifetime, ms |"
	echo "|---------------|-------------------------|"
	echo "| finwait_stats | $(lifetime finwait_us) |"
	echo "| bpftrace      | $(lifetime bpftrace_us) |"
	echo "| tcpstates     | $(lifetime tcpstates_us) |"
	echo
	echo "Wall clock (guest), from before the connect to the first read of the proc file"
	echo "(polled every 50 ms) that showed the timeout exit: $(kv lifetime "$out/icount.txt" | awk '{ print $NF }') ms."
	echo
	echo "## 3. Churn with 2 vCPUs (host clock)"
	echo
	echo "2 pairs (pair i on vCPU i), $secs s per run, $rounds rounds: hooks on two CPUs at once."
	echo "The guest's clock follows the host's, so rates swing with the host's load"
	echo "(tens of % between rounds): for contention and scale, not for the cost ratios."
	echo
	table "$out/smp2.txt" no
	echo
	echo "## 4. Scale: $scale connections in FIN-WAIT-2 at once (2 vCPUs)"
	echo
	echo "- held in $(kv hold_seconds) s; $(kv scale)"
	echo "- reading /proc/net/finwait_stats (2000 reads): none tracked: $read_empty; $scale tracked: $read_full"
	echo "- module memory (record pool + table, vmalloc'd at load, /proc/vmallocinfo), loaded with max_tracked=$vm_max: $vm_bytes B, $per_conn B per tracked connection at $scale; target <= 64: $([ "$per_conn" -le 64 ] && echo met || echo "MISSED by $(( per_conn - 64 )) B")"
	echo
	echo "## 5. The max_tracked bound"
	echo
	echo "- max_tracked=1000, 3000 stopped peers: $(kv bound)"
} >"$results"
cat "$results"
