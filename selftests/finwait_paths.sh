#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every FIN-WAIT-2 path the module must follow, each in a network namespace
# of its own, asserting the counts, the exit reason and the lifetime against
# the wall clock (as ss sees the socket leave FIN-WAIT-2).
#
#   netns fw-$$-<case>            lo only
#   +----------------------------------------------+
#   |  fw_conn client ----------> fw_conn "server" |
#   |  127.0.0.1 / ::1 / ::ffff:127.0.0.1 port P   |
#   |  (the server is an accepted socket that is   |
#   |   never closed: a stopped peer)              |
#   +----------------------------------------------+
#
# Run as root with finwait_stats loaded. Exit 0 pass, 1 fail, 4 skip.
# Tolerance: a lifetime must match the observed one within TOL_MS and the
# kernel's expected value within TOL_MS plus the ss polling step.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib.sh
. "$here/lib.sh"
fw_conn=$here/fw_conn
TOL_MS=${TOL_MS:-400}
namespaces=()
declare -A holder	# netns -> pid of a process in it, to read its /proc/PID/net
tests=0 failed=0 skipped=0

[ "$(id -u)" -eq 0 ] || { echo "# SKIP: must run as root"; exit $ksft_skip; }
[ -r $PROC ] || { echo "# SKIP: finwait_stats is not loaded ($PROC missing)"; exit $ksft_skip; }
[ -x "$fw_conn" ] || { echo "# SKIP: $fw_conn not built"; exit $ksft_skip; }
ip netns add fw-probe-$$ 2>/dev/null || { echo "# SKIP: cannot create a netns"; exit $ksft_skip; }
ip netns del fw-probe-$$

cleanup() {
	local ns pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	for ns in "${namespaces[@]}"; do del_ns "$ns"; done
	wait 2>/dev/null
}
trap cleanup EXIT

# setup_ns NAME FIN_TIMEOUT_S: a fresh netns with lo up, and a process
# sleeping in it whose /proc/PID/net is that netns's /proc/net.
setup_ns() {
	ip netns add "$1" || return 1
	namespaces+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_fin_timeout="$2"
	# Not a job of ours: "wait" and "jobs" must not see it.
	holder[$1]=$(ip netns exec "$1" sleep 100000 >/dev/null 2>&1 & echo $!)
	wait_until 5 in_other_netns "${holder[$1]}"
}

