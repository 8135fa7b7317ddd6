#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# [FW_VERSION=V] host.sh FINWAIT: finwait's command line, on any machine, no module needed
# (stats come from fixture files through --file). TAP output.
#
#   version and help; the three renderings of a saved file; the JSON parsed
#   by Python's json and the Prometheus text by prometheus_client's parser;
#   a broken file; watch's blocks, its rates against the wall clock and its
#   Ctrl+C; every bad flag and value (exit 2, one line naming the problem
#   and a usage hint, nothing on stdout, tcp_fin_timeout untouched); missing
#   privileges (as nobody).
set -u
fw=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/fixtures
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

# run ARGS...: finwait's stdout, stderr and status in $out, $err, $rc.
run() {
	"$fw" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(<"$tmp/out") err=$(<"$tmp/err")
}

# wait_for FILE PATTERN: poll (50 ms) up to 5 s for PATTERN in FILE.
wait_for() {
	local i
	for i in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

echo "TAP version 13"

# The version finwait was built with: FW_VERSION, else the tree's VERSION.
ver=${FW_VERSION:-$(cat "$here/../../../VERSION" 2>/dev/null)}
[ -n "$ver" ] || { echo "Bail out! no FW_VERSION and no VERSION file"; exit 1; }
run --version
[ "$rc" -eq 0 ] && [ "$out" = "finwait $ver" ]
ok $? "--version prints 'finwait $ver' (the VERSION file)"

run --help
[ "$rc" -eq 0 ] && [ -z "$err" ] &&
	(for c in stats watch ls reset scenario; do grep -q "^  $c " <<<"$out" || exit 1; done)
ok $? "--help lists stats, watch, ls, reset, scenario"
run scenario --help
[ "$rc" -eq 0 ] &&
	(for e in stopped-peer peer-close peer-reset half-close --fin-timeout --port -6 \
		--netns --after --hold --json; do grep -q -- "$e" <<<"$out" || exit 1; done)
ok $? "scenario --help lists the endings and every option"

for f in typical empty halfclose; do
	run stats --file "$fx/$f.txt"
	[ "$rc" -eq 0 ] &&
		diff <(sed "s|^finwait_stats, file $fx/$f.txt,|finwait_stats, network namespace test,|" <<<"$out") "$fx/$f.human" >&2
	ok $? "stats --file $f.txt prints $f.human"
done

run stats --json --file "$fx/typical.txt"
[ "$rc" -eq 0 ] && "$py" - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["entered"] == 1210 and d["current"] == 3, d
assert d["left"] == {"peer_fin": 1000, "timeout": 150, "reset": 40, "abort": 12, "other": 5}
assert d["lifetime_us"] == {"min": 1, "max": 61034212, "sum": 9272345678, "mean": 7682142}
h = d["hist_us"]
assert len(h) == 32 and h[25] == {"from": 33554432, "to": 67108863, "count": 165}
assert h[31]["to"] is None and sum(b["count"] for b in h) == d["completed"] == 1207
PY
ok $? "stats --json: valid JSON with the file's numbers"

run stats --prometheus --file "$fx/typical.txt"
[ "$rc" -eq 0 ] && "$py" - "$tmp/out" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert fams["finwait_current"].type == "gauge"
assert fams["finwait_entered"].type == "counter"
left = {s.labels["reason"]: s.value for s in fams["finwait_left"].samples
        if s.name == "finwait_left_total"}
assert left == {"peer_fin": 1000, "timeout": 150, "reset": 40, "abort": 12, "other": 5}, left
h = fams["finwait_lifetime_seconds"]
assert h.type == "histogram"
b = {s.labels["le"]: s.value for s in h.samples if s.name.endswith("_bucket")}
assert len(b) == 32 and b["+Inf"] == 1207 and b["67.108863"] == 1207, b
assert b["33.554431"] == 1207 - 165 and b["0.000001"] == 3
v = {s.name: s.value for s in h.samples}
assert v["finwait_lifetime_seconds_count"] == 1207
assert abs(v["finwait_lifetime_seconds_sum"] - 9272.345678) < 1e-6
PY
ok $? "stats --prometheus: prometheus_client parses it; histogram and counters right"

run stats --file "$fx/missing.txt"
[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q "missing.txt: no 'left_reset' line" <<<"$err"
ok $? "stats of a file without a required line: exit 1, names the line, prints no zeros"

run watch --file "$fx/typical.txt" -i 0.2 -n 2
[ "$rc" -eq 0 ] && [ "$(grep -c '^finwait watch' <<<"$out")" -eq 2 ] &&
	grep -Eq '^entered +1210 +-$' <<<"$out" &&
	grep -Eq '^entered +1210 +0\.0$' <<<"$out"
ok $? "watch -n 2 (not a terminal): two blocks, rates '-' then 0.0"

# Rates against the wall clock: +30 entries between two reads 1 s apart.
cp "$fx/typical.txt" "$tmp/live.txt"
"$fw" watch --file "$tmp/live.txt" -i 1 -n 2 >"$tmp/watch" 2>&1 &
pid=$!
wait_for "$tmp/watch" '^untracked'
sed -e 's/^entered 1210$/entered 1240/' -e 's/^left_peer_fin 1000$/left_peer_fin 1030/' \
	"$fx/typical.txt" >"$tmp/next.txt" && mv "$tmp/next.txt" "$tmp/live.txt"
wait $pid
rc=$?
rate=$(awk '$1 == "entered" && $3 != "-" { print $3 }' "$tmp/watch")
[ "$rc" -eq 0 ] && awk -v r="$rate" 'BEGIN { exit !(r >= 27 && r <= 30.5) }'
ok $? "watch -i 1: +30 entries in one interval shows ${rate:-no} per s (27..30.5)"

# -i 30: a Ctrl+C that the sleep missed would show as a 30 s wait.
"$fw" watch --file "$fx/typical.txt" -i 30 >"$tmp/watch" 2>&1 &
pid=$!
wait_for "$tmp/watch" '^untracked'
t0=$EPOCHREALTIME
kill -INT $pid
wait $pid
rc=$?
ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
[ "$rc" -eq 0 ] && [ "$ms" -lt 1000 ] && [ "$(tail -1 "$tmp/watch" | cut -d' ' -f1)" = untracked ]
ok $? "watch ends on Ctrl+C (SIGINT) in ${ms} ms, exit 0, last block complete"

# Bad usage: exit 2, stdout empty, "finwait ...: <problem>" + a usage hint.
sysctl_before=$(cat /proc/sys/net/ipv4/tcp_fin_timeout)
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run $args
	[ "$rc" -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" -eq 2 ] &&
		grep -qF -- "$msg" <<<"$(head -1 <<<"$err")" &&
		grep -Eq "^Try 'finwait ([a-z]+ )?--help'\.$" <<<"$(tail -1 <<<"$err")"
	ok $? "finwait $args: exit 2, '$msg'"
	[ "$rc" -eq 2 ] || echo "# rc $rc, stderr: $err"
done <<'CASES'
|no command given
frobnicate|unknown command 'frobnicate'
stats --jsn|unknown option '--jsn'
stats --json=1|bad option '--json=1'
stats --json --prometheus|exclude each other
stats --netns|--netns needs a value
stats --netns fw-no-such-ns|no network namespace 'fw-no-such-ns'
stats --netns 999999999|no network namespace '999999999'
stats --netns a/b|bad network namespace name 'a/b'
stats --netns new|--netns new is only for 'scenario'
stats --file x --netns 1|--file and --netns exclude each other
stats --all-netns --file x|--all-netns excludes --file
stats --all-netns --netns 1|--all-netns excludes --netns
stats --output|--output needs a value
watch --all-netns|unknown option '--all-netns'
watch --output x|unknown option '--output'
reset --all-netns|unknown option '--all-netns'
ls --bogus|unknown option '--bogus'
ls -x|unknown option '-x'
ls extra|unexpected argument 'extra'
ls --netns|--netns needs a value
ls --netns new|--netns new is only for 'scenario'
ls --netns fw-no-such-ns|no network namespace 'fw-no-such-ns'
stats extra|unexpected argument 'extra'
watch -i 0|-i wants seconds from 0.1 to 86400, got '0'
watch -i -1|-i wants seconds from 0.1 to 86400, got '-1'
watch -i abc|-i wants seconds from 0.1 to 86400, got 'abc'
watch -n 0|-n wants a count of 1 or more, got '0'
watch -n 2x|-n wants a count of 1 or more, got '2x'
watch --json|unknown option '--json'
reset --file x|unknown option '--file'
reset --prometheus|unknown option '--prometheus'
scenario|which ending?
scenario nope|unknown ending 'nope'
scenario stopped-peer --fin-timeout -1|--fin-timeout wants whole seconds from 1 to 86400, got '-1'
scenario stopped-peer --fin-timeout 0|--fin-timeout wants whole seconds from 1 to 86400, got '0'
scenario stopped-peer --fin-timeout 2.5|--fin-timeout wants whole seconds from 1 to 86400, got '2.5'
scenario stopped-peer --fin-timeout 86401|--fin-timeout wants whole seconds from 1 to 86400, got '86401'
scenario stopped-peer --fin-timeout|--fin-timeout needs a value
scenario stopped-peer --port 0|--port wants 1 to 65535, got '0'
scenario stopped-peer --port 65536|--port wants 1 to 65535, got '65536'
scenario stopped-peer --port http|--port wants 1 to 65535, got 'http'
scenario stopped-peer --port 4294967297|--port wants 1 to 65535, got '4294967297'
scenario peer-close --after -1|--after wants seconds from 0 to 3600, got '-1'
scenario peer-reset --after 3601|--after wants seconds from 0 to 3600, got '3601'
scenario half-close --hold nan|--hold wants seconds from 0 to 3600, got 'nan'
scenario stopped-peer --after 1|--after is not an option of stopped-peer
scenario peer-close --hold 1|--hold is not an option of peer-close
scenario half-close --after 1|--after is not an option of half-close
scenario stopped-peer -7|unknown option '-7'
scenario stopped-peer bogus|unexpected argument 'bogus'
scenario stopped-peer --json=1|bad option '--json=1'
scenario stopped-peer --json bogus|unexpected argument 'bogus'
scenario stopped-peer --netns fw-no-such-ns|no network namespace 'fw-no-such-ns'
CASES
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$sysctl_before" ]
ok $? "tcp_fin_timeout still $sysctl_before after every refused command"

# Missing privileges, as nobody (a copy nobody can execute).
install -m 0755 -d "$tmp/bin" && install -m 0755 "$fw" "$tmp/bin/finwait"
chmod 0755 "$tmp"
asnobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$tmp/bin/finwait" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(<"$tmp/out") err=$(<"$tmp/err")
}
asnobody scenario stopped-peer --fin-timeout 3
[ "$rc" -eq 2 ] && [ -z "$out" ] && grep -q -- "--fin-timeout needs write access" <<<"$err"
ok $? "as nobody: scenario --fin-timeout refused (exit 2, names the privilege)"
asnobody scenario stopped-peer --netns new
[ "$rc" -eq 2 ] && [ -z "$out" ] && grep -q -- "--netns new needs CAP_SYS_ADMIN" <<<"$err"
ok $? "as nobody: scenario --netns new refused (exit 2, names the privilege)"
[ "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)" = "$sysctl_before" ]
ok $? "tcp_fin_timeout still $sysctl_before"

# Without the module (this host's kernel has none loaded): ls says so.
if [ ! -e /proc/net/finwait_conns ]; then
	run ls
	[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q 'finwait_conns is missing: the finwait_stats module is not loaded' <<<"$err"
	ok $? "ls without the module: exit 1, 'not loaded'"
fi

# --output: the file replaced whole, only when the stats were read.
run stats --prometheus --file "$fx/typical.txt" --output "$tmp/f.prom"
[ "$rc" -eq 0 ] && [ -z "$out" ] && diff -q "$tmp/f.prom" "$fx/typical.prom" >/dev/null &&
	[ "$(ls "$tmp" | grep -c '^f\.prom')" = 1 ]
ok $? "stats --output FILE: FILE is typical.prom, no temporary file left"
cp "$fx/empty.prom" "$tmp/f.prom"
run stats --prometheus --file "$fx/missing.txt" --output "$tmp/f.prom"
[ "$rc" -eq 1 ] && cmp -s "$tmp/f.prom" "$fx/empty.prom" && [ "$(ls "$tmp" | grep -c '^f\.prom')" = 1 ]
ok $? "stats --output FILE with a broken input: exit 1, FILE as it was, nothing left behind"
(umask 077 && "$fw" stats --file "$fx/typical.txt" --output "$tmp/m.prom")
[ "$(stat -c %a "$tmp/m.prom")" = 644 ]
ok $? "stats --output under umask 077: mode 644, readable by the collector's user"
if [ ! -e /proc/net/finwait_stats ]; then
	echo stale >"$tmp/gone.prom"
	run stats --all-netns --prometheus --output "$tmp/gone.prom"
	[ "$rc" -eq 1 ] && [ ! -e "$tmp/gone.prom" ] && grep -q "removed $tmp/gone.prom" <<<"$err" &&
		[ -z "$(ls "$tmp" | grep '^gone\.prom')" ]
	ok $? "stats --output without the module: exit 1, the old file removed (no stale numbers)"
fi
run stats --file "$fx/typical.txt" --output "$tmp/no/such/dir/f"
[ "$rc" -eq 1 ] && grep -q -- "--output: $tmp/no/such/dir/f.tmp.[0-9]*: No such file or directory" <<<"$err"
ok $? "stats --output into a missing directory: exit 1, the path named"

# The systemd service and timer of make install-tool: installed with the
# binary's path, valid for systemd-analyze.
make -s -C "$here/.." install PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1
unit=$tmp/prefix/lib/systemd/system/finwait-textfile.service
grep -qx "ExecStart=$tmp/prefix/bin/finwait stats --all-netns --prometheus --output /var/lib/prometheus/node-exporter/finwait.prom" "$unit" &&
	grep -qx 'OnUnitActiveSec=15s' "$tmp/prefix/lib/systemd/system/finwait-textfile.timer" &&
	systemd-analyze verify --man=no "$unit" "${unit%.service}.timer" >"$tmp/verify.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/install.log" "$tmp/verify.log"
ok $rc "make install: finwait-textfile.service (ExecStart with the installed path) and .timer (15 s), systemd-analyze verify clean"

echo "1..$n"
[ "$failed" -eq 0 ]
