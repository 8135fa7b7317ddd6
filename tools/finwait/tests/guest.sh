#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh FINWAIT FW_CONN: finwait against a kernel with finwait_stats
# loaded (run as root in the qemu guests by make check; FW_CONN is the
# selftests' fw_conn, whose directory also holds their lib.sh). TAP output.
#
#   init netns  (untouched: its tcp_fin_timeout and counters are checked)
#   fresh netns per scenario (finwait's default as root); its four views:
#               finwait_stats, sock_diag (and ss -o's line), the tracepoint
#               sock:inet_sock_set_state, the kernel's rule
#   fwl         finwait_conns and finwait ls: ages, holders, families, 40 at once;
#               oldest_age_ms: one old connection beside 40 young ones
#   fwa, fwb    ip netns add: stats --all-netns, and node_exporter's
#               textfile collector reading it on 127.0.0.1:9109
#   demo        tools/demo-guest.sh, as make demo runs it
#   fwt         ip netns add fwt: --netns NAME, --netns PID, --port, watch
#
# Lifetimes are checked against the wall clock and the expected timer:
# never early, late by at most 1/8 of the timer (the timer wheel) + 0.6 s.
# The module's record may end up to 50 ms after sock_diag last saw the
# socket: a timewait socket is unhashed (gone for sock_diag) before the
# kill the module counts (the scenario's own rule, judge.c).
set -u
fw=$(readlink -f "$1")
fw_conn=$(readlink -f "$2")
PROC=/proc/net/finwait_stats
tmp=$(mktemp -d)
chmod 0755 "$tmp"
n=0 failed=0