# in_other_netns PID: PID has entered a netns other than ours.
in_other_netns() {
	[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

# del_ns NS: delete a netns made by setup_ns (its holder keeps it alive).
del_ns() {
	[ -n "${holder[$1]:-}" ] && kill -KILL "${holder[$1]}" 2>/dev/null
	unset "holder[$1]"
	ip netns del "$1" 2>/dev/null
}

# stats_file NS: the netns's stats file, read without spawning a process
# (the debug guest is slow at that).
stats_file() { echo "/proc/${holder[$1]}/net/finwait_stats"; }

# read_stats NS: the whole stats file in one pass of read() calls. (bash's
# "read" seeks back after each line, and a seek makes seq_file show the
# file anew: lines from different moments.)
read_stats() { local f; f=$(<"$(stats_file "$1")") && echo "$f"; }

# st NS NAME: one value of the netns's stats file.
st() { stat_of "$(read_stats "$1")" "$2"; }

stamp_ms() { awk -v s="$2" '$1 == s { split($2, a, "."); print a[1] * 1000 + int(a[2] / 1000) }' "$1"; }

fw2_count() {
	ip netns exec "$1" ss -Htn state fin-wait-2 "( dport = :$2 )" | wc -l
}
fw2_gone() { [ "$(fw2_count "$1" "$2")" -eq 0 ]; }
fw2_present() { [ "$(fw2_count "$1" "$2")" -gt 0 ]; }
completed_is() { [ "$(st "$1" completed)" -eq "$2" ]; }

fail() { echo "# FAIL: $*"; return 1; }
dump() { read_stats "$1" | head -15 | tr '\n' ' ' | sed 's/^/# /'; echo; }

# check_invariant NS: the invariant on one read of the netns's stats.
check_invariant() { invariant_ok "$(read_stats "$1")"; }

# expect_ms WHAT GOT WANT TOL
expect_ms() {
	local d=$(( $2 - $3 ))
	[ ${d#-} -le "$4" ] || fail "$1: ${2} ms, expected ${3} ± ${4} ms"
}

# one_lifetime NS PORT REASON EXPECT_MS [fw_conn args...]
# Run one connection to its end; the client's FIN-WAIT-2 must end by REASON
# after EXPECT_MS (as ss saw it and as the module recorded it).
one_lifetime() {
	local ns=$1 port=$2 reason=$3 want=$4 out t_close t_gone got
	shift 4
	out=$(mktemp)
	ip netns exec "$ns" "$fw_conn" -p "$port" "$@" >"$out" &
	local pid=$!
	# Generous: a KASAN guest starting many processes at once is slow.
	wait_until 30 grep -q '^close ' "$out" || { cat "$out"; rm -f "$out"; fail "no close"; return 1; }
	# The lifetime starts at shutdown() when the socket was half-closed.
	t_close=$(stamp_ms "$out" shutdown)
	[ -n "$t_close" ] || t_close=$(stamp_ms "$out" close)
	wait_until $(( want / 1000 + 20 )) completed_is "$ns" 1 ||
		{ rm -f "$out"; fail "no completed lifetime"; return 1; }
	t_gone=$(now_ms)
	wait $pid
	rm -f "$out"
	[ "$(st "$ns" entered)" -eq 1 ] || fail "entered $(st "$ns" entered), expected 1" || return 1
	[ "$(st "$ns" current)" -eq 0 ] || fail "current $(st "$ns" current)" || return 1
	[ "$(st "$ns" stale)" -eq 0 ] || fail "stale $(st "$ns" stale)" || return 1
	[ "$(st "$ns" "left_$reason")" -eq 1 ] ||
		{ dump "$ns"; fail "not left_$reason"; return 1; }
	check_invariant "$ns" || return 1
	got=$(( $(st "$ns" lifetime_max_us) / 1000 ))
	echo "# $reason: module ${got} ms, wall clock <= $(( t_gone - t_close )) ms, expected ${want} ms"
	expect_ms "lifetime" "$got" "$want" "$TOL_MS" || return 1
	[ "$got" -le $(( t_gone - t_close + 50 )) ] || fail "longer than the wall clock"
}

# watch_fw2 NS PORT TIMEOUT_S: poll ss until the module has a completed
# lifetime and ss no longer shows the client in FIN-WAIT-2. Sets t_seen (the
# start of the last poll that showed it) and t_end (the end of the poll that
# found both): the connection left in between. (A slow poll can miss the
# socket during the timewait handoff, so an absent socket alone proves
# nothing.)
watch_fw2() {
	local deadline=$(( $(now_ms) + $3 * 1000 )) t
	t_seen=0 t_end=0
	while :; do
		t=$(now_ms)
		if fw2_present "$1" "$2"; then
			t_seen=$t
		elif [ "$t_seen" -gt 0 ] && completed_is "$1" 1; then
			t_end=$(now_ms)
			return 0
		fi
		[ "$t" -lt $deadline ] || { fail "FIN-WAIT-2 not seen, or not left"; return 1; }
		sleep 0.05
	done
}

# expect_between WHAT GOT LOW HIGH (ms)
expect_between() {
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || fail "$1: ${2} ms, not within [$3, $4] ms"
}

run_test() {
	local name=$1 ns=fw-$$-$1 rc t0 n
	shift
	tests=$((tests + 1))
	t0=$(now_ms)
	"$@" "$ns"
	rc=$?
	echo "# $name: $(( $(now_ms) - t0 )) ms"
	# Whatever a test left running (a failed one's server, say) goes now,
	# so that no later "wait" hangs on it.
	{
		for n in $(jobs -p); do kill -KILL "$n"; done
		wait
	} 2>/dev/null
	for n in "${!holder[@]}"; do del_ns "$n"; done
	case $rc in
	0) echo "ok $tests $name" ;;
	"$ksft_skip") echo "ok $tests $name # SKIP"; skipped=$((skipped + 1)) ;;
	*) echo "not ok $tests $name"; failed=$((failed + 1)) ;;
	esac
}

# 1. The seed experiment: the peer never closes, tcp_fin_timeout 3 s.
# FW_FAMILIES: IPv4 (-4), IPv6 (-6), v4-mapped IPv6 (-m); default all three.
t_stopped_peer() {
	local fam
	for fam in ${FW_FAMILIES:--4 -6 -m}; do
		setup_ns "$1$fam" 3 || return 1
		echo "# family $fam"
		one_lifetime "$1$fam" 5001 timeout 3000 $fam connect close sleep 4.5 || return 1
		del_ns "$1$fam"
	done
}

# 2. The peer closes after 1 s.
t_peer_fin() {
	setup_ns "$1" 30 || return 1
	one_lifetime "$1" 5002 peer_fin 1000 connect close sleep 1 peer-close sleep 0.5
}

# 3. The peer resets after 1 s.
t_peer_reset() {
	setup_ns "$1" 30 || return 1
	one_lifetime "$1" 5003 reset 1000 connect close sleep 1 peer-reset sleep 0.5
}

# 4. The peer sends data after our close: our RST.
t_data_after_close() {
	setup_ns "$1" 30 || return 1
	one_lifetime "$1" 5004 abort 1000 connect close sleep 1 peer-send sleep 0.5
}

# 5. TCP_LINGER2 < 0 aborts at once; TCP_LINGER2 = 2 overrides the sysctl.
t_linger2() {
	setup_ns "$1-neg" 30 || return 1
	one_lifetime "$1-neg" 5005 abort 0 connect linger2 -1 close sleep 0.5 || return 1
	setup_ns "$1-pos" 30 || return 1
	one_lifetime "$1-pos" 5006 timeout 2000 connect linger2 2 close sleep 3.5
}

# 6. Half-closed: no timer applies while the socket is held, then close().
t_half_close() {
	local ns=$1 out t_shut t_close
	setup_ns "$ns" 1 || return 1
	out=$(mktemp)
	ip netns exec "$ns" "$fw_conn" -p 5007 connect shutdown sleep 6 close sleep 3 >"$out" &
	wait_until 5 grep -q '^shutdown ' "$out" || { fail "no shutdown"; return 1; }
	t_shut=$(stamp_ms "$out" shutdown)
	# Past twice tcp_fin_timeout after shutdown(), still before close():
	# no timer may have ended it.
	while [ $(( $(now_ms) - t_shut )) -lt 2000 ]; do sleep 0.1; done
	[ "$(st "$ns" current)" -eq 1 ] || fail "current $(st "$ns" current), expected 1" || return 1
	fw2_present "$ns" 5007 || fail "half-closed socket left FIN-WAIT-2" || return 1
	! grep -q '^close ' "$out" || fail "too slow: close() came before the check" || return 1
	wait
	t_close=$(stamp_ms "$out" close)
	rm -f "$out"
	[ "$(st "$ns" entered)" -eq 1 ] || fail "entered $(st "$ns" entered): the second tcp_set_state counted" || return 1
	[ "$(st "$ns" left_timeout)" -eq 1 ] || fail "not a timeout" || return 1
	# Half-closed until close(), then tcp_fin_timeout (1 s).
	expect_ms "lifetime" $(( $(st "$ns" lifetime_max_us) / 1000 )) \
		$(( t_close - t_shut + 1000 )) "$TOL_MS" || return 1
	check_invariant "$ns" || return 1

	# Half-closed, data arrives and is left unread, then close(): abort.
	setup_ns "$ns-unread" 30 || return 1
	one_lifetime "$ns-unread" 5008 abort 1000 connect shutdown peer-send sleep 1 close sleep 0.5
}

# 7. tcp_fin_timeout > 60 s: the kernel keeps the full socket for
# tmo - 60 s, then hands over to a timewait socket for tmo - 60 s again.
t_two_phase() {
	local ns=$1 out t_close got
	setup_ns "$ns" 63 || return 1
	out=$(mktemp)
	ip netns exec "$ns" "$fw_conn" -p 5009 connect close sleep 9 >"$out" &
	watch_fw2 "$ns" 5009 20 || return 1
	t_close=$(stamp_ms "$out" close)
	rm -f "$out"
	wait_until 5 completed_is "$ns" 1 || fail "no completed lifetime" || return 1
	got=$(( $(st "$ns" lifetime_max_us) / 1000 ))
	echo "# fin_timeout 63 s: module ${got} ms, ss: left between $((t_seen - t_close)) and $((t_end - t_close)) ms"
	[ "$(st "$ns" left_timeout)" -eq 1 ] || fail "not a timeout" || return 1
	expect_between "lifetime vs ss" "$got" $((t_seen - t_close - 100)) $((t_end - t_close + 100)) || return 1
	expect_ms "lifetime vs 2 x (63 - 60) s" "$got" 6000 "$TOL_MS" || return 1
	wait
}

# 8. Two netns, different tcp_fin_timeout, at the same time: each sees only
# its own connection and its own sysctl; a new netns starts at zero.
t_netns_isolation() {
	local a=$1-a b=$1-b c=$1-c
	setup_ns "$a" 2 && setup_ns "$b" 4 || return 1
	ip netns exec "$a" "$fw_conn" -p 5010 connect close sleep 3 >/dev/null &
	ip netns exec "$b" "$fw_conn" -p 5010 connect close sleep 5 >/dev/null &
	ip netns exec "$b" "$fw_conn" -p 5011 connect close sleep 5 >/dev/null &
	wait
	wait_until 5 completed_is "$a" 1 && wait_until 5 completed_is "$b" 2 ||
		fail "completed a=$(st "$a" completed) b=$(st "$b" completed)" || return 1
	[ "$(st "$a" fin_timeout_ms)" -eq 2000 ] && [ "$(st "$b" fin_timeout_ms)" -eq 4000 ] ||
		fail "fin_timeout_ms" || return 1
	[ "$(st "$a" entered)" -eq 1 ] && [ "$(st "$b" entered)" -eq 2 ] || fail "entered" || return 1
	expect_ms "a lifetime" $(( $(st "$a" lifetime_max_us) / 1000 )) 2000 "$TOL_MS" || return 1
	expect_ms "b lifetime" $(( $(st "$b" lifetime_min_us) / 1000 )) 4000 "$TOL_MS" || return 1
	setup_ns "$c" 60 || return 1
	[ "$(st "$c" entered)" -eq 0 ] && [ "$(st "$c" completed)" -eq 0 ] || fail "new netns not zero" || return 1
	t_veth "$1"
}

# veth_pair C S CIF SIF NET: a veth pair, CIF in netns C with NET.1/30,
# SIF in netns S with NET.2/30, both up.
veth_pair() {
	ip link add "$3" netns "$1" type veth peer name "$4" netns "$2" || return 1
	ip -n "$1" addr add "$5.1/30" dev "$3"
	ip -n "$2" addr add "$5.2/30" dev "$4"
	ip -n "$1" link set "$3" up
	ip -n "$2" link set "$4" up
}

# Over a veth pair between two netns of ours: the client's FIN-WAIT-2 is
# counted in the client's netns, with the client's tcp_fin_timeout, and
# nothing in the server's.
#
#   fw-$$-netns_isolation-vc            fw-$$-netns_isolation-vs
#   fw_conn dial, close  veth 10.199.0.1 <-> 10.199.0.2  fw_conn listen, accept
#   tcp_fin_timeout 2                                    tcp_fin_timeout 5
t_veth() {
	local c=$1-vc s=$1-vs out
	setup_ns "$c" 2 && setup_ns "$s" 5 || return 1
	veth_pair "$c" "$s" fwv-$$-c fwv-$$-s 10.199.0 || return 1
	out=$(mktemp)
	ip netns exec "$s" "$fw_conn" -p 5020 -a 10.199.0.2 listen accept sleep 6 >"$out" &
	wait_until 5 grep -q '^listen ' "$out" || { rm -f "$out"; fail "no listener"; return 1; }
	ip netns exec "$c" "$fw_conn" -p 5020 -a 10.199.0.2 dial close >/dev/null ||
		{ rm -f "$out"; fail "dial over veth"; return 1; }
	rm -f "$out"
	wait_until 8 completed_is "$c" 1 || fail "no lifetime in the client netns" || return 1
	[ "$(st "$c" left_timeout)" -eq 1 ] || fail "not a timeout" || return 1
	expect_ms "veth lifetime" $(( $(st "$c" lifetime_max_us) / 1000 )) 2000 "$TOL_MS" || return 1
	[ "$(st "$s" entered)" -eq 0 ] || fail "server netns counted $(st "$s" entered)"
}

# 9. Churn from several processes while others read the file: the invariant
# holds at every read and the counts are exact at the end. FW_CHURN
# connections in all (default 10000).
t_churn() {
	local ns=$1 n=$(( ${FW_CHURN:-10000} / 4 )) procs=4 i reads=0 bad=0
	setup_ns "$ns" 30 || return 1
	# Room for every TIME-WAIT socket: the default (half the ehash size)
	# is small on a small guest, and an overflow is rightly "other".
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_max_tw_buckets=262144
	for i in $(seq $procs); do
		ip netns exec "$ns" "$fw_conn" -p $((5100 + i)) churn $n >/dev/null &
	done
	while [ "$(jobs -pr | wc -l)" -gt 0 ]; do
		check_invariant "$ns" || bad=$((bad + 1))
		reads=$((reads + 1))
	done
	wait
	wait_until 10 completed_is "$ns" $((n * procs)) || fail "completed $(st "$ns" completed)" || return 1
	echo "# $((n * procs)) connections, $reads reads during the churn, $bad broken"
	[ $bad -eq 0 ] || fail "invariant broken on $bad reads" || return 1
	[ "$(st "$ns" entered)" -eq $((n * procs)) ] || fail "entered $(st "$ns" entered)" || return 1
	[ "$(st "$ns" left_peer_fin)" -eq $((n * procs)) ] || { dump "$ns"; fail "left_peer_fin"; return 1; }
	[ "$(st "$ns" stale)" -eq 0 ] || fail "stale $(st "$ns" stale)" || return 1
	[ "$(st "$ns" current)" -eq 0 ] || fail "current $(st "$ns" current)"
}

# tcpext NS NAME: the TcpExt counter NAME of netns NS.
tcpext() {
	ip netns exec "$1" awk -v name="$2" '/^TcpExt:/ {
		if (!n) { for (i = 2; i <= NF; i++) if ($i == name) c = i; n = 1 }
		else print $c }' /proc/net/netstat
}

