// SPDX-License-Identifier: GPL-2.0
/*
 * The text of /proc/net/finwait_stats into a struct, and the struct into
 * what a person, a JSON consumer or Prometheus reads. No system calls here:
 * tests/test_stats.c checks all of it against fixtures.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "finwait.h"

const char *const fw_left_name[FW_NLEFT] = {
	"peer_fin", "timeout", "reset", "abort", "other",
};

static const char *const left_help[FW_NLEFT] = {
	"the peer's FIN: on to TIME-WAIT",
	"the FIN-WAIT-2 timer (tcp_fin_timeout, TCP_LINGER2)",
	"an RST from the peer",
	"our RST: data after close, SO_LINGER 0, connect(AF_UNSPEC)",
	"no timewait bucket, ss -K of a timewait socket",
};

#define F(name, member, sgn) { name, offsetof(struct fw_stats, member), sgn }
static const struct field {
	const char *name;
	size_t off;
	bool sgn;
} fields[] = {
	F("fin_timeout_ms", fin_timeout_ms, false),
	F("current", current, true),
	F("current_timewait", current_timewait, true),
	F("oldest_age_ms", oldest_age_ms, false),
	F("entered", entered, false),
	F("left_peer_fin", left[FW_PEER_FIN], false),
	F("left_timeout", left[FW_TIMEOUT], false),
	F("left_reset", left[FW_RESET], false),
	F("left_abort", left[FW_ABORT], false),
	F("left_other", left[FW_OTHER], false),
	F("untracked", untracked, false),
	F("lifetime_min_us", min_us, false),
	F("lifetime_max_us", max_us, false),
	F("lifetime_sum_us", sum_us, false),
	F("completed", completed, false),
	F("probe_missed", probe_missed, false),
};

#undef F
#define NFIELDS ARRAY_SIZE(fields)

/* Lower bound in us of histogram bucket i: 0, 2, 4, ... 2^31. */
static uint64_t fw_hist_lo(unsigned int i)
{
	return i ? 1ULL << i : 0;
}

static int hist_index(const char *name)
{
	unsigned int i;
	char buf[32];

	if (strncmp(name, "hist_us_", 8))
		return -1;
	for (i = 0; i < FW_HIST; i++) {
		snprintf(buf, sizeof(buf), "hist_us_%" PRIu64, fw_hist_lo(i));
		if (!strcmp(name, buf))
			return i;
	}
	return -1;
}

