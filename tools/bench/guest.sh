#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of make bench (tools/bench/bench.sh boots it). Prints
# "key value..." lines for the host to tabulate; "FAIL: ..." on a broken
# expectation (and exit 1).
#
#   guest.sh ROUNDS SECONDS SCALE PAIRS PARTS
#
#   churn    ROUNDS rounds of none / floor / finwait, SECONDS each, PAIRS
#            client/server pairs
#   scale    SCALE connections held in FIN-WAIT-2: current exact, invariant,
#            read cost with SCALE and with none tracked, slab memory
#   bound    max_tracked=1000 and 3000 connections: untracked exactly 2000
# PARTS names the parts to run ("churn", "scale bound", ...).
set -u
rounds=$1 secs=$2 scale=$3 pairs=$4 parts=" $5 "
cd /opt/finwait
C=./fw_churn
PROC=/proc/net/finwait_stats
HOOKS=/sys/kernel/debug/tracing/enabled_functions
rc=0
# stat_of, invariant_ok, wait_until: the selftests' lib.sh.
. ./lib.sh
fail() { echo "FAIL: $*"; rc=1; }
hooked() { awk '{ print $1 }' $HOOKS | sort | paste -sd, -; }

# hold N PORT: N stopped peers (fw_churn hold, pid in $hpid); returns once
# the module has seen N entries (the last FINs' ACKs may still be on their
# way; up to 30 s) with the stats in $s.
entered_at_least() { s=$(cat $PROC); [ "$(stat_of "$s" entered)" -ge "$1" ]; }
hold() {
	$C hold "$1" "$2" >/tmp/hold &
	hpid=$!
	until grep -q held /tmp/hold || ! kill -0 $hpid 2>/dev/null; do sleep 1; done
	wait_until 30 entered_at_least "$1"
	s=$(cat $PROC)
}

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
part() { [[ $parts == *" $1 "* ]]; }
part churn && $C churn 65 "$pairs" 6000 | sed 's/^/warmup /'
part churn && for r in $(seq "$rounds"); do
	for c in none floor finwait; do
		case $c in
		floor) modprobe fw_floor symbols="$syms" ;;
		finwait) modprobe finwait_stats ;;
		esac
		line=$($C churn "$secs" "$pairs" 6000)
		if [ $c = finwait ]; then
			s=$(cat $PROC)
			n=$(awk '{ print $2 }' <<<"$line")
			invariant_ok "$s" || fail "round $r: invariant broken"
			[ "$(stat_of "$s" left_peer_fin)" -ge $((n * 99 / 100)) ] ||
				fail "round $r: $n connections, left_peer_fin $(stat_of "$s" left_peer_fin)"
			[ "$(stat_of "$s" probe_missed)" -eq 0 ] ||
				fail "round $r: probe_missed $(stat_of "$s" probe_missed)"
		fi
		case $c in
		floor) modprobe -r fw_floor ;;
		finwait) modprobe -r finwait_stats ;;
		esac
		echo "round $r $c $line"
	done
done

if part scale; then
	# 2. Scale: SCALE stopped peers at once (tcp_fin_timeout 600 s: the
	# orphans stay full sockets in FIN-WAIT-2 for 540 s, then timewait).
	sysctl -qw net.ipv4.tcp_fin_timeout=600
	# The pool must hold them all (the host netns may use all of it).
	modprobe finwait_stats max_tracked=$(( scale > 65536 ? 131072 : 65536 ))
	echo "read_empty $($C read 2000 $PROC)"
	t0=$(date +%s)
	hold "$scale" 7000
	echo "hold_seconds $(( $(date +%s) - t0 ))"
	echo "scale current $(stat_of "$s" current) entered $(stat_of "$s" entered) untracked $(stat_of "$s" untracked) timewait $(stat_of "$s" current_timewait) probe_missed $(stat_of "$s" probe_missed) fin_wait_2 $(ss -Htan state fin-wait-2 | wc -l)"
	[ "$(stat_of "$s" current)" -eq "$scale" ] || fail "current $(stat_of "$s" current), not $scale"
	invariant_ok "$s" || fail "scale: invariant broken"
	echo "read_full $($C read 2000 $PROC)"
	# The module's memory: the record pool and the table, both vmalloc'd at
	# load (module/track.c fw_track_init), whatever the number tracked.
	mt=$(cat /sys/module/finwait_stats/parameters/max_tracked)
	echo "vmalloc $(awk '/fw_track_init/ { n++; b += $2 } END { print b + 0, n + 0 }' /proc/vmallocinfo) max_tracked $mt"
	kill $hpid
	wait $hpid
	modprobe -r finwait_stats
fi

if part bound; then
	# 3. The bound: max_tracked=1000, 3000 stopped peers.
	modprobe finwait_stats max_tracked=1000
	hold 3000 7100
	echo "bound current $(stat_of "$s" current) untracked $(stat_of "$s" untracked) entered $(stat_of "$s" entered)"
	[ "$(stat_of "$s" current)" -eq 1000 ] && [ "$(stat_of "$s" untracked)" -eq 2000 ] &&
		[ "$(stat_of "$s" entered)" -eq 3000 ] && invariant_ok "$s" ||
		fail "bound: current/untracked/entered not 1000/2000/3000"
	kill $hpid
	wait $hpid
	modprobe -r finwait_stats
fi
exit $rc