# 10. No room for a timewait socket (tcp_max_tw_buckets = 0): the
# connection is simply gone; counted as other.
t_tw_overflow() {
	setup_ns "$1" 30 || return 1
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
	local i ovf
	# Only when the ACK of our FIN is processed outside close()'s hold on
	# the socket does the orphan go to a timewait socket at once (refused
	# here); from the backlog it waits on its keepalive timer and the
	# peer's FIN at fw_conn's exit ends it (peer_fin: see README, "Known
	# kernel behaviours"). Try until the handoff was taken.
	for i in 1 2 3 4 5 6 7 8; do
		ovf=$(tcpext "$1" TCPTimeWaitOverflow)
		ip netns exec "$1" "$fw_conn" -p $((5010 + i)) connect close sleep 0.5 >/dev/null
		wait_until 5 completed_is "$1" "$i" || fail "no completed lifetime" || return 1
		[ "$(st "$1" left_other)" -eq 1 ] && break
		[ "$(st "$1" left_peer_fin)" -eq "$i" ] ||
			{ dump "$1"; fail "neither other nor peer_fin"; return 1; }
	done
	[ "$(st "$1" left_other)" -eq 1 ] || fail "the timewait handoff was not taken in $i tries" || return 1
	# The kernel's own count: that connection's handoff found no timewait
	# socket.
	ovf=$(( $(tcpext "$1" TCPTimeWaitOverflow) - ovf ))
	[ "$ovf" -eq 1 ] || fail "TCPTimeWaitOverflow rose by $ovf, not 1" || return 1
	echo "# handoff refused (TCPTimeWaitOverflow +1) at try $i ($((i - 1)) before it ended by the peer's FIN)"
	check_invariant "$1"
}