static int perr(char *err, size_t len, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (line)
		n = snprintf(err, len, "line %u: ", line);
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Fill @s from the file's text. Lines are "name value"; unknown names are
 * skipped (a newer module may add some), a known name twice, a bad number
 * or a known name missing is an error: never a silent zero.
 */
int fw_parse(const char *text, struct fw_stats *s, char *err, size_t errlen)
{
	bool seen[NFIELDS + FW_HIST] = { false };
	unsigned int line = 0, i;
	const char *p = text;

	memset(s, 0, sizeof(*s));
	while (*p) {
		char name[64], *val, *sp, *end;
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char buf[128];
		int slot = -1;
		uint64_t v;

		line++;
		if (n >= sizeof(buf))
			return perr(err, errlen, line, "line too long");
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += eol ? n + 1 : n;
		if (!n)
			continue;
		/* Exactly "name value": one space, no other blank. */
		sp = strchr(buf, ' ');
		if (!sp || sp == buf || !sp[1] || strpbrk(sp + 1, " \t") ||
		    (size_t)(sp - buf) >= sizeof(name))
			return perr(err, errlen, line, "not \"name value\": '%s'", buf);
		memcpy(name, buf, sp - buf);
		name[sp - buf] = '\0';
		val = sp + 1;
		for (i = 0; i < NFIELDS; i++)
			if (!strcmp(name, fields[i].name))
				slot = i;
		if (slot < 0 && hist_index(name) >= 0)
			slot = NFIELDS + hist_index(name);
		if (slot < 0)
			continue;
		if (seen[slot])
			return perr(err, errlen, line, "%s given twice", name);
		seen[slot] = true;
		/* Digits only (a '-' where the module prints signed): no '+',
		 * no blanks, nothing that strto*() would quietly accept.
		 */
		errno = 0;
		if (slot < (int)NFIELDS && fields[slot].sgn) {
			v = (uint64_t)strtoll(val, &end, 10);
		} else {
			v = strtoull(val, &end, 10);
			if (val[0] == '-')
				errno = ERANGE;
		}
		if (!isdigit((unsigned char)val[val[0] == '-']))
			errno = EINVAL;
		if (errno || *end || end == val)
			return perr(err, errlen, line, "bad value '%s' for %s", val, name);
		if (slot < (int)NFIELDS)
			memcpy((char *)s + fields[slot].off, &v, sizeof(v));
		else
			s->hist[slot - NFIELDS] = v;
	}
	for (i = 0; i < NFIELDS + FW_HIST; i++) {
		char buf[32];

		if (seen[i])
			continue;
		if (i < NFIELDS)
			return perr(err, errlen, 0, "no '%s' line", fields[i].name);
		snprintf(buf, sizeof(buf), "hist_us_%" PRIu64, fw_hist_lo(i - NFIELDS));
		return perr(err, errlen, 0, "no '%s' line", buf);
	}
	return 0;
}

/* A duration in us for a person: "812 us", "3.250 ms", "60.002 s". */
static const char *dur(char *buf, size_t len, double us)
{
	if (us < 1000)
		snprintf(buf, len, "%.0f us", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.3f ms", us / 1e3);
	else
		snprintf(buf, len, "%.3f s", us / 1e6);
	return buf;
}

static void print_hist(FILE *f, const struct fw_stats *s)
{
	int lo = -1, hi = -1, i;
	uint64_t max = 0;

	for (i = 0; i < FW_HIST; i++) {
		if (!s->hist[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (s->hist[i] > max)
			max = s->hist[i];
	}
	if (lo < 0) {
		fprintf(f, "\nNo completed lifetimes yet.\n");
		return;
	}
	fprintf(f, "\n%18s%-16s : %-8s %s\n", "usecs", "", "count", "distribution");
	for (i = lo; i <= hi; i++) {
		char stars[41], upper[24];
		int n = (int)(s->hist[i] * 40 / max);

		if (s->hist[i] && !n)
			n = 1;
		memset(stars, '*', n);
		stars[n] = '\0';
		if (i == FW_HIST - 1)
			snprintf(upper, sizeof(upper), "inf");
		else
			snprintf(upper, sizeof(upper), "%" PRIu64, fw_hist_lo(i + 1) - 1);
		fprintf(f, "%18" PRIu64 " -> %-12s : %-8" PRIu64 " |%-40s|\n",
			fw_hist_lo(i), upper, s->hist[i], stars);
	}
}

void fw_print_human(FILE *f, const struct fw_stats *s, const char *where)
{
	char a[32], b[32], c[32];
	unsigned int i;

	if (s->fin_timeout_ms % 1000)
		snprintf(a, sizeof(a), "%.3f s", s->fin_timeout_ms / 1e3);
	else
		snprintf(a, sizeof(a), "%" PRIu64 " s", s->fin_timeout_ms / 1000);
	fprintf(f, "finwait_stats, %s, tcp_fin_timeout %s\n\n", where, a);
	fprintf(f, "%-18s %12" PRId64 "   (%" PRId64 " of them as timewait minisockets)\n",
		"in FIN-WAIT-2 now", s->current, s->current_timewait);
	if (s->current > 0)
		fprintf(f, "%-18s %12s   the longest one of them has been there\n", "oldest",
			dur(a, sizeof(a), s->oldest_age_ms * 1e3));
	fprintf(f, "%-18s %12" PRIu64 "   since load or reset\n", "entered", s->entered);
	fprintf(f, "%-18s %12" PRIu64 "\n", "left", s->completed);
	for (i = 0; i < FW_NLEFT; i++) {
		if (s->completed)
			snprintf(a, sizeof(a), "%5.1f %%", 100.0 * s->left[i] / s->completed);
		else
			snprintf(a, sizeof(a), "%5s  ", "-");
		fprintf(f, "  %-16s %12" PRIu64 "  %s   %s\n", fw_left_name[i],
			s->left[i], a, left_help[i]);
	}
	fprintf(f, "%-18s %12" PRIu64 "   not tracked: max_tracked reached\n",
		"untracked", s->untracked);
	fprintf(f, "%-18s %12" PRIu64 "   %s\n", "probe_missed", s->probe_missed,
		s->probe_missed ? "hook calls lost: counts may be short" :
				  "no hook call lost");
	if (s->completed)
		fprintf(f, "\nlifetime   min %s   mean %s   max %s   (%" PRIu64 " completed)\n",
			dur(a, sizeof(a), s->min_us),
			dur(b, sizeof(b), (double)s->sum_us / s->completed),
			dur(c, sizeof(c), s->max_us), s->completed);
	print_hist(f, s);
}

static void print_json_obj(FILE *f, const struct fw_stats *s)
{
	unsigned int i;

	fprintf(f, "{\"fin_timeout_ms\":%" PRIu64 ",\"current\":%" PRId64
		",\"current_timewait\":%" PRId64 ",\"oldest_age_ms\":%" PRIu64
		",\"entered\":%" PRIu64 ",\"left\":{",
		s->fin_timeout_ms, s->current, s->current_timewait, s->oldest_age_ms,
		s->entered);
	for (i = 0; i < FW_NLEFT; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", fw_left_name[i], s->left[i]);
	fprintf(f, "},\"untracked\":%" PRIu64 ",\"completed\":%" PRIu64
		",\"probe_missed\":%" PRIu64 ",\"lifetime_us\":{\"min\":%" PRIu64
		",\"max\":%" PRIu64 ",\"sum\":%" PRIu64 ",\"mean\":%" PRIu64 "},\"hist_us\":[",
		s->untracked, s->completed, s->probe_missed, s->min_us, s->max_us,
		s->sum_us, s->completed ? s->sum_us / s->completed : 0);
	for (i = 0; i < FW_HIST; i++) {
		fprintf(f, "%s{\"from\":%" PRIu64 ",", i ? "," : "", fw_hist_lo(i));
		if (i == FW_HIST - 1)
			fprintf(f, "\"to\":null,");
		else
			fprintf(f, "\"to\":%" PRIu64 ",", fw_hist_lo(i + 1) - 1);
		fprintf(f, "\"count\":%" PRIu64 "}", s->hist[i]);
	}
	fprintf(f, "]}");
}

void fw_print_json(FILE *f, const struct fw_stats *s)
{
	print_json_obj(f, s);
	fputc('\n', f);
}

/* A JSON string; bytes outside printable ASCII escaped. */
void fw_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* --all-netns --json: an array, one object per namespace. */
void fw_print_json_ns(FILE *f, const struct fw_ns *ns, const struct fw_stats *s,
		      size_t n)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"netns\":%lu,\"name\":", i ? "," : "", ns[i].ino);
		if (ns[i].name[0])
			fw_json_str(f, ns[i].name);
		else
			fputs("null", f);
		if (ns[i].pid)
			fprintf(f, ",\"pid\":%d,\"stats\":", ns[i].pid);
		else
			fputs(",\"pid\":null,\"stats\":", f);
		print_json_obj(f, &s[i]);
		fputc('}', f);
	}
	fputs("]\n", f);
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP finwait_%s %s\n# TYPE finwait_%s %s\n", name, help, name, type);
}

/* name{labels,extra} value: either may be empty; no braces when both are. */
static void prom_series(FILE *f, const char *name, const char *labels,
			const char *extra, const char *value)
{
	if (!*labels && !*extra)
		fprintf(f, "finwait_%s %s\n", name, value);
	else
		fprintf(f, "finwait_%s{%s%s%s} %s\n", name, labels,
			*labels && *extra ? "," : "", extra, value);
}

/*
 * A Prometheus label value: backslash, double quote and line feed escaped
 * (the text exposition format). Truncated to @len.
 */
static void prom_escape(char *buf, size_t len, const char *s)
{
	size_t k = 0;

	for (; *s && k + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[k++] = '\\';
			buf[k++] = *s;
		} else if (*s == '\n') {
			buf[k++] = '\\';
			buf[k++] = 'n';
		} else {
			buf[k++] = *s;
		}
	}
	buf[k] = '\0';
}

#define VAL(fmt, ...) (snprintf(v, sizeof(v), fmt, __VA_ARGS__), v)
/* netns="20 digits",netns_name="255 bytes, each escaped to 2",pid="..." */
#define FW_LABELS 640

/*
 * node_exporter textfile collector format: one HELP and TYPE per metric
 * family, then a series per namespace, labelled @labels[i] ("" for none).
 * Lifetimes are whole us, so bucket i (values 2^i .. 2^(i+1) - 1 us) has
 * le = (2^(i+1) - 1) us; the last bucket is open and only +Inf covers it.
 */
static void print_prom(FILE *f, const struct fw_stats *s, char (*const labels)[FW_LABELS],
		       size_t n)
{
	char v[64], extra[64];
	unsigned int i;
	size_t k;

	prom_head(f, "fin_timeout_seconds", "gauge",
		  "net.ipv4.tcp_fin_timeout of the network namespace.");
	for (k = 0; k < n; k++)
		prom_series(f, "fin_timeout_seconds", labels[k], "",
			    VAL("%.3f", s[k].fin_timeout_ms / 1e3));
	prom_head(f, "current", "gauge", "Connections in FIN-WAIT-2 now.");
	for (k = 0; k < n; k++)
		prom_series(f, "current", labels[k], "", VAL("%" PRId64, s[k].current));
	prom_head(f, "current_timewait", "gauge",
		  "Connections in FIN-WAIT-2 now, held by a timewait minisocket.");
	for (k = 0; k < n; k++)
		prom_series(f, "current_timewait", labels[k], "",
			    VAL("%" PRId64, s[k].current_timewait));
	prom_head(f, "oldest_seconds", "gauge",
		  "Age of the oldest connection now in FIN-WAIT-2, 0 when none.");
	for (k = 0; k < n; k++)
		prom_series(f, "oldest_seconds", labels[k], "",
			    VAL("%.3f", s[k].oldest_age_ms / 1e3));
	prom_head(f, "entered_total", "counter", "Entries into FIN-WAIT-2.");
	for (k = 0; k < n; k++)
		prom_series(f, "entered_total", labels[k], "", VAL("%" PRIu64, s[k].entered));
	prom_head(f, "left_total", "counter", "Exits from FIN-WAIT-2, by reason.");
	for (k = 0; k < n; k++)
		for (i = 0; i < FW_NLEFT; i++) {
			snprintf(extra, sizeof(extra), "reason=\"%s\"", fw_left_name[i]);
			prom_series(f, "left_total", labels[k], extra,
				    VAL("%" PRIu64, s[k].left[i]));
		}
	prom_head(f, "untracked_total", "counter",
		  "Entries not tracked because max_tracked was reached.");
	for (k = 0; k < n; k++)
		prom_series(f, "untracked_total", labels[k], "", VAL("%" PRIu64, s[k].untracked));
	/* One figure for the whole module: one series, whatever the namespaces. */
	prom_head(f, "probe_missed_total", "counter",
		  "Hook calls the recursion guard turned away, all namespaces.");
	prom_series(f, "probe_missed_total", "", "", VAL("%" PRIu64, s[0].probe_missed));
	prom_head(f, "lifetime_seconds", "histogram",
		  "Time spent in FIN-WAIT-2 by connections that left it.");
	for (k = 0; k < n; k++) {
		uint64_t cum = 0;

		for (i = 0; i + 1 < FW_HIST; i++) {
			cum += s[k].hist[i];
			snprintf(extra, sizeof(extra), "le=\"%.6f\"", (fw_hist_lo(i + 1) - 1) / 1e6);
			prom_series(f, "lifetime_seconds_bucket", labels[k], extra,
				    VAL("%" PRIu64, cum));
		}
		prom_series(f, "lifetime_seconds_bucket", labels[k], "le=\"+Inf\"",
			    VAL("%" PRIu64, s[k].completed));
		prom_series(f, "lifetime_seconds_sum", labels[k], "",
			    VAL("%.6f", s[k].sum_us / 1e6));
		prom_series(f, "lifetime_seconds_count", labels[k], "",
			    VAL("%" PRIu64, s[k].completed));
	}
}

void fw_print_prometheus(FILE *f, const struct fw_stats *s)
{
	static char none[1][FW_LABELS];

	print_prom(f, s, none, 1);
}

/*
 * --all-netns --prometheus: each series labelled netns="INODE",
 * netns_name="NAME" and pid="PID" (a process in an unnamed namespace),
 * empty where there is none (one label set per family, as node_exporter
 * would fill it in). probe_missed is the module's, once.
 */
int fw_print_prometheus_ns(FILE *f, const struct fw_ns *ns, const struct fw_stats *s,
			   size_t n)
{
	char (*labels)[FW_LABELS] = calloc(n ? n : 1, sizeof(*labels));
	char name[2 * sizeof(ns->name) + 1];
	size_t k;
	int len;

	if (!labels)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		prom_escape(name, sizeof(name), ns[k].name);
		len = snprintf(labels[k], sizeof(labels[k]), "netns=\"%lu\",netns_name=\"%s\",pid=\"",
			       ns[k].ino, name);
		/*
		 * A named namespace's processes come and go (ip netns exec):
		 * its pid label stays empty, so that its series stay the same
		 * series. An unnamed one lives with its first process.
		 */
		if (ns[k].pid && !ns[k].name[0])
			len += snprintf(labels[k] + len, sizeof(labels[k]) - len, "%d", ns[k].pid);
		snprintf(labels[k] + len, sizeof(labels[k]) - len, "\"");
	}
	print_prom(f, s, labels, n);
	free(labels);
	return 0;
}

