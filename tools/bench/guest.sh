#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of make bench (tools/bench/bench.sh boots it). Prints
# "key value..." lines for the host to tabulate; "FAIL: ..." on a broken
# expectation (and exit 1).
#
#   churn    ROUNDS rounds of none / floor / finwait, SECONDS each, 2 pairs
#   scale    SCALE connections held in FIN-WAIT-2: current exact, invariant,
#            read cost with SCALE and with none tracked, slab memory
#   bound    max_tracked=1000 and 3000 connections: untracked exactly 2000
set -u
rounds=$1 secs=$2 scale=$3
cd /opt/finwait
C=./fw_churn
PROC=/proc/net/finwait_stats
HOOKS=/sys/kernel/debug/tracing/enabled_functions
rc=0
fail() { echo "FAIL: $*"; rc=1; }
stat_of() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
invariant() {
	local s=$1
	[ "$(stat_of entered "$s")" -eq $(( $(stat_of current "$s") + $(stat_of completed "$s") + $(stat_of untracked "$s") )) ]
}
hooked() { awk '{ print $1 }' $HOOKS | sort | paste -sd, -; }

# Listeners use ports 6000..7100, below the ephemeral range.
sysctl -qw net.ipv4.tcp_max_tw_buckets=4000000 net.ipv4.tcp_max_orphans=4000000 \
	net.core.somaxconn=4096 net.ipv4.ip_local_port_range="10000 65535"

[ -z "$(cat $HOOKS)" ] || fail "functions hooked before the bench"
modprobe finwait_stats || fail "modprobe finwait_stats"
syms=$(hooked)
modprobe -r finwait_stats
modprobe fw_floor symbols="$syms" || fail "modprobe fw_floor"
[ "$(hooked)" = "$syms" ] || fail "fw_floor hooks $(hooked), finwait_stats $syms"
modprobe -r fw_floor
echo "symbols $syms"

# 1. Churn, configurations alternated round by round, after a warm-up:
# TIME-WAIT sockets pile up for their 60 s and connect() gets slower as
# they do (the rate fell from ~1,600/s to ~930/s over the first minute),
# so the rounds start once that population is steady.
$C churn 65 2 6000 | sed 's/^/warmup /'
for r in $(seq "$rounds"); do
	for c in none floor finwait; do
		case $c in
		floor) modprobe fw_floor symbols="$syms" ;;
		finwait) modprobe finwait_stats ;;
		esac
		line=$($C churn "$secs" 2 6000)
		if [ $c = finwait ]; then
			s=$(cat $PROC)
			n=$(awk '{ print $2 }' <<<"$line")
			invariant "$s" || fail "round $r: invariant broken"
			[ "$(stat_of left_peer_fin "$s")" -ge $((n * 99 / 100)) ] ||
				fail "round $r: $n connections, left_peer_fin $(stat_of left_peer_fin "$s")"
			[ "$(stat_of probe_missed "$s")" -eq 0 ] ||
				fail "round $r: probe_missed $(stat_of probe_missed "$s")"
		fi
		case $c in
		floor) modprobe -r fw_floor ;;
		finwait) modprobe -r finwait_stats ;;
		esac
		echo "round $r $c $line"
	done
done

# 2. Scale: SCALE stopped peers at once (tcp_fin_timeout 600 s: the
# orphans stay full sockets in FIN-WAIT-2 for 540 s, then timewait).
sysctl -qw net.ipv4.tcp_fin_timeout=600
modprobe finwait_stats
echo "read_empty $($C read 2000 $PROC)"
t0=$(date +%s)
$C hold "$scale" 7000 >/tmp/hold &
hpid=$!
until grep -q held /tmp/hold || ! kill -0 $hpid 2>/dev/null; do sleep 1; done
echo "hold_seconds $(( $(date +%s) - t0 ))"
# The last FINs' ACKs may still be on their way: poll (up to 30 s).
for i in $(seq 300); do
	s=$(cat $PROC)
	[ "$(stat_of current "$s")" -ge "$scale" ] && break
	sleep 0.1
done
echo "scale current $(stat_of current "$s") entered $(stat_of entered "$s") untracked $(stat_of untracked "$s") timewait $(stat_of current_timewait "$s") probe_missed $(stat_of probe_missed "$s") fin_wait_2 $(ss -Htan state fin-wait-2 | wc -l)"
[ "$(stat_of current "$s")" -eq "$scale" ] || fail "current $(stat_of current "$s"), not $scale"
invariant "$s" || fail "scale: invariant broken"
echo "read_full $($C read 2000 $PROC)"
sl=/sys/kernel/slab/finwait_stats_conn
echo "slab object_size $(cat $sl/object_size) slab_size $(cat $sl/slab_size) objects $(cat $sl/objects | cut -d' ' -f1) slabs $(cat $sl/slabs | cut -d' ' -f1) order $(cat $sl/order)"
grep '^finwait_stats_conn ' /proc/slabinfo | sed 's/^/slabinfo /'
# The record table: 2^bits hlist heads, bits = max(ilog2(max_tracked) - 1,
# 10) (module/track.c fw_track_init), fixed at load.
mt=$(cat /sys/module/finwait_stats/parameters/max_tracked)
b=0
while [ $((1 << (b + 1))) -le "$mt" ]; do b=$((b + 1)); done
[ $((b - 1)) -gt 10 ] && b=$((b - 1)) || b=10
echo "table_bytes $((8 << b)) max_tracked $mt"
kill $hpid
wait $hpid
modprobe -r finwait_stats

# 3. The bound: max_tracked=1000, 3000 stopped peers.
modprobe finwait_stats max_tracked=1000
$C hold 3000 7100 >/tmp/hold &
hpid=$!
until grep -q held /tmp/hold || ! kill -0 $hpid 2>/dev/null; do sleep 1; done
for i in $(seq 300); do
	s=$(cat $PROC)
	[ "$(stat_of entered "$s")" -ge 3000 ] && break
	sleep 0.1
done
echo "bound current $(stat_of current "$s") untracked $(stat_of untracked "$s") entered $(stat_of entered "$s")"
[ "$(stat_of current "$s")" -eq 1000 ] && [ "$(stat_of untracked "$s")" -eq 2000 ] &&
	[ "$(stat_of entered "$s")" -eq 3000 ] && invariant "$s" ||
	fail "bound: current/untracked/entered not 1000/2000/3000"
kill $hpid
wait $hpid
modprobe -r finwait_stats
exit $rc