# refused NS ERRNO PATTERN CMD...: CMD, run in NS, must fail and print
# PATTERN (a glob: the error's text).
refused() {
	local ns=$1 errno=$2 pattern=$3 out
	shift 3
	if out=$(ip netns exec "$ns" "$@" 2>&1); then
		fail "accepted: $*"
		return 1
	fi
	# shellcheck disable=SC2053
	[[ $(echo $out) == *$pattern* ]] || { fail "not $errno: $* -> $out"; return 1; }
}

# 11. reset: counters to zero, open connections kept (entered = current);
# garbage and unprivileged writes refused and change nothing.
t_reset() {
	local ns=$1 before after pid
	setup_ns "$ns" 30 || return 1
	ip netns exec "$ns" "$fw_conn" -p 5012 connect close sleep 0.2 peer-close sleep 0.3 >/dev/null
	# Held half-closed until we end it: its exit closes the peer (FIN).
	ip netns exec "$ns" "$fw_conn" -p 5013 connect shutdown sleep 600 >/dev/null &
	pid=$!
	wait_until 5 completed_is "$ns" 1 && wait_until 5 fw2_present "$ns" 5013 || fail "setup" || return 1
	# oldest_age_ms moves on with the clock: the rest must not move.
	before=$(read_stats "$ns" | grep -v '^oldest_age_ms ')
	refused "$ns" EINVAL "Invalid argument" sh -c "echo garbage > $PROC" || return 1
	# "reset\n\n" in one write (busybox printf does not report write errors)
	refused "$ns" EINVAL "Invalid argument" sh -c "echo -e 'reset\\n' > $PROC" || return 1
	# As nobody (no CAP_NET_ADMIN): "id -u" first proves su really switched.
	refused "$ns" EPERM "65534*Operation not permitted" \
		su -s /bin/sh nobody -c "id -u; echo reset > $PROC" || return 1
	after=$(read_stats "$ns" | grep -v '^oldest_age_ms ')
	[ "$before" = "$after" ] || fail "a refused write changed the stats" || return 1
	ip netns exec "$ns" sh -c "echo reset > $PROC" || fail "reset refused" || return 1
	[ "$(st "$ns" entered)" -eq 1 ] && [ "$(st "$ns" current)" -eq 1 ] &&
		[ "$(st "$ns" completed)" -eq 0 ] && [ "$(st "$ns" lifetime_max_us)" -eq 0 ] ||
		{ dump "$ns"; fail "after reset"; return 1; }
	kill "$pid"
	wait
	wait_until 5 completed_is "$ns" 1 || fail "kept connection not counted" || return 1
	[ "$(st "$ns" left_peer_fin)" -eq 1 ] || fail "not peer_fin" || return 1
	check_invariant "$ns"
}

