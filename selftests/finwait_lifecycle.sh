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
many=()
cleanup() {
	local pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del $a 2>/dev/null
	ip netns del $b 2>/dev/null
	for n in "${many[@]}"; do ip netns del "$n" 2>/dev/null; done
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
echo "1..6"
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

# Many netns deleted at once (one teardown batch, or a few) while their
# connections sit in FIN-WAIT-2: a half-closed socket, and an orphan on its
# FIN-WAIT-2 timer (tcp_fin_timeout 120 s: 60 s as a full socket, then 60 s
# as a timewait socket). lo goes down first, so that killing the peers (in
# the same processes) sends no FIN that would end them: the module still
# holds 2 records in each netns when it dies.
many=()
for i in $(seq 12); do
	n=fw-$$-m$i
	ip netns add $n && ip -n $n link set lo up || fail 4 "netns $n"
	many+=($n)
	ip netns exec $n sysctl -qw net.ipv4.tcp_fin_timeout=120
	ip netns exec $n "$fw_conn" -p 6010 connect shutdown sleep 600 >/dev/null &
	ip netns exec $n "$fw_conn" -p 6011 connect close sleep 600 >/dev/null &
	wait_until 60 eval '[ "$(st $n current)" -eq 2 ]' || fail 4 "$n: current $(st $n current)"
done
for n in "${many[@]}"; do ip -n $n link set lo down; done
{
	for pid in $(jobs -p); do kill -KILL "$pid"; done
	wait
} 2>/dev/null
for n in "${many[@]}"; do
	[ "$(st $n current)" -eq 2 ] || fail 4 "$n: current $(st $n current) before the delete"
done
for n in "${many[@]}"; do ip netns del $n; done
many=()
sleep 2
# The module's exit finds its record pool whole, or WARNs (a splat).
modprobe -r finwait_stats || fail 4 "unload after the batch"
echo "ok 4 12 netns deleted at once, each holding 2 connections in FIN-WAIT-2"

# Bad parameters: refused with the reason, nothing loaded.
bad_param() {
	local want=$1 out
	shift
	if out=$(modprobe finwait_stats "$@" 2>&1); then
		modprobe -r finwait_stats
		fail 5 "accepted: $*"
	fi
	[[ $out == *"$want"* ]] || fail 5 "$*: $out"
	[ ! -e $PROC ] || fail 5 "$*: $PROC exists"
	echo "# refused $*: $out"
}
dmesg -c >/dev/null
bad_param "Numerical result out of range" max_tracked=0
bad_param "Invalid argument" max_tracked=abc
bad_param "Numerical result out of range" max_tracked=16777217
bad_param "Invalid argument" netns_max_tracked=0x
bad_param "Numerical result out of range" max_tracked=50 netns_max_tracked=100
dmesg | grep -q "netns_max_tracked=100 is above max_tracked=50" || fail 5 "no reason in the kernel log"
echo "ok 5 bad parameters refused"

# A small pool (8) and a share of 5: a netns that floods FIN-WAIT-2 holds
# 5 records, and the 3 connections of another netns are all tracked. (With
# no share the first would take all 8 and leave the other none.)
modprobe finwait_stats max_tracked=8 netns_max_tracked=5 || fail 6 "modprobe"
go=$(mktemp -u)
for n in $a $b; do
	ip netns add $n && ip -n $n link set lo up || fail 6 "netns $n"
	ip netns exec $n sysctl -qw net.ipv4.tcp_fin_timeout=120
done
for i in $(seq 10); do
	ip netns exec $a "$fw_conn" -p $((6100 + i)) connect close wait "$go" >/dev/null &
done
wait_until 60 eval '[ "$(st $a entered)" -eq 10 ]' || fail 6 "a: entered $(st $a entered)"
for i in 1 2 3; do
	ip netns exec $b "$fw_conn" -p $((6200 + i)) connect close wait "$go" >/dev/null &
done
wait_until 60 eval '[ "$(st $b entered)" -eq 3 ]' || fail 6 "b: entered $(st $b entered)"
[ "$(st $a current)" -eq 5 ] && [ "$(st $a untracked)" -eq 5 ] || fail 6 "a: current $(st $a current) untracked $(st $a untracked)"
[ "$(st $b current)" -eq 3 ] && [ "$(st $b untracked)" -eq 0 ] || fail 6 "b: current $(st $b current) untracked $(st $b untracked)"
touch "$go"
wait
rm -f "$go"
wait_until 10 eval '[ "$(st $b completed)" -eq 3 ]' || fail 6 "b: completed $(st $b completed)"
cleanup
modprobe -r finwait_stats || fail 6 "final unload"
echo "ok 6 a small pool shared: one netns at its limit, another fully tracked"
exit 0