static void rate_line(FILE *f, const char *name, uint64_t prev, uint64_t now,
		      double seconds, bool have)
{
	if (have)
		fprintf(f, "%-18s %12" PRIu64 " %10.1f\n", name, now,
			(now - prev) / seconds);
	else
		fprintf(f, "%-18s %12" PRIu64 " %10s\n", name, now, "-");
}

/*
 * One block of "finwait watch": totals and per-second rates since @prev
 * (NULL for the first block). A counter that went down means a reset in
 * between: no rates for that interval.
 */
void fw_print_rates(FILE *f, const struct fw_stats *prev,
		    const struct fw_stats *now, double seconds)
{
	bool have = prev && seconds > 0 && now->entered >= prev->entered &&
		    now->untracked >= prev->untracked;
	char name[32];
	unsigned int i;

	for (i = 0; have && i < FW_NLEFT; i++)
		if (now->left[i] < prev->left[i])
			have = false;
	fprintf(f, "%-18s %12" PRId64 "   (%" PRId64 " timewait), oldest %.3f s, tcp_fin_timeout %.3f s\n",
		"in FIN-WAIT-2 now", now->current, now->current_timewait,
		now->oldest_age_ms / 1e3, now->fin_timeout_ms / 1e3);
	fprintf(f, "%-18s %12s %10s\n", "", "total", "per s");
	rate_line(f, "entered", have ? prev->entered : 0, now->entered, seconds, have);
	for (i = 0; i < FW_NLEFT; i++) {
		snprintf(name, sizeof(name), "left %s", fw_left_name[i]);
		rate_line(f, name, have ? prev->left[i] : 0, now->left[i], seconds, have);
	}
	rate_line(f, "untracked", have ? prev->untracked : 0, now->untracked,
		  seconds, have);
	if (prev && !have)
		fprintf(f, "(counters went down: reset in this interval)\n");
}