# The two ends of a veth pair between two netns of ours, the client's end
# receiving in a threaded-NAPI kthread: GRO on gives veth a NAPI instance,
# "threaded" moves its poll into napi/<dev>-<id>, and with TSO and GSO off
# on the server's end veth hands each segment to that NAPI (otherwise it
# takes the backlog). Sets cif (client device) and srv (server address).
#
#   fw-$$-<case>-c                          fw-$$-<case>-s
#   fw_conn dial, shutdown, close           fw_conn listen, accept, then
#   fwt<pid>c 10.199.1.1  <-- veth -->      RST or data: fwt<pid>s 10.199.1.2
#   GRO on, threaded NAPI                   TSO/GSO off
# kernel_at_least MAJOR MINOR: the running kernel is that version or newer.
kernel_at_least() {
	local v a b
	v=$(uname -r)
	a=${v%%.*} b=${v#*.}
	b=${b%%[!0-9]*}
	[ "$a" -gt "$1" ] || { [ "$a" -eq "$1" ] && [ "$b" -ge "$2" ]; }
}

veth_threaded() {
	local c=$1 s=$2 sif=fwt$$s
	cif=fwt$$c srv=10.199.1.2
	veth_pair "$c" "$s" $cif $sif 10.199.1 || return 1
	ip netns exec "$s" ethtool -K $sif tso off gso off >/dev/null || fail "ethtool tso/gso" || return 1
	ip netns exec "$c" ethtool -K $cif gro off >/dev/null
	ip netns exec "$c" ethtool -K $cif gro on >/dev/null || fail "ethtool gro" || return 1
	# Threaded NAPI came in 5.12: before, there is no such receive context.
	kernel_at_least 5 12 || return 2
	ip netns exec "$c" sh -c "echo 1 > /sys/class/net/$cif/threaded" || fail "threaded NAPI" || return 1
	# The kthread's name (comm, 15 characters): "napi/<dev>-<id>".
	wait_until 5 grep -qs "^napi/$cif" /proc/[0-9]*/comm || fail "no napi/$cif kthread" || return 1
	echo "# threaded NAPI: $(grep -hs "^napi/$cif" /proc/[0-9]*/comm | head -1)"
}

stat_is() { [ "$(st "$1" "$2")" -eq "$3" ]; }

# napi_runs DEV: how often the threaded-NAPI kthread of DEV was switched
# to (voluntary + involuntary context switches).
napi_runs() {
	local f
	for f in /proc/[0-9]*/comm; do
		case $(<"$f") in
		"napi/$1"*) awk '/ctxt_switches/ { n += $2 } END { print n }' "${f%comm}status"; return ;;
		esac
	done
	echo 0
}

