#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-insn: where finwait_stats's cost goes, in guest instructions
# per connection, function by function.
#
# A short boot finds where sys_syncfs() starts in the distro kernel booted
# with nokaslr (the same address in every such boot); then three
# instruction-counted boots (1 vCPU, -icount, nokaslr), one per
# configuration: none, floor (fw_floor on the functions finwait_stats
# hooks, and its tracepoints), finwait. In each, the churn of make bench
# (one client/server pair, BENCH_INSN_SECONDS guest seconds, default 20)
# runs between two syncfs(2) calls, and the qemu plugin tools/bench/insn/
# fw_insn.c counts the instructions executed at each address between them.
# Each address is given to the function /proc/kallsyms places it in (or to
# user space, or to an ftrace trampoline), and divided by the connections
# made. Prints the instructions per connection of each configuration, and
# the functions whose count differs from none's; writes them, with date and
# machine, to tools/bench/INSN.md.
#
# Unlike the rates of make bench (medians of rounds), this counts one run
# per configuration, by translation block (a block left part-way, by a
# fault or an I/O recompile, counts whole: rare, and alike in every run):
# the module's own functions and the trampolines cost the same in every
# run; the rest of the kernel moves by a few tens of instructions per
# connection from run to run (which slab refills, timers and port choices
# a run meets), shown as its own line.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${BENCH_INSN_SECONDS:-20}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "bench-insn: BENCH_INSN_SECONDS=$secs: not a number of seconds" >&2; exit 2; }
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
out=$top/build/insn
results=$top/tools/bench/INSN.md

# shellcheck source=tools/vm/kernels.sh
. "$top/tools/vm/kernels.sh"
fw_kernel distro
# shellcheck source=tools/bench/common.sh
. "$top/tools/bench/common.sh"
echo "bench-insn: building finwait_stats, fw_floor and the plugin for $KREL"
fw_bench_build "$top" "$out"
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -o "$out/fw_insn.so" \
	"$top/tools/bench/insn/fw_insn.c" -lpthread

# The guest's half: one configuration, the churn between two syncfs(2)
# calls, then the text symbols of the kernel and its modules.
cat >"$out/guest.sh" <<'G'
set -u
cd /opt/finwait
. ./lib.sh
PROC=/proc/net/finwait_stats
HOOKS=/sys/kernel/debug/tracing/enabled_functions
fail() { echo "FAIL: $*"; exit 1; }
hooked() { awk '{ print $1 }' $HOOKS | sort | paste -sd, -; }
[ -z "$(cat $HOOKS)" ] || fail "functions hooked before the run"
# Room for every TIME-WAIT socket of the run, as make bench gives its runs
# (a new netns allows 8,192 here; past them the handoff fails).
ip netns add fwi && ip -n fwi link set lo up &&
	ip netns exec fwi sysctl -qw net.ipv4.tcp_max_tw_buckets=4000000 \
		net.core.somaxconn=4096 net.ipv4.ip_local_port_range="10000 65535" || fail "netns"
case $cfg in
none) ;;
floor)
	modprobe finwait_stats || fail "modprobe finwait_stats"
	syms=$(hooked)
	modprobe -r finwait_stats || fail "modprobe -r finwait_stats"
	modprobe fw_floor symbols="$syms" tracepoints=1 || fail "modprobe fw_floor"
	[ "$(hooked)" = "$syms" ] || fail "fw_floor hooks $(hooked), finwait_stats $syms" ;;
finwait) modprobe finwait_stats || fail "modprobe finwait_stats" ;;
esac
# A warm-up on another port, outside the window (and out of the counts).
ip netns exec fwi ./fw_churn churn 1 1 6001 >/dev/null || fail "warm-up"
[ "$cfg" != finwait ] || echo reset | ip netns exec fwi tee $PROC >/dev/null || fail "reset"
# syncfs(2), which nothing else here calls (the guest's init calls sync(2)).
sync -f /opt/finwait || fail "syncfs"
line=$(ip netns exec fwi ./fw_churn churn "$secs" 1 6000) || fail "churn"
sync -f /opt/finwait || fail "syncfs"
echo "churn $line"
if [ "$cfg" = finwait ]; then
	s=$(ip netns exec fwi cat $PROC)
	n=$(awk '{ print $2 }' <<<"$line")
	invariant_ok "$s" || fail "invariant broken"
	[ "$(stat_of "$s" left_peer_fin)" -ge $((n * 99 / 100)) ] ||
		fail "$n connections, left_peer_fin $(stat_of "$s" left_peer_fin)"
	[ "$(stat_of "$s" probe_missed)" -eq 0 ] || fail "probe_missed $(stat_of "$s" probe_missed)"
fi
# Before anything is unloaded: the modules' and trampolines' addresses.
echo KSYMS
awk '$2 ~ /^[tTwW]$/ { print $1, $3, $4 }' /proc/kallsyms
echo KSYMS_END
if [ "$cfg" = floor ]; then
	# The path taken, by the floor's own count (warm-up included): 17
	# calls a connection through the timewait handoff.
	dmesg -c >/dev/null
	modprobe -r fw_floor || fail "modprobe -r fw_floor"
	calls=$(dmesg | sed -n 's/.*fw_floor: \([0-9]*\) calls$/\1/p')
	n=$(awk '{ print $2 }' <<<"$line")
	[ "$(( ${calls:-0} * 10 / n ))" -ge 165 ] || fail "${calls:-no} hook calls for $n connections: not the timewait handoff"
fi
G

