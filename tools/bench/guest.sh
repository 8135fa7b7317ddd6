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
#                          its tracepoints, arguments only where it can,
#                          empty callbacks
#              floor_guard the same, each callback taking the recursion
#                          guard, as most of finwait_stats's handlers do
#              floor_regs  floor with saved registers (SAVE_REGS)
#              finwait     finwait_stats
#              bpftrace    tools/bench/fin_wait2.bt under the host's bpftrace
#              tcpstates   the host's bcc tcpstates (tcpstates-bpfcc)
#            The last two run from the host's root (run.sh --host-root).
#   lifetime one stopped peer with tcp_fin_timeout 2 s: the FIN-WAIT-2
#            lifetime finwait_stats, bpftrace and tcpstates each report
#   scale    SCALE connections held in FIN-WAIT-2: current exact, invariant,
#            read cost with SCALE and with none tracked, the module's memory (vmalloc)
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

# The peers, the host's own programs: its root read-only (run.sh
# --host-root) with this guest's /proc, /sys and /dev, and a /tmp of its own.
H=/mnt/host
peers_setup() {
	modprobe virtio_pci && modprobe 9pnet_virtio && modprobe 9p && mkdir -p $H &&
		mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot $H &&
		mount -t tmpfs tmpfs $H/tmp && mount --rbind /proc $H/proc &&
		mount --rbind /sys $H/sys && mount --rbind /dev $H/dev &&
		cp fin_wait2.bt $H/tmp/ && chroot $H bpftrace --version >/dev/null &&
		chroot $H test -x /usr/sbin/tcpstates-bpfcc
}
# peer_start NAME: start the peer NAME (bpftrace or tcpstates), its output
# in /tmp/NAME.out and its pid in $peer_pid; returns once it watches. bpftrace
# says so itself (fin_wait2.bt's "ready", from a probe attached after the
# tracepoint's). tcpstates prints its header before it reads events: short
# churns in a netns of their own on port 6900, until a line of that port (a
# connection's, or its listener's) is in its output (it compiles its
# program first: up to 600 s in all). A peer
# that does not get there is killed.
peer_start() {
	local ready ns=fwb-sentinel
	case $1 in
	bpftrace)
		chroot $H bpftrace /tmp/fin_wait2.bt >/tmp/$1.out 2>&1 &
		ready='^ready$' ;;
	tcpstates)
		# Unbuffered, as on a terminal: a line per state change.
		chroot $H /usr/bin/env PYTHONUNBUFFERED=1 tcpstates-bpfcc >/tmp/$1.out 2>&1 &
		ready=SKADDR ;;
	esac
	peer_pid=$!
	wait_until 600 eval "grep -q '$ready' /tmp/$1.out || ! kill -0 $peer_pid 2>/dev/null"
	if [ "$1" = tcpstates ] && grep -q "$ready" /tmp/$1.out; then
		ready=' 6900 '
		ip netns add $ns && ip -n $ns link set lo up &&
			wait_until 60 eval "ip netns exec $ns $C churn 0.01 1 6900 >/dev/null;
				grep -q '$ready' /tmp/$1.out || ! kill -0 $peer_pid 2>/dev/null"
		ip netns del $ns
	fi
	grep -q "$ready" /tmp/$1.out && kill -0 $peer_pid 2>/dev/null && return 0
	fail "$1 did not start: $(tail -3 /tmp/$1.out | tr '\n' ' ')"
	kill -KILL $peer_pid 2>/dev/null
	wait $peer_pid
	return 1
}
# peer_stop NAME [PORT]: stop $peer_pid, and what NAME saw: $peer_n
# connections through FIN-WAIT-2 (tcpstates: lines printed, to PORT if
# given, else to any port but 6900), $peer_us the lifetime it gave the last
# one (bpftrace: their mean; microseconds). SIGTERM, not SIGINT: bpftrace
# ends on either and prints its maps; tcpstates can miss a SIGINT that
# comes while it prints (bcc's callback swallows the KeyboardInterrupt),
# and its output is unbuffered, so nothing is lost to SIGTERM.
peer_stop() {
	local r rc want=${2:-}
	kill -0 $peer_pid 2>/dev/null || fail "$1 died before it was stopped"
	kill -TERM $peer_pid 2>/dev/null
	if ! wait_until 30 eval "! kill -0 $peer_pid 2>/dev/null"; then
		fail "$1 did not stop on SIGTERM"
		kill -KILL $peer_pid
	fi
	wait $peer_pid
	rc=$?
	case $1 in
	bpftrace)
		[ $rc -eq 0 ] || fail "bpftrace exited $rc"
		# @fin_wait2_us: count N, average A, total T
		r=$(sed -n 's/^@fin_wait2_us: count \([0-9]*\), average \([0-9]*\),.*/\1 \2/p' /tmp/$1.out) ;;
	tcpstates)
		[ $rc -eq 143 ] || fail "tcpstates exited $rc, not by SIGTERM"
		# SKADDR C-PID C-COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS,
		# read from the end (a command name may hold spaces)
		r=$(awk -v want="$want" '$(NF - 3) == "FIN_WAIT2" && $(NF - 2) == "->" &&
			(want == "" ? $(NF - 4) != 6900 : $(NF - 4) == want) { n++; us = $NF * 1000 }
			END { printf "%d %.0f\n", n, us }' /tmp/$1.out) ;;
	esac
	read -r peer_n peer_us <<<"$r"
	peer_n=${peer_n:-0} peer_us=${peer_us:--}
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
# ~9,400 TIME-WAIT sockets a run leaves expire 60 s later, in whichever
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
	floor) modprobe fw_floor symbols="$syms" tracepoints=1 ;;
	floor_guard) modprobe fw_floor symbols="$syms" tracepoints=1 guard=1 ;;
	floor_regs) modprobe fw_floor symbols="$syms" tracepoints=1 save_regs=1 ;;
	finwait) modprobe finwait_stats ;;
	bpftrace | tcpstates) peer_start "$c" ;;
	*) false ;;
	esac || { fail "round $r: cannot set up configuration '$c'"; ip netns del "$ns"; return; }
	line=$(ip netns exec "$ns" $C churn "$3" "$pairs" 6000)
	n=$(awk '{ print $2 }' <<<"$line")
	case $c in
	bpftrace | tcpstates)
		# How many of the connections it saw through FIN-WAIT-2: not
		# all (reported beside the rate), but it must have worked.
		peer_stop "$c"
		echo "seen $c $peer_n of $n"
		[ "$peer_n" -gt 0 ] || fail "round $r: $c saw no FIN-WAIT-2: $(tail -3 /tmp/$c.out | tr '\n' ' ')"
		;;
	esac
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
		# it prints when it goes (the log emptied first: this run's).
		dmesg -c >/dev/null
		modprobe -r fw_floor || fail "round $r: modprobe -r fw_floor"
		calls=$(dmesg | sed -n 's/.*fw_floor: \([0-9]*\) calls$/\1/p')
		[ -n "$calls" ] || fail "round $r: no count from fw_floor"
		# The path taken: 17 calls a connection through the handoff (15
		# when the client's FIN-WAIT-2 ends on its full socket).
		[ "$(( ${calls:-0} * 10 / n ))" -ge 165 ] ||
			fail "round $r: $calls hook calls for $n connections: not the timewait handoff"
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
if part lifetime || [[ " $configs " == *" bpftrace "* || " $configs " == *" tcpstates "* ]]; then
	peers_setup || fail "the host's root, bpftrace or tcpstates-bpfcc (run.sh --host-root)"