# tw_event C S PORT STEP REASON N [PREFIX...]: a client in C closes a
# connection to a server in S after shutdown(); once the module shows it
# held by a timewait socket (current_timewait 1), the server does STEP
# (peer-reset, peer-send): the lifetime must end by REASON, the Nth in C.
# With $napi set, the client's NAPI kthread must have run meanwhile. The
# server runs under PREFIX (e.g. taskset 1).
tw_event() {
	local c=$1 s=$2 port=$3 step=$4 reason=$5 n=$6 go out spid rc=0 runs
	shift 6
	go=$(mktemp -u) out=$(mktemp)
	ip netns exec "$s" "$@" "$fw_conn" -p "$port" -a "$srv" listen accept wait "$go" "$step" sleep 1 >"$out" &
	spid=$!
	if ! wait_until 10 grep -q '^listen ' "$out"; then
		fail "no listener"; rc=1
	elif ! ip netns exec "$c" "$fw_conn" -p "$port" -a "$srv" dial shutdown sleep 0.3 close >/dev/null; then
		fail "dial"; rc=1
	elif ! wait_until 10 stat_is "$c" current_timewait 1; then
		dump "$c"; fail "not held by a timewait socket"; rc=1
	fi
	[ -n "${napi:-}" ] && runs=$(napi_runs "$napi")
	touch "$go"
	if [ $rc -eq 0 ] && ! wait_until 10 completed_is "$c" "$n"; then
		fail "no completed lifetime"; rc=1
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rm -f "$go" "$out"
	[ $rc -eq 0 ] || return 1
	[ "$(st "$c" "left_$reason")" -ge 1 ] || { dump "$c"; fail "$step: not left_$reason"; return 1; }
	[ "$(st "$c" current_timewait)" -eq 0 ] || fail "current_timewait $(st "$c" current_timewait)" || return 1
	if [ -n "${napi:-}" ]; then
		[ "$(napi_runs "$napi")" -gt "$runs" ] || fail "napi/$napi did not run for the $step" || return 1
	fi
	check_invariant "$c"
}

# 12. Receive outside softirq. A timewait-held FIN-WAIT-2 connection ended
# by the peer's RST (reset) and by the peer's data (our RST: abort), with the
# segments received in a threaded-NAPI kthread; then over loopback with the
# backlog steered (RPS) to the other CPU, which on PREEMPT_RT (and with
# thread_backlog_napi) is that CPU's backlog kthread.
t_recv_contexts() {
	local c=$1-c s=$1-s l=$1-lo ncpu napi=
	setup_ns "$c" 30 && setup_ns "$s" 30 || return 1
	veth_threaded "$c" "$s"
	case $? in
	0)
		napi=$cif
		tw_event "$c" "$s" 5030 peer-reset reset 1 || return 1
		tw_event "$c" "$s" 5031 peer-send abort 2 || return 1
		napi=
		[ "$(st "$c" left_reset)" -eq 1 ] && [ "$(st "$c" left_abort)" -eq 1 ] ||
			fail "reasons" || return 1
		;;
	2) echo "# threaded NAPI: not on this kernel ($(uname -r); it came in 5.12)" ;;
	*) return 1 ;;
	esac

	ncpu=$(nproc)
	setup_ns "$l" 30 || return 1
	if [ "$ncpu" -lt 2 ] || [ ! -w /sys/class/net/lo/queues/rx-0/rps_cpus ]; then
		echo "# backlog on another CPU: not on this kernel (no RPS or one CPU)"
		# Neither receive context exists here: nothing was tested.
		kernel_at_least 5 12 && return 0
		return "$ksft_skip"
	fi
	echo "# backlog threads: $(grep -hs '^backlog_napi' /proc/[0-9]*/comm | tr '\n' ' ')"
	# Everything the server (pinned to CPU 0) sends goes to CPU 1's backlog.
	ip netns exec "$l" sh -c 'echo 2 > /sys/class/net/lo/queues/rx-0/rps_cpus' || fail "rps" || return 1
	srv=127.0.0.1
	tw_event "$l" "$l" 5032 peer-reset reset 1 taskset 1 || return 1
	tw_event "$l" "$l" 5033 peer-send abort 2 taskset 1 || return 1
	[ "$(st "$l" left_reset)" -eq 1 ] && [ "$(st "$l" left_abort)" -eq 1 ] || fail "reasons (backlog)"
}

# 13. A half-closed socket (not orphaned: no FIN-WAIT-2 timer applies) with
# SO_KEEPALIVE whose probes go unanswered (the peer's link is down): our
# RST ends it, an abort, not a timeout. And connect(AF_UNSPEC) from
# FIN-WAIT-2 sends our RST too: abort.
t_keepalive_disconnect() {
	local c=$1-c s=$1-s out sif=fwk$$s
	setup_ns "$c" 1 && setup_ns "$s" 30 || return 1
	veth_pair "$c" "$s" fwk$$c $sif 10.199.2 || return 1
	out=$(mktemp)
	ip netns exec "$s" "$fw_conn" -p 5040 -a 10.199.2.2 listen accept sleep 600 >"$out" &
	wait_until 5 grep -q '^listen ' "$out" || { rm -f "$out"; fail "no listener"; return 1; }
	rm -f "$out"
	ip netns exec "$c" "$fw_conn" -p 5040 -a 10.199.2.2 dial keepalive 1 shutdown sleep 600 >/dev/null &
	local client=$!
	wait_until 10 stat_is "$c" current 1 || fail "not in FIN-WAIT-2" || return 1
	# The server's address goes: the probes still leave (the link is up,
	# the neighbour known) and are dropped there, unanswered.
	ip -n "$s" addr del 10.199.2.2/30 dev $sif
	# Idle 1 s, then 2 probes 1 s apart: gone after about 3 s. Twice
	# tcp_fin_timeout (1 s) has passed by then: no timer of its own.
	wait_until 20 completed_is "$c" 1 || fail "keepalive did not end it" || return 1
	[ "$(st "$c" left_abort)" -eq 1 ] || { dump "$c"; fail "keepalive: not left_abort"; return 1; }
	check_invariant "$c" || return 1
	kill "$client" 2>/dev/null

	setup_ns "$1-u" 30 || return 1
	one_lifetime "$1-u" 5041 abort 1000 connect shutdown sleep 1 disconnect close sleep 0.3
}

