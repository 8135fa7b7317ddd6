// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of stats.c and judge.c, TAP output: parsing (good, newer,
 * broken input) and the three renderings byte for byte against the
 * fixtures, plus the arithmetic the renderings must keep (Prometheus
 * buckets cumulative and ending at the count, watch rates from a known
 * interval); a scenario's expectation and the verdicts, agreeing and not;
 * ss -o's timer field and the tracepoint's line read back.
 *
 *   test_stats FIXTURE_DIR
 */
#define _GNU_SOURCE
#include <math.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "finwait.h"

static const char *dir;
static int n, failed;

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failed += !cond;
}

static char *slurp(const char *name)
{
	char path[512], *buf;
	size_t len = 0;
	FILE *f, *m;
	int c;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

static int parse_file(const char *name, struct fw_stats *s, char *err, size_t len)
{
	char *text = slurp(name);
	int r = fw_parse(text, s, err, len);

	free(text);
	return r;
}

enum { HUMAN, JSON, PROM };

static char *render(const struct fw_stats *s, int how)
{
	size_t len = 0;
	char *buf;
	FILE *m = open_memstream(&buf, &len);

	if (how == HUMAN)
		fw_print_human(m, s, "network namespace test");
	else if (how == JSON)
		fw_print_json(m, s);
	else
		fw_print_prometheus(m, s);
	fclose(m);
	return buf;
}

/* Rendering of @in equals the fixture @expect; on a difference, show it. */
static void same(const char *in, int how, const char *expect)
{
	struct fw_stats s;
	char err[256], *got, *want;

	if (parse_file(in, &s, err, sizeof(err))) {
		ok(false, "%s parses: %s", in, err);
		return;
	}
	got = render(&s, how);
	want = slurp(expect);
	ok(!strcmp(got, want), "%s rendered as %s", in, expect);
	if (strcmp(got, want))
		printf("# got:\n%s# want:\n%s", got, want);
	free(got);
	free(want);
}

static void rejects(const char *in, const char *msg)
{
	struct fw_stats s;
	char err[256] = "";
	int r = parse_file(in, &s, err, sizeof(err));

	ok(r < 0 && strstr(err, msg), "%s rejected with \"%s\" (got \"%s\")", in, msg, err);
}

/* typical.txt with its "entered 1210" line replaced by @line: rejected? */
static void rejects_line(const char *line, const char *msg)
{
	char *text = slurp("typical.txt"), *buf, err[256] = "";
	char *at = strstr(text, "entered 1210\n");
	struct fw_stats s;
	int r;

	if (asprintf(&buf, "%.*s%s\n%s", (int)(at - text), text, line,
		     at + strlen("entered 1210\n")) < 0)
		exit(1);
	r = fw_parse(buf, &s, err, sizeof(err));
	ok(r < 0 && strstr(err, msg), "'%s' rejected with \"%s\" (got \"%s\")", line, msg,
	   err);
	free(buf);
	free(text);
}

static void prom_arithmetic(const char *in)
{
	char err[256], *text, *p;
	unsigned long long v, prev = 0, inf = ~0ULL, count = ~0ULL;
	bool monotonic = true;
	struct fw_stats s;
	int buckets = 0;

	parse_file(in, &s, err, sizeof(err));
	text = render(&s, PROM);
	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (sscanf(p, "finwait_lifetime_seconds_bucket{le=\"+Inf\"} %llu", &v) == 1) {
			inf = v;
		} else if (!strncmp(p, "finwait_lifetime_seconds_bucket{le=\"", 36) &&
			   sscanf(strchr(p, ' '), " %llu", &v) == 1) {
			monotonic &= v >= prev;
			prev = v;
			buckets++;
		}
		sscanf(p, "finwait_lifetime_seconds_count %llu", &count);
	}
	ok(buckets == FW_HIST - 1 && monotonic && prev <= inf &&
	   inf == s.completed && count == s.completed,
	   "%s: %d cumulative buckets, +Inf = count = completed = %llu", in,
	   buckets, (unsigned long long)s.completed);
	free(text);
}

static void rates(void)
{
	struct fw_stats a, b;
	char err[256], *out = NULL;
	size_t len = 0;
	FILE *m;

	parse_file("typical.txt", &a, err, sizeof(err));
	b = a;
	b.entered += 50;
	b.left[FW_PEER_FIN] += 40;
	b.left[FW_RESET] += 5;
	m = open_memstream(&out, &len);
	fw_print_rates(m, &a, &b, 2.0);
	fclose(m);
	ok(strstr(out, "\nentered                    1260       25.0\n") &&
	   strstr(out, "\nleft peer_fin              1040       20.0\n") &&
	   strstr(out, "\nleft reset                   45        2.5\n") &&
	   strstr(out, "\nleft timeout                150        0.0\n"),
	   "watch rates: +50 entries in 2 s is 25.0/s, +40 peer_fin 20.0/s");
	free(out);

	b.entered = a.entered - 1;
	m = open_memstream(&out, &len);
	fw_print_rates(m, &a, &b, 2.0);
	fclose(m);
	ok(strstr(out, "reset in this interval") && !strstr(out, "20.0"),
	   "watch rates: counters that went down give no rate");
	free(out);
}

