#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh FINWAIT FIN_TIMEOUT: the demo itself, as root on a kernel
# with finwait_stats loaded (make demo runs it in the distro guest; the
# guest tests run it too). Three parts:
#
#   1. the article's commands in the initial namespace: nc -l, nc, Ctrl+Z
#      (SIGSTOP) on the server, Ctrl+C (SIGINT) on the client, ss -o;
#      cut short after 2 s by killing the server, whose kernel then sends
#      the FIN the stopped process never did
#   2. finwait scenario stopped-peer in a namespace of its own ("demo"):
#      the same experiment to the end, ss's raw line decoded, and the four
#      views side by side (finwait_stats, sock_diag, the tracepoint that
#      bcc's tcpstates and tcplife use, the kernel's rule)
#   3. finwait stats of that namespace: the lifetime in the histogram
set -u
fw=$1 fin=$2
port=8080

# until_ok WHAT CMD...: poll CMD every 0.1 s, up to 10 s; else say WHAT and fail.
until_ok() {
	local what=$1 i
	shift
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	echo "demo: $what did not happen within 10 s" >&2
	exit 1
}
listening() { ss -Htln "( sport = :$port )" | grep -q .; }
connected() { ss -Htn state established "( dport = :$port )" | grep -q .; }

cleanup() {
	[ -n "${srv:-}" ] && kill -KILL "$srv" 2>/dev/null
	[ -n "${cli:-}" ] && kill -KILL "$cli" 2>/dev/null
	[ -n "${old_fin:-}" ] && sysctl -qw net.ipv4.tcp_fin_timeout="$old_fin"
	ip netns del demo 2>/dev/null
}
trap cleanup EXIT

echo "== 1. The article's experiment: nc -l, nc, Ctrl+Z on the server, Ctrl+C on the client"
old_fin=$(sysctl -n net.ipv4.tcp_fin_timeout)
sysctl -qw net.ipv4.tcp_fin_timeout="$fin"
echo "   net.ipv4.tcp_fin_timeout = $fin"
nc -l -d 127.0.0.1 $port >/dev/null &
srv=$!
until_ok "nc -l on port $port (is the port free?)" listening
# With job control on, a background job takes SIGINT as a foreground nc would.
set -m
nc -d 127.0.0.1 $port &
cli=$!
set +m
until_ok "the connection to port $port" connected
kill -STOP $srv
kill -INT $cli
wait $cli 2>/dev/null
cli=
echo "   server stopped (kill -STOP, as Ctrl+Z); client closed (kill -INT, as Ctrl+C); ss -o:"
for i in 1 2 3; do
	ss -tno "( dport = :$port )" | sed 1d | sed 's/^/     /'
	[ $i -lt 3 ] && sleep 1
done
kill -KILL $srv
wait $srv 2>/dev/null
srv=
echo "   server killed: its kernel sends the FIN, the socket moves on to TIME-WAIT."
echo "   Read ss's timer with care: see the decoded line below."
sysctl -qw net.ipv4.tcp_fin_timeout="$old_fin"

echo
echo "== 2. The same with finwait, to the end: what each tool reports"
ip netns add demo && ip -n demo link set lo up || exit 1
"$fw" scenario stopped-peer --netns demo --port $port --fin-timeout "$fin" | sed 's/^/   /'
rc=${PIPESTATUS[0]}

echo
echo "== 3. finwait stats --netns demo"
"$fw" stats --netns demo | sed 's/^/   /'
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
exit "$rc"