# 14. A netns that floods FIN-WAIT-2 is held to its limit; another netns
# still gets records. The limit is the netns's own ("limit N" by its admin;
# more than netns_max_tracked only by the host's admin).
t_netns_limit() {
	local a=$1-a b=$1-b share i go out
	setup_ns "$a" 120 && setup_ns "$b" 30 || return 1
	share=$(cat /sys/module/finwait_stats/parameters/netns_max_tracked)
	[ "$(st "$a" tracked_limit)" -eq "$share" ] || fail "default limit $(st "$a" tracked_limit), not $share" || return 1
	[ "$(stat_of "$(<$PROC)" tracked_limit)" -eq "$(cat /sys/module/finwait_stats/parameters/max_tracked)" ] ||
		fail "the host's netns does not get the whole pool" || return 1
	ip netns exec "$a" sh -c "echo limit 5 > $PROC" || fail "limit 5 refused" || return 1
	refused "$a" EINVAL "Invalid argument" sh -c "echo limit five > $PROC" || return 1
	refused "$a" ERANGE "out of range" sh -c "echo limit 99999999999 > $PROC" || return 1
	refused "$a" EPERM "65534*Operation not permitted" \
		su -s /bin/sh nobody -c "id -u; echo limit 1 > $PROC" || return 1
	[ "$(st "$a" tracked_limit)" -eq 5 ] || fail "a refused write changed the limit" || return 1
	# A container's root (a user namespace of its own) may choose up to
	# the share, not more.
	unshare -r -n sh -c "echo limit $share > $PROC && echo limit 1 > $PROC && grep tracked_limit $PROC" |
		grep -qx "tracked_limit 1" || fail "a container cannot set its own limit" || return 1
	if [ "$share" -lt "$(cat /sys/module/finwait_stats/parameters/max_tracked)" ]; then
		if out=$(unshare -r -n sh -c "echo limit $((share + 1)) > $PROC" 2>&1); then
			fail "a container raised its limit above the share"
			return 1
		fi
		[[ $out == *"Operation not permitted"* ]] || fail "not EPERM: $out" || return 1
	fi
	# 20 stopped peers in a, held until all are in: 5 tracked, 15 untracked.
	go=$(mktemp -u)
	for i in $(seq 20); do
		ip netns exec "$a" "$fw_conn" -p $((5200 + i)) connect close wait "$go" >/dev/null &
	done
	wait_until 60 stat_is "$a" entered 20 || { touch "$go"; fail "a: entered $(st "$a" entered)"; return 1; }
	[ "$(st "$a" current)" -eq 5 ] && [ "$(st "$a" untracked)" -eq 15 ] ||
		{ touch "$go"; dump "$a"; fail "a not held to its limit"; return 1; }
	one_lifetime "$b" 5250 timeout 2000 connect linger2 2 close sleep 2.5 || { touch "$go"; return 1; }
	touch "$go"
	wait
	rm -f "$go"
	# The 5 tracked ones end (by the peers' FIN, or by their timer on a
	# guest slow enough to take 2 minutes), none lost.
	wait_until 10 completed_is "$a" 5 || fail "a: completed $(st "$a" completed)" || return 1
	[ "$(st "$a" stale)" -eq 0 ] || fail "a: stale $(st "$a" stale)" || return 1
	check_invariant "$a"
}

# 15. Churn while other processes read and reset the file: every read
# keeps the invariant and shows no negative count.
t_churn_reset() {
	local ns=$1 n=$(( ${FW_CHURN:-10000} / 8 )) reads=0 bad=0 resets=0 f cur tw
	setup_ns "$ns" 30 || return 1
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_max_tw_buckets=262144
	local p1 p2
	ip netns exec "$ns" "$fw_conn" -p 5301 churn $n >/dev/null &
	p1=$!
	ip netns exec "$ns" "$fw_conn" -p 5302 churn $n >/dev/null &
	p2=$!
	# No process spawned per read: the loop is as tight as bash gets.
	while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
		f=$(read_stats "$ns")
		invariant_ok "$f" || bad=$((bad + 1))
		cur=$(stat_of "$f" current) tw=$(stat_of "$f" current_timewait)
		[ "$cur" -ge 0 ] && [ "$tw" -ge 0 ] || { echo "# negative: current $cur current_timewait $tw"; bad=$((bad + 1)); }
		reads=$((reads + 1))
		if [ $((reads % 2)) -eq 0 ]; then
			echo reset >"$(stats_file "$ns")" && resets=$((resets + 1))
		fi
	done
	wait
	echo "# $((n * 2)) connections, $reads reads and $resets resets during the churn, $bad broken"
	[ $bad -eq 0 ] || fail "broken on $bad reads" || return 1
	wait_until 10 stat_is "$ns" current 0 || fail "current $(st "$ns" current)"
}