/* Lines of @text that start with @prefix. */
static int count_lines(const char *text, const char *prefix)
{
	const char *p = text;
	int lines = 0;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			lines++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return lines;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void judge(void)
{
	struct fw_expect e;

	ok(near(fw_orphan_lifetime(3), 3) && near(fw_orphan_lifetime(60), 60) &&
	   near(fw_orphan_lifetime(63), 6) && near(fw_orphan_lifetime(120), 120),
	   "orphan lifetime: 3 -> 3, 60 -> 60, 63 -> 6, 120 -> 120 s");
	fw_expect(FW_STOPPED_PEER, 1, 3, &e);
	ok(near(e.lifetime, 3) && e.reason == FW_TIMEOUT && !e.state &&
	   near(e.lo, 2.9) && near(e.hi, 3.875),
	   "stopped-peer, 3 s: 3 s by timeout, gone, within [2.9, 3.875]");
	ok(fw_seen_agrees(&e, 3.01, 3.02, 0) && fw_seen_agrees(&e, 3.86, 3.87, 0),
	   "stopped-peer: seen leaving at 3.02 or 3.87 s agrees");
	ok(!fw_seen_agrees(&e, 2.7, 2.8, 0) && !fw_seen_agrees(&e, 3.9, 3.91, 0) &&
	   !fw_seen_agrees(&e, 3.01, 3.02, TCP_TIME_WAIT),
	   "stopped-peer: too early, too late or on to TIME-WAIT disagrees");
	ok(fw_record_agrees(&e, 3.005, FW_TIMEOUT, 3.01, 3.02) &&
	   !fw_record_agrees(&e, 3.005, FW_OTHER, 3.01, 3.02) &&
	   !fw_record_agrees(&e, 0.000012, FW_TIMEOUT, 3.01, 3.02) &&
	   !fw_record_agrees(&e, 3.2, FW_TIMEOUT, 3.01, 3.02),
	   "record: 3.005 s timeout agrees; other reason, 12 us, or past the exit do not");
	fw_expect(FW_PEER_CLOSE, 1.5, 60, &e);
	ok(near(e.lifetime, 1.5) && e.reason == FW_PEER_FIN && e.state == TCP_TIME_WAIT &&
	   near(e.hi, 2.0) && fw_seen_agrees(&e, 1.49, 1.51, TCP_TIME_WAIT) &&
	   !fw_seen_agrees(&e, 1.49, 1.51, 0),
	   "peer-close after 1.5 s: peer_fin to TIME-WAIT, no timer slack");
	fw_expect(FW_PEER_RESET, 5, 3, &e);
	ok(near(e.lifetime, 3) && e.reason == FW_TIMEOUT,
	   "peer-reset after 5 s with a 3 s timeout: the timer wins");
	fw_expect(FW_PEER_RESET, 1, 3, &e);
	ok(e.reason == FW_RESET && !e.state, "peer-reset after 1 s: reset, gone");
	fw_expect(FW_HALF_CLOSE, 1, 2, &e);
	ok(near(e.lifetime, 3) && e.reason == FW_TIMEOUT && near(e.hi, 3.75),
	   "half-close held 1 s, 2 s timeout: 3 s, 1/8 slack of the 2 s timer only");
	ok(near(e.full, 1), "half-close held 1 s: the full socket's part is the 1 s");
	fw_expect(FW_STOPPED_PEER, 1, 3, &e);
	ok(near(e.full, 0), "stopped-peer, 3 s: a timewait socket at once, full part 0");
	fw_expect(FW_STOPPED_PEER, 1, 70, &e);
	ok(near(e.lifetime, 20) && near(e.full, 10),
	   "stopped-peer, 70 s: 20 s, the full socket's keepalive part 10 s");
	fw_expect(FW_PEER_CLOSE, 4, 70, &e);
	ok(near(e.lifetime, 4) && near(e.full, 4) && e.reason == FW_PEER_FIN,
	   "peer-close after 4 s, 70 s: 4 s, all of it on the full socket");
	fw_expect(FW_STOPPED_PEER, 1, 3, &e);
	fw_expect_no_handoff(&e);
	ok(near(e.lifetime, 3) && near(e.full, 3) && e.reason == FW_TIMEOUT,
	   "stopped-peer, 3 s, no handoff (backlog): 3 s, all on the full socket");
	fw_expect(FW_HALF_CLOSE, 2, 62, &e);
	ok(near(e.lifetime, 6) && near(e.full, 4),
	   "half-close held 2 s, 62 s: 2 + 4 s, full socket 2 + 2 s");
}

/* ss -o's timer field, both formats; the tracepoint's line. */
static void decode(void)
{
	static const struct {
		const char *in;
		long ms;
		bool old;
	} good[] = {
		{ "1.751ms", 1751, true }, { "4.864ms,0)", 4864, true },
		{ "1.751sec", 1751, false }, { "476ms", 476, false },
		{ "13sec", 13000, false }, { "1min30sec", 90000, false },
		{ "10min", 600000, false }, { "1min", 60000, false },
		{ "9.501sec)", 9501, false }, { "0ms", 0, false },
	};
	static const char *const bad[] = {
		"", "ms", "1.75ms", "1.7510ms", "12", "12s", "1min30", "4.864ms0", "x1sec",
		"1min1min", "1min5.751ms", "1.751msX", "1e3ms",
	};
	static const char tp[] =
		"          <idle>-0       [001] ..s2.  1234.567890: inet_sock_set_state: "
		"family=AF_INET protocol=IPPROTO_TCP sport=40000 dport=8080 "
		"saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 "
		"daddrv6=::ffff:127.0.0.1 oldstate=TCP_FIN_WAIT1 newstate=TCP_FIN_WAIT2\n";
	struct fw_tp_event ev;
	unsigned int i;
	bool old, all = true;
	long ms;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (fw_ss_timer_ms(good[i].in, &ms, &old) || ms != good[i].ms ||
		    old != good[i].old) {
			printf("# %s: got %ld ms\n", good[i].in, ms);
			all = false;
		}
	ok(all, "ss timer: %u forms read back, 1.751ms as 1751 ms of the old form",
	   (unsigned int)ARRAY_SIZE(good));
	all = true;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ms = -7;
		old = false;
		if (!fw_ss_timer_ms(bad[i], &ms, &old) || ms != -7 || old) {
			printf("# '%s' accepted as %ld ms, or written to\n", bad[i], ms);
			all = false;
		}
	}
	ok(all, "ss timer: %u malformed times refused, nothing written", (unsigned int)ARRAY_SIZE(bad));
	ok(!fw_ss_line_timer_ms("FIN-WAIT-2 0 0 127.0.0.1:1 127.0.0.1:2 timer:(timewait,4.864ms,0)",
				&ms, &old) && ms == 4864 && old &&
	   fw_ss_line_timer_ms("ESTAB 0 0 127.0.0.1:1 127.0.0.1:2", &ms, &old),
	   "ss line: the timer field found, a line without one refused");
	ok(!fw_trace_parse_line(tp, &ev) && near(ev.t, 1234.56789) && ev.sport == 40000 &&
	   ev.dport == 8080 && ev.oldstate == TCP_FIN_WAIT1 && ev.newstate == TCP_FIN_WAIT2,
	   "tracepoint line: time, ports and both states");
	ok(fw_trace_parse_line("# tracer: nop", &ev) &&
	   fw_trace_parse_line("x-1 [000] .... 12.5: inet_sock_set_state: sport=1 dport=2 oldstate=TCP_BOGUS newstate=TCP_CLOSE", &ev) &&
	   fw_trace_parse_line("x-1 [000] .... 12.5: inet_sock_set_state: sport=70000 dport=2 oldstate=TCP_CLOSE newstate=TCP_CLOSE", &ev) &&
	   fw_trace_parse_line("x-1 [000] .... abc: inet_sock_set_state: sport=1 dport=2 oldstate=TCP_CLOSE newstate=TCP_CLOSE", &ev) &&
	   fw_trace_parse_line("x-1 [000] .... 1e999: inet_sock_set_state: sport=1 dport=2 oldstate=TCP_CLOSE newstate=TCP_CLOSE", &ev),
	   "tracepoint line: a comment, an unknown state, a port over 65535, no time, an infinite one: refused");
}

