// SPDX-License-Identifier: GPL-2.0
/*
 * What other tools print, read back: a line of the tracepoint
 * sock:inet_sock_set_state from tracefs, and the timer field of "ss -o".
 * No system calls here: tests/test_stats.c checks both on real lines.
 */
#include <math.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "finwait.h"

/* The tracepoint's names (show_tcp_state_name(), include/trace/events/sock.h). */
const char *fw_tcp_kernel_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "TCP_ESTABLISHED",
		[TCP_SYN_SENT] = "TCP_SYN_SENT",
		[TCP_SYN_RECV] = "TCP_SYN_RECV",
		[TCP_FIN_WAIT1] = "TCP_FIN_WAIT1",
		[TCP_FIN_WAIT2] = "TCP_FIN_WAIT2",
		[TCP_TIME_WAIT] = "TCP_TIME_WAIT",
		[TCP_CLOSE] = "TCP_CLOSE",
		[TCP_CLOSE_WAIT] = "TCP_CLOSE_WAIT",
		[TCP_LAST_ACK] = "TCP_LAST_ACK",
		[TCP_LISTEN] = "TCP_LISTEN",
		[TCP_CLOSING] = "TCP_CLOSING",
	};

	if (state <= 0 || state >= (int)ARRAY_SIZE(names))
		return "?";
	return names[state];
}

static int state_of(const char *s, size_t len)
{
	int i;

	for (i = TCP_ESTABLISHED; i <= TCP_CLOSING; i++) {
		const char *n = fw_tcp_kernel_state_name(i);

		if (strlen(n) == len && !strncmp(s, n, len))
			return i;
	}
	return -1;
}

/* " key=VALUE": VALUE and its length; -1 when there is no such key. */
static int field(const char *line, const char *key, const char **val, size_t *len)
{
	const char *p = strstr(line, key);

	if (!p)
		return -1;
	*val = p + strlen(key);
	*len = strcspn(*val, " \n");
	return *len ? 0 : -1;
}

static int port_field(const char *line, const char *key, uint16_t *port)
{
	unsigned long v;
	const char *s;
	size_t len;
	char *end;

	if (field(line, key, &s, &len) || *s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (end != s + len || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/*
 * One line of a trace instance's "trace" file:
 *   <task>-<pid> [cpu] <flags> <seconds>.<us>: inet_sock_set_state:
 *   family=AF_INET protocol=IPPROTO_TCP sport=N dport=N saddr=... daddr=...
 *   saddrv6=... daddrv6=... oldstate=TCP_X newstate=TCP_Y
 * -1 when it is not such a line.
 */
int fw_trace_parse_line(const char *line, struct fw_tp_event *ev)
{
	const char *tag = strstr(line, ": inet_sock_set_state: "), *p, *v;
	size_t len;
	char *end;

	if (!tag)
		return -1;
	for (p = tag; p > line && p[-1] != ' '; p--)
		;
	if (p == tag || *p < '0' || *p > '9')
		return -1;
	ev->t = strtod(p, &end);
	if (end != tag || !isfinite(ev->t))
		return -1;
	if (port_field(tag, " sport=", &ev->sport) ||
	    port_field(tag, " dport=", &ev->dport))
		return -1;
	if (field(tag, " oldstate=", &v, &len) || (ev->oldstate = state_of(v, len)) < 0 ||
	    field(tag, " newstate=", &v, &len) || (ev->newstate = state_of(v, len)) < 0)
		return -1;
	return 0;
}

static const char *digits(const char *s, long *v, int *n)
{
	*v = 0;
	for (*n = 0; *s >= '0' && *s <= '9' && *n < 9; s++, (*n)++)
		*v = *v * 10 + (*s - '0');
	return s;
}

/*
 * The time of ss -o's "timer:(NAME,TIME,RETRANS)" field, in ms. ss prints
 * TIME as [Mmin][S[.mmm]sec | S.mmm"ms" | mmm"ms"] (print_ms_timer(),
 * misc/ss.c). Before iproute2's "ss: fix expired time format of timer"
 * (July 2024; Debian 12 ships iproute2 6.1, without it) seconds with
 * milliseconds end in "ms": 1.751 s prints "1.751ms". A dot is never
 * followed by milliseconds alone, so the old form reads back exactly;
 * @old_ms is set when it is the old, misleading form.
 * -1 when @s (up to ',' or ')' or the end) is not such a time; then
 * nothing is written.
 */
int fw_ss_timer_ms(const char *s, long *ms, bool *old_ms)
{
	long v, frac, total = 0;
	bool old = false;
	int n, nf;

	s = digits(s, &v, &n);
	if (!n)
		return -1;
	if (!strncmp(s, "min", 3)) {
		/* Minutes, then whole seconds or nothing. */
		total = v * 60000;
		s += 3;
		if (*s >= '0' && *s <= '9') {
			s = digits(s, &v, &n);
			if (strncmp(s, "sec", 3))
				return -1;
			total += v * 1000;
			s += 3;
		}
	} else if (*s == '.') {
		s = digits(s + 1, &frac, &nf);
		if (nf != 3)
			return -1;
		total = v * 1000 + frac;
		if (!strncmp(s, "sec", 3)) {
			s += 3;
		} else if (!strncmp(s, "ms", 2)) {
			s += 2;
			old = true;
		} else {
			return -1;
		}
	} else if (!strncmp(s, "sec", 3)) {
		total = v * 1000;
		s += 3;
	} else if (!strncmp(s, "ms", 2)) {
		total = v;
		s += 2;
	} else {
		return -1;
	}
	if (*s && *s != ',' && *s != ')')
		return -1;
	*ms = total;
	*old_ms = old;
	return 0;
}

/* The TIME of the "timer:(" field of an ss -o line; -1 when it has none. */
int fw_ss_line_timer_ms(const char *line, long *ms, bool *old_ms)
{
	const char *p = strstr(line, "timer:(");

	if (!p)
		return -1;
	p = strchr(p, ',');
	return p ? fw_ss_timer_ms(p + 1, ms, old_ms) : -1;
}