# 16. The trace event finwait_stats:lifetime, enabled in a trace instance of
# the test's own and filtered to this netns: one event per lifetime, each
# with its 4-tuple, reason and holders, their lifetimes the counters' ones.
tracefs() {
	local d
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -d "$d/instances" ] && { echo "$d"; return 0; }
	done
	return 1
}

# holders_of NS: held[I] = sk,tw or sk for each client port sport[I] that
# ss sees in FIN-WAIT-2 (after FIN-WAIT-1); true once all three are known.
holders_of() {
	local line i
	while read -r line; do
		for i in 1 2 3; do
			[[ $line == *:"${sport[i]}"\ * ]] || continue
			case $line in
			*timer:\(timewait,*) held[i]=sk,tw ;;
			*timer:\(keepalive,*) held[i]=sk ;;
			esac
		done
	done <<<"$(ip netns exec "$1" ss -Htno state fin-wait-2)"
	[[ ${held[1]}${held[2]}${held[3]} != *unseen* ]]
}

t_trace_event() {
	local ns=$1 tr inst ino out ev line p fam port reason addr sp sum i
	local -a held sport
	tr=$(tracefs) || { fail "tracefs is not mounted"; return 1; }
	[ -d "$tr/events/finwait_stats/lifetime" ] || fail "no finwait_stats:lifetime in $tr/events" || return 1
	# Long enough to look at all three in FIN-WAIT-2 in the KASAN guest,
	# where starting a process in a netns takes a second.
	setup_ns "$ns" 10 || return 1
	ino=$(stat -L -c %i "/run/netns/$ns")
	inst=$tr/instances/fw-$$-lifetime
	mkdir "$inst" || return 1
	echo "netns == $ino" >"$inst/events/finwait_stats/lifetime/filter" &&
		echo 1 >"$inst/events/finwait_stats/lifetime/enable" || { rmdir "$inst"; return 1; }
	out=$(mktemp -d)
	# The stopped peer over IPv4, the peer's FIN over IPv6, the peer's RST
	# over v4-mapped IPv6: three reasons, both families.
	ip netns exec "$ns" "$fw_conn" -4 -p 5401 connect sport close sleep 12 >"$out/1" &
	ip netns exec "$ns" "$fw_conn" -6 -p 5402 connect sport close sleep 8 peer-close sleep 0.3 >"$out/2" &
	ip netns exec "$ns" "$fw_conn" -m -p 5403 connect sport close sleep 8 peer-reset sleep 0.3 >"$out/3" &
	# Which object holds each one in FIN-WAIT-2 (ss's timer: timewait for a
	# timewait socket, keepalive for a full socket kept after a backlogged
	# ACK): the event's holders must say the same. All three in one ss.
	for i in 1 2 3; do
		wait_until 10 grep -q '^close ' "$out/$i" || { fail "no close"; break; }
		sport[i]=$(sed -n 's/^client_port //p' "$out/$i")
		held[i]=unseen
	done
	wait_until 7 holders_of "$ns"
	wait
	wait_until 20 completed_is "$ns" 3
	ev=$(grep ' lifetime: ' "$inst/trace")
	echo 0 >"$inst/events/finwait_stats/lifetime/enable"
	rmdir "$inst"
	echo "$ev" | sed 's/^ */# /'
	[ "$(grep -c . <<<"$ev")" -eq 3 ] || { rm -rf "$out"; fail "$(grep -c . <<<"$ev") events, expected 3"; return 1; }
	sum=0
	for i in 1 2 3; do
		read -r fam port reason addr <<<"$(sed -n "${i}p" <<<"AF_INET 5401 timeout 127.0.0.1
AF_INET6 5402 peer_fin ::1
AF_INET6 5403 reset ::ffff:127.0.0.1")"
		sp=$(sed -n 's/^client_port //p' "$out/$i")
		line=$(grep " sport=$sp dport=$port " <<<"$ev")
		grep -Eq "^ *[^ ].* lifetime: netns=$ino cookie=[0-9]+ family=$fam saddr=$addr daddr=$addr sport=$sp dport=$port lifetime_us=[0-9]+ reason=$reason holders=${held[i]}\$" <<<"$line" ||
			{ rm -rf "$out"; fail "no event for $fam port $sp -> $port, $reason, held by ${held[i]}"; return 1; }
		p=$(sed 's/.* lifetime_us=\([0-9]*\) .*/\1/' <<<"$line")
		sum=$((sum + p))
	done
	rm -rf "$out"
	if kernel_at_least 5 12; then
		! grep -q ' cookie=0 ' <<<"$ev" || fail "a netns cookie of 0 on a kernel that sets it at creation" || return 1
	fi
	p=$(st "$ns" lifetime_sum_us)
	echo "# 3 events, lifetimes summing to $sum us; the counters' sum $p us"
	[ $(( sum - p )) -le 1000 ] && [ $(( p - sum )) -le 1000 ] ||
		fail "events sum to $sum us, the counters to $p us"
}

tests_all="stopped_peer peer_fin peer_reset data_after_close linger2 half_close two_phase netns_isolation churn tw_overflow reset recv_contexts keepalive_disconnect netns_limit churn_reset trace_event"
selected=${FW_TESTS:-$tests_all}
echo "TAP version 13"
echo "1..$(wc -w <<<"$selected")"
for t in $selected; do
	run_test "$t" "t_$t"
done
echo "# $((tests - failed - skipped)) passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