cleanup() {
	[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null
	ip netns del fwt 2>/dev/null
	ip netns del fwa 2>/dev/null
	ip netns del fwb 2>/dev/null
	ip netns del fwl 2>/dev/null
	[ -n "${ne_pid:-}" ] && kill "$ne_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
# now_ms, wait_until: the selftests' lib.sh, next to fw_conn.
. "$(dirname "$fw_conn")/lib.sh"
in_fwt() { [ "$(stat -L -c %i /proc/$1/ns/net)" = "$(stat -L -c %i /run/netns/fwt)" ]; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }
# The rows of a scenario's table ($out): view NAME gives its lifetime in
# seconds (the table prints "N s" or "N ms"), held NAME its last column.
view() {
	sed -n "s/^  $1  *\([0-9.]*\) \(m\{0,1\}s\)  .*/\1 \2/p" <<<"$out" |
		awk '{ print $2 == "ms" ? $1 / 1000 : $1 }'
}
observed() { view sock_diag; }
recorded() { view finwait_stats; }
reason() { sed -n 's/^  finwait_stats  *[0-9.]* m\{0,1\}s  *left_\([a-z_]*\).*/\1/p' <<<"$out"; }
held() { sed -n "s/^  $1  *\(-\|[0-9.]* m\{0,1\}s\)  *[^ ]*  *//p" <<<"$out"; }
# json KEY: the first "KEY":number of the JSON text $out.
json() { grep -o "\"$1\":[0-9-]*" <<<"$out" | head -1 | cut -d: -f2; }
# stamp_of FILE STEP: fw_conn's CLOCK_REALTIME stamp of STEP, in ms.
stamp_of() { awk -v s="$2" '$1 == s { split($2, a, "."); print a[1] * 1000 + int(a[2] / 1000) }' "$1"; }

# scenario EXPECT_S REASON ARGS...: run finwait scenario ARGS, time it, and
# check the three lifetimes and the exit reason; $out holds the output.
scenario() {
	local expect=$1 why=$2 t0 ms obs rec hi
	shift 2
	t0=$(now_ms)
	out=$("$fw" scenario "$@" 2>&1)
	rc=$?
	ms=$(( $(now_ms) - t0 ))
	echo "$out" | sed 's/^/# /'
	obs=$(observed) rec=$(recorded)
	hi=$(awk -v e="$expect" -v r="$why" 'BEGIN { print e + (r == "timeout" ? e / 8 : 0) + 0.6 }')
	[ "$rc" -eq 0 ] && grep -q '^They agree\.$' <<<"$out" &&
		within "$obs" "$(awk -v e="$expect" 'BEGIN { print e - 0.1 }')" "$hi" &&
		within "$rec" "$(awk -v e="$expect" 'BEGIN { print e - 0.3 }')" "$(awk -v o="$obs" 'BEGIN { print o + 0.05 }')" &&
		[ "$(reason)" = "$why" ] && within "$ms" "$(awk -v e="$expect" 'BEGIN { print e * 1000 }')" 1e9
	ok $? "scenario $*: seen ${obs:-?} s, recorded ${rec:-?} s left_$(reason), wall ${ms} ms, expected $expect s $why"
}

echo "TAP version 13"
init_fin=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
init_entered=$(sed -n 's/^entered //p' $PROC)

scenario 3 timeout stopped-peer --fin-timeout 3
# The countdown: FIN-WAIT-2 lines with the timewait timer going down.
grep 'FIN-WAIT-2  *timer:(timewait,' <<<"$out" | sed 's/.*timewait,\([0-9.]*\)s.*/\1/' >"$tmp/left"
[ "$(wc -l <"$tmp/left")" -ge 3 ] && sort -rn -c "$tmp/left" &&
	within "$(head -1 "$tmp/left")" 2.5 3.0 && grep -q '^server stopped (SIGSTOP' <<<"$out"
ok $? "stopped-peer: countdown of $(wc -l <"$tmp/left") timewait lines from $(head -1 "$tmp/left") s, decreasing"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$init_fin" ] &&
	[ "$(sed -n 's/^entered //p' $PROC)" = "$init_entered" ]
ok $? "the init netns is untouched (tcp_fin_timeout $init_fin, entered $init_entered)"
# The four views: the tracepoint (what tcpstates and tcplife see) ends
# FIN-WAIT-2 at the handoff, microseconds in; the module saw the timewait
# socket hold it; the trace instance is gone and the global event still off.
# Where the ACK of our FIN was processed from the backlog during close()
# (README "Known kernel behaviours"), there is no handoff: the full socket
# holds the connection to the end, and the tracepoint sees all of it.
handoff() { ! grep -q '^  (no timewait socket: ' <<<"$out"; }
tp=$(view tracepoint)
if handoff; then
	within "$tp" 0 0.05 &&
		held finwait_stats | grep -Eq '^timewait socket from the first look \(\+0\.[0-9]{3} s\)$' &&
		[ "$(held "kernel rule")" = "timewait socket at once" ]
else
	within "$tp" "$(awk -v r="$(recorded)" 'BEGIN { print r - 0.3 }')" "$(recorded)" &&
		[ "$(held finwait_stats)" = "full socket only" ] &&
		[ "$(held "kernel rule")" = "full socket only" ]
fi && within "$(recorded)" 2.9 4 &&
	grep -q '^tracepoint sock:inet_sock_set_state: on in /sys/kernel/tracing/instances/finwait-' <<<"$out" &&
	[ -z "$(ls /sys/kernel/tracing/instances)" ] &&
	[ "$(cat /sys/kernel/tracing/events/sock/inet_sock_set_state/enable)" = 0 ]
ok $? "stopped-peer: tracepoint FIN-WAIT-2 ${tp:-?} s of $(recorded) s ($(handoff && echo handoff, under 0.05 s || echo 'no handoff: all of it')); module: $(held finwait_stats); instance removed"
# ss -o's raw line beside sock_diag's timer: the same time left. ss's
# field read here by its own rules: N.NNNms (old iproute2) and N.NNNsec
# are seconds, Nms milliseconds, Nsec seconds.
raw=$(sed -n 's/.*ss -o prints: FIN-WAIT-2 .*timer:([a-z]*,\([0-9.]*[a-z]*\),0)$/\1/p' <<<"$out")
ss_s=$(awk -v f="$raw" 'BEGIN {
	v = f + 0; u = f; sub(/^[0-9.]*/, "", u)
	if (u == "ms" && index(f, ".") == 0) v /= 1000; else if (u != "ms" && u != "sec") v = ""
	print v }')
dec=$(sed -n 's/^ *that is \([0-9.]*\) s left (sock_diag just after: \([0-9.]*\) s).*/\1 \2/p' <<<"$out")
[ -n "$ss_s" ] && within "$(awk -v s="$ss_s" '{ print $1 - s }' <<<"$dec")" -0.0005 0.0005 &&
	within "$(awk '{ print $1 - $2 }' <<<"$dec")" 0 0.2 &&
	{ ! [[ $raw == *.*ms ]] || grep -q 'seconds, printed "ms" by ss before' <<<"$out"; }
ok $? "ss -o's line decoded: ${raw:-?} -> $(awk '{ print $1 " s, sock_diag " $2 " s" }' <<<"$dec")"

# tcp_fin_timeout 62: 2 x (62 - 60) = 4 s, 2 s on the full socket's
# keepalive timer (all the tracepoint sees), then 2 s on a timewait socket.
scenario 4 timeout stopped-peer --fin-timeout 62
tp=$(view tracepoint)
within "$tp" 1.9 2.6 && [ "$(held "kernel rule")" = "full socket 2.000 s, then timewait socket 2.000 s" ] &&
	held finwait_stats | grep -Eq '^full socket, then timewait socket from \+2\.[0-9]{3} s$' &&
	grep -Eq 'FIN-WAIT-2  timer:\(keepalive,.*module: full socket' <<<"$out" &&
	grep -Eq 'FIN-WAIT-2  timer:\(timewait,.*module: timewait socket' <<<"$out"
ok $? "tcp_fin_timeout 62: tracepoint ${tp:-?} s (~2), module: $(held finwait_stats), both phases in the timeline"

scenario 3 timeout stopped-peer --fin-timeout 3 -6 --netns new
grep -q '^server pid [0-9]* accepted \[::1\]:[0-9]* -> \[::1\]:[0-9]*$' <<<"$out"
ok $? "-6: the connection is [::1] to [::1]"

scenario 1 peer_fin peer-close --after 1
grep -Eq '^ +\+[0-9.]+s  TIME-WAIT +timer:\(timewait,' <<<"$out" &&
	if handoff; then within "$(view tracepoint)" 0 0.05; else within "$(view tracepoint)" 0.9 1.2; fi
ok $? "peer-close: the socket went on to TIME-WAIT; tracepoint $(view tracepoint) s"
scenario 1 reset peer-reset --after 1 -6
scenario 3 timeout half-close --hold 1 --fin-timeout 2
grep -q 'FIN-WAIT-2  *no timer  *module: full socket$' <<<"$out" &&
	grep -q 'client close()s: the socket is an orphan now' <<<"$out" && within "$(view tracepoint)" 0.9 1.3
ok $? "half-close: FIN-WAIT-2 on the full socket with no timer until close(); tracepoint $(view tracepoint) s (the hold)"

# The tracepoint view where tracefs is missing (hidden in a mount namespace
# of its own), and where it is not permitted (nobody): one line each, and
# the scenario still runs to its verdict.
out=$(unshare -m sh -c 'mount -t tmpfs none /sys/kernel && exec "$0" scenario peer-close --after 0.3' "$fw" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && grep -q '^tracepoint view: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)$' <<<"$out" &&
	held tracepoint | grep -q '^tracefs is not mounted' && [ -e /sys/kernel/tracing/instances ]
ok $? "tracefs not mounted: said in one line, the scenario agrees (exit $rc)"
out=$(su -s /bin/sh nobody -c "$fw scenario peer-close --after 0.3" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && [ "$(grep -c '^tracepoint view: .*run as root)$' <<<"$out")" = 1 ] &&
	grep -q '^They agree\.$' <<<"$out"
ok $? "tracefs as nobody: '$(sed -n 's/^tracepoint view: //p' <<<"$out")', exit $rc"

# Instances left by killed runs: ours (this PID namespace, a dead PID) is
# removed by the next run, another PID namespace's is left alone.
inst=/sys/kernel/tracing/instances
ours=$inst/finwait-$(stat -L -c %i /proc/self/ns/pid)-4194303 theirs=$inst/finwait-1-4194302
mkdir "$ours" "$theirs" && out=$("$fw" scenario peer-close --after 0.2 2>&1) &&
	[ ! -e "$ours" ] && [ -d "$theirs" ] && grep -q '^They agree\.$' <<<"$out"
ok $? "a killed run's trace instance is removed by the next run; another PID namespace's is kept"
rmdir "$ours" "$theirs" 2>/dev/null

# --json: one object, parsed back, with every view.
out=$("$fw" scenario stopped-peer --fin-timeout 2 --port 4343 --json)
rc=$?
echo "$out" | sed 's/^/# /'
# (jq -n with input: an empty output is an error, not a vacuous true.)
jq -e -n 'input | .scenario == "stopped-peer" and .inputs.fin_timeout_s == 2 and
	.connection.dport == 4343 and .verdict.agree and .verdict.exit == 0 and
	.views.finwait_stats.reason == "timeout" and
	(.views.finwait_stats.lifetime_s | . >= 1.9 and . <= 2.9) and
	(.views.finwait_stats.timewait_from_s != null or (.views.kernel_rule.handoff | not)) and
	(.views.sock_diag.lifetime_s - .views.finwait_stats.lifetime_s | . >= -0.05 and . <= 0.3) and
	.views.tracepoint.available and
	(if .views.kernel_rule.handoff then .views.tracepoint.fin_wait2_s < 0.05
	 else .views.tracepoint.fin_wait2_s > 1.5 end) and
	(.views.tracepoint.events | map(.new) | index("TCP_CLOSE") != null) and
	.views.kernel_rule.lifetime_s == 2 and
	.views.kernel_rule.full_socket_s == (if .views.kernel_rule.handoff then 0 else 2 end) and
	(.timeline | length >= 3) and (.timeline[0].action == "client close()s")' <<<"$out" >/dev/null &&
	[ "$rc" -eq 0 ] && [ "$(wc -l <<<"$out")" = 1 ]
ok $? "scenario --json: one line, parsed by jq, the four views and the verdict"

# A named netns: --netns NAME, --port, the sysctl restored, stats of it.
ip netns add fwt && ip -n fwt link set lo up &&
	ip netns exec fwt sysctl -qw net.ipv4.tcp_fin_timeout=50
scenario 2 timeout stopped-peer --netns fwt --port 4242 --fin-timeout 2
grep -q '^server pid [0-9]* accepted 127.0.0.1:[0-9]* -> 127.0.0.1:4242$' <<<"$out" &&
	grep -q 'network namespace fwt, tcp_fin_timeout 2 s (was 50 s, restored at the end)' <<<"$out" &&
	[ "$(ip netns exec fwt cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 50 ]
ok $? "--netns fwt --port 4242: on port 4242 in fwt, tcp_fin_timeout back to 50"
lifetime_s=$(recorded)

out=$("$fw" stats --json --netns fwt)
rc=$?
max=$(json max)
[ "$rc" -eq 0 ] && [ "$(json entered)" = 1 ] && [ "$(json timeout)" = 1 ] &&
	[ "$(json completed)" = 1 ] && [ "$(json current)" = 0 ] &&
	within "$max" "$(awk -v s="$lifetime_s" 'BEGIN { print s * 1e6 - 1000 }')" \
		"$(awk -v s="$lifetime_s" 'BEGIN { print s * 1e6 + 1000 }')"
ok $? "stats --json --netns fwt: entered 1, left timeout 1, lifetime $max us = the scenario's $lifetime_s s"
json_fwt=$out

out=$("$fw" stats --netns fwt)
rc=$?
# The histogram row whose range holds that lifetime counts 1, alone.
row=$(awk -v v="$max" '$2 == "->" && $4 == ":" && v >= $1 && ($3 == "inf" || v <= $3)' <<<"$out")
[ "$rc" -eq 0 ] && [ "$(awk '{ print $5 }' <<<"$row")" = 1 ] &&
	[ "$(awk '$2 == "->" && $5 != 0' <<<"$out" | wc -l)" -eq 1 ] &&
	grep -Eq '^  timeout +1  100\.0 %' <<<"$out" && grep -Eq '^entered +1 ' <<<"$out"
ok $? "stats --netns fwt: the histogram row '$(awk '{ print $1, $2, $3 }' <<<"$row")' holds the one lifetime"
echo "$out" | sed 's/^/# /'

out=$("$fw" stats --prometheus --netns fwt)
grep -qx 'finwait_left_total{reason="timeout"} 1' <<<"$out" &&
	grep -qx 'finwait_lifetime_seconds_bucket{le="+Inf"} 1' <<<"$out" &&
	grep -qx 'finwait_lifetime_seconds_count 1' <<<"$out" &&
	grep -qx 'finwait_lifetime_seconds_bucket{le="1.048575"} 0' <<<"$out" &&
	grep -qx 'finwait_lifetime_seconds_bucket{le="4.194303"} 1' <<<"$out"
ok $? "stats --prometheus --netns fwt: the lifetime in the (1, 4.2] s buckets, count 1"

ip netns exec fwt sleep 1000 &
holder=$!
# ip joins fwt, then execs sleep: wait until the process is in fwt.
wait_until 10 in_fwt $holder
out=$("$fw" stats --json --netns $holder)
[ "$out" = "$json_fwt" ]
ok $? "stats --netns PID (a process in fwt) reads the same as --netns fwt"

# watch --netns fwt -i 1 while 100 connections pass FIN-WAIT-2 in fwt,
# until one whole block after the churn; then Ctrl+C.
blocks() { grep -c '^untracked' "$tmp/watch"; }
"$fw" watch --netns fwt -i 1 >"$tmp/watch" 2>&1 &
wpid=$!
wait_until 10 grep -q '^untracked' "$tmp/watch"
ip netns exec fwt "$fw_conn" -p 5300 churn 100 >/dev/null
b=$(blocks)
wait_until 10 eval '[ "$(blocks)" -gt "$b" ]'
kill -INT $wpid
wait $wpid
rc=$?
sed 's/^/# /' "$tmp/watch"
first=$(awk '$1 == "entered" { print $2; exit }' "$tmp/watch")
last=$(awk '$1 == "entered" { v = $2 } END { print v }' "$tmp/watch")
sum=$(awk '$1 == "entered" && $3 != "-" { s += $3 } END { print s }' "$tmp/watch")
[ "$rc" -eq 0 ] && [ $((last - first)) -eq 100 ] && within "$sum" 85 105 &&
	[ "$(awk '$1 == "left" && $2 == "peer_fin" { v = $3 } END { print v }' "$tmp/watch")" -ge 100 ]
ok $? "watch --netns fwt -i 1: $(blocks) blocks, entered +$((last - first)), rates add up to ${sum:-?} per 1 s (85..105), Ctrl+C exit 0"

"$fw" watch -i 0.2 >"$tmp/watch" 2>&1 &
wpid=$!
wait_until 10 grep -q '^untracked' "$tmp/watch"
kill -INT $wpid
wait $wpid
ok $? "watch on $PROC ends on Ctrl+C with exit 0"

out=$("$fw" reset --netns fwt) && out=$("$fw" stats --json --netns fwt) &&
	[ "$(json entered)" = 0 ] && [ "$(json completed)" = 0 ] && [ "$(json max)" = 0 ]
ok $? "reset --netns fwt: entered, completed and lifetimes back to 0"
before=$(cat $PROC)
out=$(su -s /bin/sh nobody -c "id -u; $fw reset" 2>&1)
rc=$?
[ "$rc" -eq 2 ] && [ "$(head -1 <<<"$out")" = 65534 ] &&
	grep -q 'Operation not permitted: needs CAP_NET_ADMIN' <<<"$out" &&
	[ "$(grep -v '^\(probe_missed\|oldest_age_ms\) ' $PROC)" = "$(grep -v '^\(probe_missed\|oldest_age_ms\) ' <<<"$before")" ]
ok $? "reset as nobody: exit 2, EPERM named, counters unchanged"
out=$(su -s /bin/sh nobody -c "$fw scenario stopped-peer --fin-timeout 3" 2>&1)
rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--fin-timeout needs write access' <<<"$out" &&
	[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$init_fin" ]
ok $? "scenario --fin-timeout as nobody: exit 2, nothing changed"

# Ctrl+C in the middle: server killed and reaped, fwt's sysctl restored.
"$fw" scenario stopped-peer --netns fwt --fin-timeout 30 >"$tmp/scen" 2>&1 &
spid=$!
wait_until 10 grep -q 'FIN-WAIT-2  *timer' "$tmp/scen"
seen=$?
srv=$(sed -n 's/^server pid \([0-9]*\) .*/\1/p' "$tmp/scen")
t0=$(now_ms)
kill -INT $spid
wait $spid
rc=$?
ms=$(( $(now_ms) - t0 ))
sed 's/^/# /' "$tmp/scen"
# Within 5 s: removing the trace instance waits for RCU grace periods,
# over 2 s in the KASAN guest.
[ "$seen" -eq 0 ] && [ "$rc" -eq 130 ] && [ "$ms" -lt 5000 ] && [ -n "$srv" ] &&
	[ ! -e "/proc/$srv" ] &&
	grep -q '^interrupted: server killed and reaped, tcp_fin_timeout restored$' "$tmp/scen" &&
	[ "$(ip netns exec fwt cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 50 ] &&
	[ -z "$(ls /sys/kernel/tracing/instances)" ]
ok $? "Ctrl+C during a scenario: exit 130 in $ms ms, server $srv gone, fwt's tcp_fin_timeout back to 50, trace instance removed"

# Output closed early (| head): no SIGPIPE death, the sysctl restored.
"$fw" scenario stopped-peer --netns fwt --fin-timeout 2 | head -1 >/dev/null
[ "$(ip netns exec fwt cat /proc/sys/net/ipv4/tcp_fin_timeout)" = 50 ]
ok $? "scenario | head -1: runs to the end, fwt's tcp_fin_timeout back to 50"

# Without the module: stats say so (exit 1); a scenario still runs.
modprobe -r finwait_stats
out=$("$fw" stats 2>&1)
rc=$?
[ "$rc" -eq 1 ] && grep -q 'the finwait_stats module is not loaded' <<<"$out"
ok $? "stats without the module: exit 1, 'not loaded'"
out=$("$fw" reset 2>&1)
[ $? -eq 1 ] && grep -q 'not loaded' <<<"$out"
ok $? "reset without the module: exit 1, 'not loaded'"
out=$("$fw" scenario stopped-peer --fin-timeout 2 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && held finwait_stats | grep -q '^not loaded: no record' &&
	within "$(observed)" 1.9 2.9
ok $? "scenario without the module: runs, sees $(observed) s, says no record"
modprobe finwait_stats

# --all-netns: every namespace of the guest, each labelled; fwa and fwb
# (named, no process in them) with 3 and 5 connections through FIN-WAIT-2.
ip netns add fwa && ip netns add fwb && ip -n fwa link set lo up && ip -n fwb link set lo up
ip netns exec fwa "$fw_conn" -p 5500 churn 3 >/dev/null
ip netns exec fwb "$fw_conn" -p 5501 churn 5 >/dev/null
wait_until 10 eval '[ "$(ip netns exec fwb sed -n "s/^completed //p" $PROC)" = 5 ]'
ino_a=$(stat -L -c %i /run/netns/fwa) ino_b=$(stat -L -c %i /run/netns/fwb)
ino_self=$(stat -L -c %i /proc/self/ns/net)
# The namespaces there are: the named ones and those of every process.
n_ns=$( (ls /run/netns | sed 's|^|/run/netns/|'; ls -d /proc/[0-9]*/ns/net) |
	xargs stat -L -c %i 2>/dev/null | sort -u | wc -l)
prom=$("$fw" stats --all-netns --prometheus)
rc=$?
ent() { ip netns exec "$1" sed -n 's/^entered //p' $PROC; }
[ "$rc" -eq 0 ] &&
	grep -qx "finwait_entered_total{netns=\"$ino_a\",netns_name=\"fwa\",pid=\"\"} $(ent fwa)" <<<"$prom" &&
	grep -qx "finwait_entered_total{netns=\"$ino_b\",netns_name=\"fwb\",pid=\"\"} $(ent fwb)" <<<"$prom" &&
	grep -qx "finwait_left_total{netns=\"$ino_b\",netns_name=\"fwb\",pid=\"\",reason=\"peer_fin\"} 5" <<<"$prom" &&
	grep -Eqx "finwait_entered_total\{netns=\"$ino_self\",netns_name=\"\",pid=\"[0-9]+\"\} [0-9]+" <<<"$prom" &&
	[ "$(grep -c '^finwait_entered_total' <<<"$prom")" = "$n_ns" ] &&
	[ "$(grep -c '^# HELP ' <<<"$prom")" = 9 ] && [ "$(grep -c '^# TYPE ' <<<"$prom")" = 9 ]
ok $? "stats --all-netns --prometheus: $n_ns namespaces, fwa $(ent fwa) and fwb $(ent fwb) entries as their files say, one HELP/TYPE per family"
out=$("$fw" stats --all-netns --json)
jq -e -n --argjson a "$ino_a" --argjson b "$ino_b" --argjson n "$n_ns" 'input |
	length == $n and (map(.netns) | . == sort) and
	(.[] | select(.netns == $a) | .name == "fwa" and .pid == null and .stats.entered == 3) and
	(.[] | select(.netns == $b) | .stats.left.peer_fin == 5 and .stats.completed == 5)' <<<"$out" >/dev/null
ok $? "stats --all-netns --json: $n_ns objects in inode order, fwa and fwb with their counts"
out=$("$fw" stats --all-netns)
grep -q "^finwait_stats, network namespace $ino_a (fwa)," <<<"$out" &&
	grep -q "^finwait_stats, network namespace $ino_self, pid [0-9]*," <<<"$out"
ok $? "stats --all-netns: a block per namespace, named and by PID"

# The round trip through Debian's node_exporter: its textfile collector
# reads what finwait wrote; /metrics must carry both namespaces' series.
ne=$(dirname "$fw")/../node_exporter
[ -x "$ne" ] || echo "# node_exporter missing from the payload: see node_exporter.log (tools/vm/fetch-deb.sh)"
mkdir "$tmp/textfile"
# As finwait-textfile.service writes it.
"$fw" stats --all-netns --prometheus --output "$tmp/textfile/finwait.prom"
"$ne" --web.listen-address=127.0.0.1:9109 --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$tmp/textfile" >"$tmp/ne.log" 2>&1 &
ne_pid=$!
scrape() { wget -q -O "$tmp/metrics" http://127.0.0.1:9109/metrics 2>/dev/null; }
wait_until 20 scrape
kill "$ne_pid"
wait "$ne_pid" 2>/dev/null
m=$(cat "$tmp/metrics" 2>/dev/null)
grep -qx "finwait_entered_total{netns=\"$ino_a\",netns_name=\"fwa\",pid=\"\"} $(ent fwa)" <<<"$m" &&
	grep -qx "finwait_left_total{netns=\"$ino_b\",netns_name=\"fwb\",pid=\"\",reason=\"peer_fin\"} 5" <<<"$m" &&
	grep -qx "finwait_lifetime_seconds_count{netns=\"$ino_b\",netns_name=\"fwb\",pid=\"\"} 5" <<<"$m" &&
	grep -qx 'node_textfile_scrape_error 0' <<<"$m"
rc=$?
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$tmp/ne.log"; grep -E '^(finwait|node_textfile)' <<<"$m" | head -20 | sed 's/^/# /'; }
ok $rc "node_exporter $("$ne" --version 2>&1 | awk 'NR == 1 { print $3 }'): /metrics has fwa's and fwb's series as the proc files give them, no textfile error"
ip netns del fwa
ip netns del fwb

# /proc/net/finwait_conns and finwait ls, in netns fwl: an orphan over
# IPv4, a half-closed socket over IPv6 (the full socket holds it, no timer),
# an orphan over v4-mapped IPv6; then 40 orphans beside the half-closed one
# (no timer ends it), for oldest_age_ms too.
ip netns add fwl && ip -n fwl link set lo up && ip netns exec fwl sysctl -qw net.ipv4.tcp_fin_timeout=30
oldest() { sed -n 's/^oldest_age_ms //p' <<<"$1"; }
[ "$(oldest "$(ip netns exec fwl cat $PROC)")" = 0 ]
ok $? "oldest_age_ms: 0 in a netns with no connection in FIN-WAIT-2"
ip netns exec fwl "$fw_conn" -4 -p 5600 connect sport close sleep 60 >"$tmp/l1" &
l1=$!
ip netns exec fwl "$fw_conn" -6 -p 5601 connect sport shutdown sleep 120 >"$tmp/l2" &
l2=$!
ip netns exec fwl "$fw_conn" -m -p 5602 connect sport close sleep 60 >"$tmp/l3" &
l3=$!
wait_until 10 grep -q '^close ' "$tmp/l1" && wait_until 10 grep -q '^shutdown ' "$tmp/l2" &&
	wait_until 10 grep -q '^close ' "$tmp/l3"
t_end=$(stamp_of "$tmp/l3" close)
p1=$(sed -n 's/^client_port //p' "$tmp/l1") p2=$(sed -n 's/^client_port //p' "$tmp/l2")
p3=$(sed -n 's/^client_port //p' "$tmp/l3")
# The holder ss sees for an orphan: a timewait socket, or the full socket on
# its keepalive timer where the ACK of our FIN was backlogged.
ss_holder() {
	case $(ip netns exec fwl ss -Htno state fin-wait-2 "( sport = :$1 )") in
	*timer:\(timewait,*) echo tw ;; *timer:\(keepalive,*) echo sk ;; *) echo none ;;
	esac
}
wait_until 5 eval '[ "$(ss_holder "$p1")" != none ] && [ "$(ss_holder "$p3")" != none ]'
h1=$(ss_holder "$p1") h3=$(ss_holder "$p3")
# Old enough that an age is not a rounding: 1.5 s after the last close.
wait_until 10 eval '[ $(( $(now_ms) - t_end )) -ge 1500 ]'
t_read=$(now_ms)
conns=$(ip netns exec fwl cat /proc/net/finwait_conns)
t_after=$(now_ms)
echo "$conns" | sed 's/^/# /'
t_first=$(stamp_of "$tmp/l1" close)
age() { awk -v e="$1" '$1 == e { print $4 }' <<<"$conns"; }
row() { awk -v e="$1" '$1 == e { print $2, $3 }' <<<"$conns"; }
[ "$(head -1 <<<"$conns" | xargs)" = "local remote holder age_ms" ] &&
	[ "$(sed 1d <<<"$conns" | wc -l)" = 3 ] &&
	[ "$(row "127.0.0.1:$p1")" = "127.0.0.1:5600 $h1" ] &&
	[ "$(row "[::1]:$p2")" = "[::1]:5601 sk" ] &&
	[ "$(row "[::ffff:127.0.0.1]:$p3")" = "[::ffff:127.0.0.1]:5602 $h3" ] &&
	within "$(age "127.0.0.1:$p1")" $(( t_read - t_first - 300 )) $(( t_after - t_first + 50 )) &&
	within "$(age "[::ffff:127.0.0.1]:$p3")" $(( t_read - t_end - 300 )) $(( t_after - t_end + 50 ))
ok $? "finwait_conns: 3 connections (IPv4 $h1, IPv6 half-closed sk, v4-mapped $h3), ages against the wall clock"
out=$("$fw" ls --netns fwl)
rc=$?
echo "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && [ "$(tail -1 <<<"$out")" = "3 connections in FIN-WAIT-2" ] &&
	awk '$5 == "s" { print $4 }' <<<"$out" | sort -rn -c 2>/dev/null &&
	grep -Eq "^\[::1\]:$p2 +\[::1\]:5601 +sk +[0-9.]+ s  none$" <<<"$out" &&
	if [ "$h1" = tw ]; then
		grep -Eq "^127\.0\.0\.1:$p1 +127\.0\.0\.1:5600 +tw +[0-9.]+ s  timewait [0-9.]+ s left$" <<<"$out"
	else
		grep -Eq "^127\.0\.0\.1:$p1 +127\.0\.0\.1:5600 +sk +[0-9.]+ s  keepalive [0-9.]+ s left$" <<<"$out"
	fi
ok $? "finwait ls --netns fwl: oldest first, the half-closed one with no timer, the orphan's timer"
out=$("$fw" ls --netns fwl --json)
jq -e -n --arg p1 "127.0.0.1:$p1" --arg p2 "[::1]:$p2" 'input |
	length == 3 and (map(.age_ms) | . == (sort | reverse)) and
	(.[] | select(.local == $p2) | .holder == "sk" and .timer == null and .state == "FIN-WAIT-2") and
	(.[] | select(.local == $p1) | .timer_left_ms + .age_ms | . >= 29000 and . <= 34000)' <<<"$out" >/dev/null
ok $? "finwait ls --json: 3 objects, oldest first; the orphan's age + time left is tcp_fin_timeout (30 s)"
kill $l1 $l3 2>/dev/null
wait $l1 $l3 2>/dev/null
t_old=$(stamp_of "$tmp/l2" shutdown)
cur() { ip netns exec fwl sed -n 's/^current //p' $PROC; }
wait_until 10 eval '[ "$(cur)" = 1 ]'
# Many: 40 orphans at once, all listed, as many as the module's current.
# One shell in fwl starts them (40 "ip netns exec" are slow in a KASAN guest);
# their FIN-WAIT-2 timer (60 s) outlasts the checks below.
ip netns exec fwl sysctl -qw net.ipv4.tcp_fin_timeout=60
t_many=$(now_ms)
ip netns exec fwl bash -c 'for i in $(seq 40); do "$0" -p $((5700 + i)) connect close sleep 90 >/dev/null & done; wait' "$fw_conn" &
many=$!
wait_until 60 eval '[ "$(cur)" = 41 ]'
all_in=$?
# The stats, then the connections, in one process (ip netns exec is slow).
both() {
	t_read=$(now_ms)
	both=$(ip netns exec fwl sh -c "cat $PROC; echo --; cat /proc/net/finwait_conns")
	t_after=$(now_ms)
	o=$(oldest "$both")
	a_max=$(sed '1,/^--$/d' <<<"$both" | awk 'NR > 1 && $4 > m { m = $4 } END { print m + 0 }')
	n_conns=$(sed '1,/^--$/d' <<<"$both" | sed 1d | wc -l)
}
both
n_ls=$("$fw" ls --netns fwl --json | jq -n 'input | length')
# Read 37 bytes at a time: every read resumes the walk mid-line, mid-bucket;
# the same connections must come out (ages move on: compared without them).
ends() { awk 'NR > 1 { print $1, $2, $3 }' | sort; }
whole=$(ip netns exec fwl cat /proc/net/finwait_conns | ends)
bits=$(ip netns exec fwl dd if=/proc/net/finwait_conns bs=37 2>/dev/null | ends)
[ "$all_in" -eq 0 ] && [ "$n_conns" = 41 ] && [ "$n_ls" = 41 ] && [ "$whole" = "$bits" ] &&
	[ "$(su -s /bin/sh nobody -c 'cat /proc/net/finwait_conns' | head -1 | xargs)" = "local remote holder age_ms" ]
ok $? "40 orphans beside the half-closed one: finwait_conns $n_conns lines, the same read 37 bytes at a time, ls $n_ls; readable by nobody"
# The old one is the oldest: its age against the wall clock, not a young one's.
within "$o" $(( t_read - t_old - 300 )) $(( t_after - t_old + 50 )) &&
	within "$a_max" "$o" $(( o + t_after - t_read + 1 )) && [ "$o" -gt $(( t_after - t_many )) ]
ok $? "oldest_age_ms $o: the half-closed one's age (wall clock $(( t_read - t_old )) ms), 40 younger than $(( t_after - t_many )) ms beside it"
ip netns add fwo
[ "$(oldest "$(ip netns exec fwo cat $PROC)")" = 0 ]
ok $? "oldest_age_ms: 0 in another netns meanwhile"
ip netns del fwo
# Without it, the oldest of the young ones, as finwait_conns ages them.
kill $l2 2>/dev/null
wait $l2 2>/dev/null
wait_until 10 eval '[ "$(cur)" = 40 ]'
both
echo "# oldest_age_ms $o, finwait_conns' oldest $a_max ms (read $(( t_after - t_read )) ms later at most)"
[ "$n_conns" = 40 ] && within "$o" 0 $(( t_after - t_many )) &&
	within "$a_max" "$o" $(( o + t_after - t_read + 1 ))
ok $? "oldest_age_ms $o once the old one left: the oldest of the 40, as finwait_conns ages it ($a_max ms)"
for p in $(ip netns pids fwl); do kill -KILL "$p" 2>/dev/null; done
wait "$many" 2>/dev/null
wait_until 10 eval '[ "$(cur)" = 0 ]' && [ "$(oldest "$(ip netns exec fwl cat $PROC)")" = 0 ]
ok $? "oldest_age_ms: 0 again once all 40 left"
ip netns del fwl

# The demo (make demo runs the same script in the distro guest).
demo=$(dirname "$fw")/../demo-guest.sh
t0=$(now_ms)
out=$(bash "$demo" "$fw" 3 2>&1)
rc=$?
ms=$(( $(now_ms) - t0 ))
echo "$out" | sed 's/^/# /'
[ "$rc" -eq 0 ] && grep -q '^== 1\. ' <<<"$out" && grep -q '^== 2\. ' <<<"$out" && grep -q '^== 3\. ' <<<"$out" &&
	grep -Eq '^     FIN-WAIT-2 .*127\.0\.0\.1:8080 +timer:\((timewait|keepalive),' <<<"$out" &&
	grep -q 'ss -o prints: FIN-WAIT-2 ' <<<"$out" &&
	(for r in finwait_stats sock_diag tracepoint 'kernel rule'; do
		grep -Eq "^     $r +[0-9.]+ m?s " <<<"$out" || exit 1
	done) &&
	grep -q '^   They agree\.$' <<<"$out" && grep -q '^   A tcp_set_state tracer (bcc tcpstates) reports ' <<<"$out" &&
	grep -Eq '^   entered +1 ' <<<"$out" &&
	[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$init_fin" ] && ! ip netns list | grep -q demo
ok $? "demo-guest.sh: its three parts, the four views, exit $rc in $ms ms; init netns's tcp_fin_timeout back to $init_fin"

echo "1..$n"
[ "$failed" -eq 0 ]