/* --all-netns --prometheus: families once, each series labelled, escaped. */
static void prom_ns(void)
{
	struct fw_ns ns[3] = {
		{ .ino = 4026531840UL, .pid = 1 },
		{ .ino = 4026532300UL, .name = "a\"b\\c\nd" },
		{ .ino = 4026532400UL, .pid = 99 },
	};
	struct fw_stats s[3] = {
		{ .entered = 7, .left = { 3 }, .probe_missed = 4 }, { .entered = 2, .probe_missed = 4 },
		{ .probe_missed = 4 },
	};
	char *name = ns[2].name;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* 255 quotes: every one escaped, none cut off. */
	memset(name, '"', sizeof(ns[2].name) - 1);
	name[sizeof(ns[2].name) - 1] = '\0';
	fw_print_prometheus_ns(f, ns, s, 3);
	fclose(f);
	ok(strstr(text, "\nfinwait_entered_total{netns=\"4026531840\",netns_name=\"\",pid=\"1\"} 7\n") &&
	   strstr(text, "\nfinwait_entered_total{netns=\"4026532300\",netns_name=\"a\\\"b\\\\c\\nd\",pid=\"\"} 2\n") &&
	   strstr(text, "\nfinwait_left_total{netns=\"4026531840\",netns_name=\"\",pid=\"1\",reason=\"peer_fin\"} 3\n") &&
	   strstr(text, "\nfinwait_lifetime_seconds_bucket{netns=\"4026532300\",netns_name=\"a\\\"b\\\\c\\nd\",pid=\"\",le=\"+Inf\"} 0\n"),
	   "prometheus --all-netns: netns, netns_name (quote, backslash, newline escaped), pid labels, empty where none");
	ok(count_lines(text, "# HELP finwait_entered_total ") == 1 &&
	   count_lines(text, "# TYPE finwait_lifetime_seconds histogram") == 1 &&
	   count_lines(text, "finwait_entered_total{") == 3 &&
	   count_lines(text, "finwait_probe_missed_total") == 1 &&
	   strstr(text, "\nfinwait_probe_missed_total 4\n"),
	   "prometheus --all-netns: one HELP and TYPE per family, a series per namespace, probe_missed once");
	{
		char want[700] = "finwait_current{netns=\"4026532400\",netns_name=\"";
		size_t l = strlen(want);

		for (int i = 0; i < 255; i++, l += 2)
			memcpy(want + l, "\\\"", 2);
		strcpy(want + l, "\",pid=\"\"} 0\n");
		ok(strstr(text, want) != NULL,
		   "prometheus --all-netns: a 255-byte name of quotes escaped whole; a named namespace's pid label empty");
	}
	free(text);
}

