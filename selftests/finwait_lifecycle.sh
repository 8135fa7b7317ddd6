#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unload and reload the module, and delete network namespaces, while
# connections sit in FIN-WAIT-2 as full sockets (half-closed) and as
# timewait sockets (orphaned, stopped peer), with traffic running. The
# kernel log is checked for splats by the caller (the VM runner).
#
#   netns fw-$$-a: 2 half-closed + 2 orphaned connections, churn
#   netns fw-$$-b: the same, deleted while the module is loaded
#
# Needs root and the module installed (modprobe finwait_stats); it must not
# be loaded by anyone else. Exit 0 pass, 1 fail, 4 skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib.sh
. "$here/lib.sh"
fw_conn=$here/fw_conn

[ "$(id -u)" -eq 0 ] || { echo "# SKIP: must run as root"; exit $ksft_skip; }
modinfo finwait_stats >/dev/null 2>&1 || { echo "# SKIP: finwait_stats not installed"; exit $ksft_skip; }
a=fw-$$-a b=fw-$$-b
cleanup() {
	local pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del $a 2>/dev/null
	ip netns del $b 2>/dev/null
}
trap cleanup EXIT

st() { stat_of "$(ip netns exec "$1" cat $PROC)" "$2"; }
fail() { echo "not ok $1 # $2"; exit 1; }

populate() {
	ip netns add "$1" && ip -n "$1" link set lo up || return 1
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_fin_timeout=30
	ip netns exec "$1" "$fw_conn" -p 6001 connect shutdown sleep 60 >/dev/null &
	ip netns exec "$1" "$fw_conn" -p 6002 connect shutdown sleep 60 >/dev/null &
	ip netns exec "$1" "$fw_conn" -p 6003 connect close sleep 60 >/dev/null &
	ip netns exec "$1" "$fw_conn" -p 6004 connect close sleep 60 >/dev/null &
	ip netns exec "$1" "$fw_conn" -p 6005 churn 100000 >/dev/null 2>&1 &
}

# held_fw2 NS N: N of the held connections (ports 6001-6004) in FIN-WAIT-2.
held_fw2() {
	[ "$(ip netns exec "$1" ss -Htn state fin-wait-2 \
		'( dport >= :6001 and dport <= :6004 )' | wc -l)" -ge "$2" ]
}

echo "TAP version 13"
echo "1..5"
modprobe -r finwait_stats 2>/dev/null
modprobe finwait_stats || fail 1 "modprobe"
populate $a && populate $b || fail 1 "setup"
wait_until 10 held_fw2 $a 4 && wait_until 10 held_fw2 $b 4 || fail 1 "connections not in FIN-WAIT-2"
if [ "$(st $a current)" -lt 4 ]; then
	ip netns exec $a ss -tnoe state fin-wait-2 '( dport >= :6001 and dport <= :6004 )' | sed 's/^/# /'
	ip netns exec $a head -15 $PROC | sed 's/^/# /'
	fail 1 "current $(st $a current) < 4"
fi
ip netns del $b
sleep 1
echo "ok 1 netns deleted with connections in FIN-WAIT-2"

modprobe -r finwait_stats || fail 2 "unload"
[ ! -e $PROC ] || fail 2 "$PROC still there"
modprobe finwait_stats || fail 2 "reload"
# Connections from before the load are not counted anywhere.
[ "$(st $a current)" -eq 0 ] || [ "$(st $a entered)" -gt 0 ] || fail 2 "stale current"
sleep 1
invariant_ok "$(ip netns exec $a cat $PROC)" || fail 2 "invariant after reload"
echo "ok 2 unload and reload with connections in FIN-WAIT-2 and traffic"

# Unload once more with the churn running, then let everything end.
for i in 1 2 3; do
	modprobe -r finwait_stats || fail 3 "unload $i"
	modprobe finwait_stats || fail 3 "load $i"
done
cleanup
echo "ok 3 repeated unload/load under churn"

# Many netns deleted at once (the kernel tears them down in one batch)
# while their connections sit in FIN-WAIT-2, both kinds.
many=()
for i in $(seq 12); do
	n=fw-$$-m$i
	ip netns add $n && ip -n $n link set lo up || fail 4 "netns $n"
	many+=($n)
	ip netns exec $n sysctl -qw net.ipv4.tcp_fin_timeout=30
	ip netns exec $n "$fw_conn" -p 6010 connect shutdown sleep 60 >/dev/null &
	ip netns exec $n "$fw_conn" -p 6011 connect close sleep 60 >/dev/null &
done
for n in "${many[@]}"; do
	wait_until 60 eval '[ "$(st $n current)" -eq 2 ]' || fail 4 "$n: current $(st $n current)"
done
{
	for pid in $(jobs -p); do kill -KILL "$pid"; done
	wait
} 2>/dev/null
for n in "${many[@]}"; do ip netns del $n; done
sleep 2
modprobe -r finwait_stats || fail 4 "unload after the batch"
echo "ok 4 12 netns deleted at once with connections in FIN-WAIT-2"

# Bad parameters: refused with the reason, nothing loaded.
for args in "max_tracked=0" "max_tracked=abc" "max_tracked=16777217" \
	    "netns_max_tracked=0x" "max_tracked=50 netns_max_tracked=100"; do
	# shellcheck disable=SC2086
	if out=$(modprobe finwait_stats $args 2>&1); then
		modprobe -r finwait_stats
		fail 5 "accepted: $args"
	fi
	case $out in
	*"Numerical result out of range"*|*"Invalid argument"*) ;;
	*) fail 5 "$args: $out" ;;
	esac
	[ ! -e $PROC ] || fail 5 "$args: $PROC exists"
	echo "# refused $args: $out"
done
dmesg | grep -q "netns_max_tracked=100 is above max_tracked=50" || fail 5 "no reason in the kernel log"
echo "ok 5 bad parameters refused"
exit 0
