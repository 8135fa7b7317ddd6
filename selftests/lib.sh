# SPDX-License-Identifier: GPL-2.0
# Sourced by the finwait_stats selftests: timing, polling and parsing of
# /proc/net/finwait_stats text (one read of the file, passed as a string).

ksft_skip=4
PROC=/proc/net/finwait_stats

# now_ms: wall clock in ms, as fw_conn's stamps (CLOCK_REALTIME).
now_ms() { local t=$EPOCHREALTIME; echo $(( ${t/./} / 1000 )); }

# wait_until TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds.
wait_until() {
	local deadline=$(( $(now_ms) + $1 * 1000 )); shift
	until "$@"; do
		[ "$(now_ms)" -lt $deadline ] || return 1
		sleep 0.05
	done
}

# stat_of TEXT NAME: the value of NAME in the stats TEXT.
stat_of() {
	local k v
	while read -r k v; do
		[ "$k" = "$2" ] && { echo "$v"; return 0; }
	done <<<"$1"
	echo "stat_of: no $2" >&2
	return 1
}

# invariant_ok TEXT: in the stats TEXT, entered == current + left_* + stale +
# untracked and completed == left_* (the file's own arithmetic), and what the
# module has to get right across CPUs: 0 <= current_timewait <= current.
invariant_ok() {
	local k v left
	local -A s
	while read -r k v; do s[$k]=$v; done <<<"$1"
	left=$(( s[left_peer_fin] + s[left_timeout] + s[left_reset] + s[left_abort] + s[left_other] ))
	[ "${s[entered]}" -eq $(( s[current] + left + s[stale] + s[untracked] )) ] &&
		[ "${s[completed]}" -eq $left ] &&
		[ "${s[current_timewait]}" -ge 0 ] &&
		[ "${s[current_timewait]}" -le "${s[current]}" ] && return 0
	echo "# invariant broken: entered ${s[entered]} current ${s[current]} current_timewait ${s[current_timewait]} left $left completed ${s[completed]} stale ${s[stale]} untracked ${s[untracked]}"
	return 1
}
