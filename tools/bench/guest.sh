#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of make bench (tools/bench/bench.sh boots it). Prints
# "key value..." lines for the host to tabulate; "FAIL: ..." on a broken
# expectation (and exit 1).
#
#   guest.sh ROUNDS SECONDS SCALE PAIRS PARTS [CONFIGS]
#
#   churn    ROUNDS rounds of CONFIGS (default none floor finwait), SECONDS
#            each, PAIRS client/server pairs. Configurations:
#              none        no module
#              floor       fw_floor as finwait_stats hooks: its functions,
#                          the tracepoint, arguments only where it can
#              floor_regs  the same with saved registers (SAVE_REGS)
#              floor_v1    the mechanism before cea7447: tcp_set_state hooked
#                          with ftrace too, saved registers, no tracepoint
#              finwait     finwait_stats
#   scale    SCALE connections held in FIN-WAIT-2: current exact, invariant,
#            read cost with SCALE and with none tracked, slab memory
#   bound    max_tracked=1000 and 3000 connections: untracked exactly 2000
# PARTS names the parts to run ("churn", "scale bound", ...).
set -u
rounds=$1 secs=$2 scale=$3 pairs=$4 parts=" $5 " configs=${6:-none floor finwait}
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

# 1. Churn, configurations alternated round by round, each round starting
# one further down the list. Each run in a fresh netns, deleted after it
# with its module unloaded: every run starts with no TIME-WAIT socket and
# none of them expires during a later run. (In one netns for all runs, the
# ~10,000 TIME-WAIT sockets a run leaves expire 60 s later, in whichever
# run is on then, and connect() slows as they pile up: rates moved by 2-4 %
# with the run's place in the round, as much as the costs measured.) So a
# rate covers a connection up to its TIME-WAIT socket, not that socket's
# end 60 s later (tw_timer_handler, inet_twsk_kill, tcp_twsk_destructor
# and the module's work there are outside every run).
# tw_live: TIME-WAIT sockets anywhere (slab_nomerge keeps their cache apart),
# as the slab counts them: objects of slabs a CPU holds count as active, so
# about a hundred stay after all are gone.
tw_live() { awk '$1 ~ /^tw_sock_TCP/ { n += $2 } END { print n + 0 }' /proc/slabinfo; }
# run R CONFIG SECONDS: one run; prints "round R CONFIG connections N ...".
run() {
	local r=$1 c=$2 ns=fwb-$1-$2 line s n calls
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_max_tw_buckets=4000000 \
			net.core.somaxconn=4096 net.ipv4.ip_local_port_range="10000 65535" ||
		{ fail "netns $ns"; return; }
	case $c in
	none | warmup) true ;;
	floor) modprobe fw_floor symbols="$syms" set_state_tp=1 ;;
	floor_regs) modprobe fw_floor symbols="$syms" set_state_tp=1 save_regs=1 ;;
	floor_v1) modprobe fw_floor symbols="$syms,tcp_set_state" save_regs=1 ;;
	finwait) modprobe finwait_stats ;;
	*) false ;;
	esac || { fail "round $r: cannot set up configuration '$c'"; ip netns del "$ns"; return; }
	line=$(ip netns exec "$ns" $C churn "$3" "$pairs" 6000)
	n=$(awk '{ print $2 }' <<<"$line")
	if [ "$c" = finwait ]; then
		s=$(ip netns exec "$ns" cat $PROC)
		invariant_ok "$s" || fail "round $r: invariant broken"
		[ "$(stat_of "$s" left_peer_fin)" -ge $((n * 99 / 100)) ] ||
			fail "round $r: $n connections, left_peer_fin $(stat_of "$s" left_peer_fin)"
		[ "$(stat_of "$s" probe_missed)" -eq 0 ] ||
			fail "round $r: probe_missed $(stat_of "$s" probe_missed)"
	fi
	case $c in
	floor*)
		# Hook calls per connection, from the floor's own count, which
		# it prints when it goes.
		modprobe -r fw_floor || fail "round $r: modprobe -r fw_floor"
		calls=$(dmesg | sed -n 's/.*fw_floor: \([0-9]*\) calls$/\1/p' | tail -1)
		[ "$calls" != "${last_calls:-}" ] || fail "round $r: no new count from fw_floor"
		last_calls=$calls
		echo "calls $c $calls per $n connections"
		;;
	finwait) modprobe -r finwait_stats || fail "round $r: modprobe -r finwait_stats" ;;
	esac
	ip netns del "$ns"
	# Its TIME-WAIT sockets go with it, before the next run starts.
	wait_until 120 eval '[ "$(tw_live)" -lt 1000 ]' || fail "round $r: $(tw_live) TIME-WAIT sockets left"
	echo "round $r $c $line"
}

part() { [[ $parts == *" $1 "* ]]; }
if part churn; then
	# In this shell (a failure must count): its lines marked as the warm-up's.
	run 0 warmup "$secs" >/tmp/warmup
	sed '/^FAIL/!s/^/warmup /' /tmp/warmup
	read -ra cfgs <<<"$configs"
	for r in $(seq "$rounds"); do
		for i in "${!cfgs[@]}"; do
			run "$r" "${cfgs[(i + r - 1) % ${#cfgs[@]}]}" "$secs"
		done
	done
fi

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