t0=$(date +%s)
# The window's trigger: where sys_syncfs() starts, the same in every boot of
# this kernel with nokaslr. A short boot finds it.
cat >"$out/find.sh" <<'G'
awk '$3 == "__x64_sys_syncfs" { print "trigger", $1 }' /proc/kallsyms
G
"$top/tools/vm/run.sh" --kernel distro --append nokaslr "$out/find.sh" >"$out/find.out" 2>&1 ||
	{ echo "bench-insn: the guest that looks for sys_syncfs failed" >&2; tail -5 "$out/find.out" >&2; exit 1; }
trigger=$(tr -d '\r' <"$out/find.out" | awk '$1 == "trigger" { print $2; exit }')
[ -n "$trigger" ] || { echo "bench-insn: no __x64_sys_syncfs in the guest's kallsyms" >&2; exit 1; }
for cfg in none floor finwait; do
	echo "bench-insn: $cfg, $secs guest s of churn"
	{ echo "cfg=$cfg secs=$secs"; cat "$out/guest.sh"; } >"$out/$cfg.sh"
	rc=0
	FINWAIT_QEMU_PLUGIN="$out/fw_insn.so,out=$out/$cfg.blocks,trigger=$trigger" \
		"$top/tools/vm/run.sh" --kernel distro --modules "$out/mod" --payload "$out/payload" \
		--smp 1 --icount 3 --mem 2048 --append "slab_nomerge nokaslr" --timeout 1800 \
		"$out/$cfg.sh" >"$out/$cfg.out" 2>&1 || rc=$?
	tr -d '\r' <"$out/$cfg.out" >"$out/$cfg.txt"
	if [ $rc -ne 0 ] || grep -q '^FAIL' "$out/$cfg.txt"; then
		echo "bench-insn: the $cfg guest failed ($rc):" >&2
		grep -E '^FAIL|run.sh' "$out/$cfg.txt" >&2 || tail -20 "$out/$cfg.txt" >&2
		exit 1
	fi
	grep -qx 'marks 2' "$out/$cfg.blocks" 2>/dev/null ||
		{ echo "bench-insn: $cfg: the window did not open and close once ($(tail -1 "$out/$cfg.blocks" 2>&1))" >&2; exit 1; }
done
wall=$(( $(date +%s) - t0 ))

python3 - "$out" "$rev" "$KREL" "$wall" "$secs" >"$out/report.md" <<'PY'
import bisect, collections, re, sys, time
out, rev, krel, wall, secs = sys.argv[1:]

def load(cfg):
    txt = open(f'{out}/{cfg}.txt').read()
    conns = int(re.search(r'^churn connections (\d+)', txt, re.M).group(1))
    syms = []
    for l in re.search(r'^KSYMS\n(.*?)^KSYMS_END', txt, re.S | re.M).group(1).splitlines():
        p = l.split()
        if len(p) >= 2:
            name = p[1] + (' ' + p[2] if len(p) > 2 and p[2] != '[__builtin__ftrace]' else '')
            syms.append((int(p[0], 16), name))
    syms.sort()
    addrs = [a for a, _ in syms]
    per = collections.Counter()
    for l in open(f'{out}/{cfg}.blocks'):
        p = l.split()
        if p[0] == 'marks':
            continue
        a, n, c = int(p[0], 16), int(p[1]), int(p[2])
        if a < 0xffff800000000000:
            name = '(user space)'
        else:
            i = bisect.bisect_right(addrs, a) - 1
            name = syms[i][1] if i >= 0 else '(unknown)'
        per[name] += n * c
    return conns, {k: v / conns for k, v in per.items()}

cfgs = ['none', 'floor', 'finwait']
data = {c: load(c) for c in cfgs}
tot = {c: sum(data[c][1].values()) for c in cfgs}
print(f'# make bench-insn: instructions per connection\n')
print(f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, finwait_stats {rev}.')
print(f'Guest: Debian {krel}, 1 vCPU, qemu -icount shift=3, nokaslr; {secs} guest s of')
print(f'churn per configuration (make bench\'s, one pair), counted between two syncfs(2)')
print(f'calls by tools/bench/insn/fw_insn.c; wall time {wall} s.\n')
print('| config | connections | instructions per connection | over none | of none\'s rate |')
print('|---|---|---|---|---|')
for c in cfgs:
    print(f'| {c} | {data[c][0]} | {tot[c]:,.0f} | {tot[c] - tot["none"]:+,.0f} | {tot["none"] / tot[c]:.4f} |')
print()
for c in ['floor', 'finwait']:
    d = {k: data[c][1].get(k, 0) - data['none'][1].get(k, 0) for k in set(data[c][1]) | set(data['none'][1])}
    mod = {k: v for k, v in d.items() if k.endswith(']') or k == 'ftrace_trampoline'}
    big = {k: v for k, v in d.items() if k not in mod and abs(v) >= 5}
    label = lambda k: k if k.startswith('(') else f'{k} (kernel)'
    rest = sum(v for k, v in d.items() if k not in mod and k not in big)
    print(f'## {c} - none, per connection\n')
    print('| function | instructions |')
    print('|---|---|')
    for k, v in sorted(mod.items(), key=lambda x: -x[1]):
        if abs(v) >= 0.5:
            print(f'| {k} | {v:+.1f} |')
    print(f'| *module code and trampolines* | **{sum(mod.values()):+.1f}** |')
    for k, v in sorted(big.items(), key=lambda x: -abs(x[1])):
        print(f'| {label(k)} | {v:+.1f} |')
    print(f'| the rest, each under 5 | {rest:+.1f} |')
    print(f'| *total* | **{sum(d.values()):+.1f}** |\n')
PY
tee "$results" <"$out/report.md"
echo "bench-insn: written to $results"