fi
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

if part lifetime; then
	# 2. One stopped peer, tcp_fin_timeout 2 s, the module and both peers
	# watching: the FIN-WAIT-2 lifetime each reports for it, and the wall
	# clock from before the connect to the module's timeout exit. (The
	# timer may fire up to a jiffy short of 2 s after the entry.)
	ns=fwb-lifetime
	ip netns add $ns && ip -n $ns link set lo up &&
		ip netns exec $ns sysctl -qw net.ipv4.tcp_fin_timeout=2 || fail "netns $ns"
	modprobe finwait_stats || fail "modprobe finwait_stats"
	# tcpstates first: its sentinel connections before bpftrace counts.
	bt_pid= ts_pid=
	peer_start tcpstates && ts_pid=$peer_pid
	peer_start bpftrace && bt_pid=$peer_pid
	timed_out() { s=$(ip netns exec $ns cat $PROC); [ "$(stat_of "$s" left_timeout)" -ge 1 ]; }
	t0=$(now_ms)
	ip netns exec $ns $C hold 1 7200 >/tmp/hold &
	hpid=$!
	wait_until 30 timed_out || fail "lifetime: no timeout exit in 30 s"
	wall=$(( $(now_ms) - t0 ))
	bt_n=0 bt_us=- peer_n=0 peer_us=-
	if [ -n "$bt_pid" ]; then
		peer_pid=$bt_pid
		peer_stop bpftrace
		bt_n=$peer_n bt_us=$peer_us
	fi
	if [ -n "$ts_pid" ]; then
		peer_pid=$ts_pid
		peer_stop tcpstates 7200
	fi
	kill $hpid
	wait $hpid
	us=$(stat_of "$s" lifetime_sum_us)
	echo "lifetime finwait_us $us bpftrace_us $bt_us tcpstates_us $peer_us wall_ms $wall"
	[ "$(stat_of "$s" completed)" -eq 1 ] && [ "$us" -ge 1990000 ] && [ "$us" -le $((wall * 1000)) ] ||
		fail "lifetime: finwait_stats reports $us us (completed $(stat_of "$s" completed)), not 2 s to the ${wall} ms measured"
	# One connection each: the client's (the server's socket never gets there).
	[ "$bt_n" = 1 ] || fail "lifetime: bpftrace saw $bt_n connections"
	[ "$peer_n" = 1 ] || fail "lifetime: tcpstates saw $peer_n connections"
	modprobe -r finwait_stats || fail "lifetime: modprobe -r finwait_stats"
	ip netns del $ns || fail "lifetime: netns del"
fi

if part scale; then
	# 3. Scale: SCALE stopped peers at once (tcp_fin_timeout 600 s: the
	# orphans stay full sockets in FIN-WAIT-2 for 540 s, then timewait).
	sysctl -qw net.ipv4.tcp_fin_timeout=600
	# A pool of exactly that many (the host netns may use all of it): the
	# memory per tracked connection, the pool included.
	modprobe finwait_stats max_tracked=$scale
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
	vm=$(awk '/fw_track_init/ { n++; b += $2 } END { print b + 0, n + 0 }' /proc/vmallocinfo)
	echo "vmalloc $vm max_tracked $mt"
	# The pool and the table, and for a pool of more than 512 pages the
	# array of its page pointers, which vmalloc allocates under the same
	# caller (__vmalloc_area_node).
	[ "${vm#* }" -ge 2 ] && [ "${vm#* }" -le 3 ] ||
		fail "scale: $vm: not the pool and the table in /proc/vmallocinfo"
	kill $hpid
	wait $hpid
	modprobe -r finwait_stats
fi

if part bound; then
	# 4. The bound: max_tracked=1000, 3000 stopped peers.
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