int main(int argc, char **argv)
{
	struct fw_stats s, t;
	char err[256];

	dir = argc > 1 ? argv[1] : "tests/fixtures";
	printf("TAP version 13\n1..38\n");
	same("typical.txt", HUMAN, "typical.human");
	same("typical.txt", JSON, "typical.json");
	same("typical.txt", PROM, "typical.prom");
	same("empty.txt", HUMAN, "empty.human");
	same("empty.txt", JSON, "empty.json");
	same("empty.txt", PROM, "empty.prom");
	/* The open-ended last bucket: a half-close held for 40 minutes. */
	same("halfclose.txt", HUMAN, "halfclose.human");
	same("halfclose.txt", JSON, "halfclose.json");
	same("halfclose.txt", PROM, "halfclose.prom");
	/* A newer module: other order, unknown lines, blank line. */
	same("newer.txt", JSON, "typical.json");
	rejects("missing.txt", "no 'left_reset' line");
	rejects("twice.txt", "line 49: entered given twice");
	rejects("badvalue.txt", "line 5: bad value '12x' for entered");
	rejects("negative.txt", "bad value '-3' for hist_us_64");
	rejects_line("entered 1210 junk", "line 5: not \"name value\"");
	rejects_line("entered  1210", "line 5: not \"name value\"");
	rejects_line("entered\t1210", "line 5: not \"name value\"");
	rejects_line("entered +1210", "line 5: bad value '+1210' for entered");
	rejects_line("entered 18446744073709551616", "bad value '18446744073709551616'");
	ok(!parse_file("current_negative.txt", &s, err, sizeof(err)) && s.current == -1,
	   "current may be read as -1 (per-CPU sums are not one instant)");
	ok(fw_parse("", &s, err, sizeof(err)) < 0 && strstr(err, "no 'fin_timeout_ms' line"),
	   "empty text rejected");
	ok(fw_parse("entered\n", &s, err, sizeof(err)) < 0 &&
	   strstr(err, "line 1: not \"name value\""), "a line without value rejected");
	ok(fw_parse("hist_us_3 1\n", &s, err, sizeof(err)) < 0 &&
	   strstr(err, "no 'fin_timeout_ms' line"),
	   "hist_us_3 is not a bucket name: ignored as unknown");
	parse_file("typical.txt", &s, err, sizeof(err));
	ok(s.hist[0] == 3 && s.hist[6] == 20 && s.hist[25] == 165 && !s.hist[31] &&
	   s.sum_us == 9272345678ULL && s.left[FW_OTHER] == 5 && s.oldest_age_ms == 42137,
	   "typical.txt values land in the right fields");
	parse_file("newer.txt", &t, err, sizeof(err));
	ok(!memcmp(&s, &t, sizeof(s)), "newer.txt parses to the same numbers");
	prom_arithmetic("typical.txt");
	prom_arithmetic("halfclose.txt");
	rates();
	judge();
	decode();
	prom_ns();
	return failed ? 1 : 0;
}
