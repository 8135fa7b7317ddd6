// SPDX-License-Identifier: GPL-2.0
/*
 * finwait: read finwait_stats, and run the stopped-peer experiment.
 *
 *   finwait stats    [--json | --prometheus] [--netns NAME|PID | --all-netns | --file F]
 *   finwait watch    [-i SECONDS] [-n COUNT] [--netns NAME|PID] [--file F]
 *   finwait ls       [--netns NAME|PID] [--json]              (ls.c)
 *   finwait reset    [--netns NAME|PID]
 *   finwait scenario ENDING [options]      (scenario.c)
 *
 * Exit: 0; 1 module not loaded, a failure, or a scenario whose observations
 * disagree; 2 bad usage or missing privileges (nothing changed); 130
 * interrupted scenario.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "finwait.h"

#ifndef FW_VERSION
#error "FW_VERSION comes from the top-level VERSION file (see Makefile)"
#endif

int fw_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "finwait%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'finwait %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

/* A whole number in [min, max]; -1 when @s is not one. */
int fw_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Decimal seconds in [min, max]; -1 when @s is not one. */
int fw_parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char usage[] =
"Usage: finwait COMMAND [OPTIONS]\n"
"\n"
"How long TCP connections stay in FIN-WAIT-2 and how they leave it, from the\n"
"finwait_stats kernel module's " FW_PROC ".\n"
"\n"
"Commands:\n"
"  stats     [--json | --prometheus] [--netns NAME|PID | --all-netns | --file FILE]\n"
"            [--output FILE]\n"
"            the counters, exit reasons and lifetime histogram; --all-netns:\n"
"            of every network namespace, each labelled (inode, name, a PID);\n"
"            --output: into FILE, replaced whole (for node_exporter's textfile);\n"
"            removed while the module is not loaded\n"
"  watch     [-i SECONDS] [-n COUNT] [--netns NAME|PID] [--file FILE]\n"
"            totals and per-second rates, refreshed every SECONDS (default 1)\n"
"  ls        [--netns NAME|PID] [--json]\n"
"            the connections now in FIN-WAIT-2, oldest first: ends, holder,\n"
"            age, timer (finwait_stats' /proc/net/finwait_conns and sock_diag)\n"
"  reset     [--netns NAME|PID]\n"
"            zero the counters of a network namespace (CAP_NET_ADMIN)\n"
"  scenario  stopped-peer | peer-close | peer-reset | half-close [OPTIONS]\n"
"            the stopped-peer experiment: see 'finwait scenario --help'\n"
"\n"
"Options:\n"
"  --netns NAME|PID   the namespace of 'ip netns' NAME, or of process PID\n"
"  --file FILE        read FILE (a saved copy of the stats) instead\n"
"  -h, --help         this text;  -V, --version  the version\n"
"\n"
"Exit status: 0 ok; 1 module not loaded, failure, or a scenario whose\n"
"observations disagree; 2 bad usage or missing privileges; 130 interrupted.\n"
"See finwait(8).\n";

enum { OPT_JSON = 256, OPT_PROM, OPT_NETNS, OPT_FILE, OPT_ALL, OPT_OUTPUT };

struct opts {
	const char *netns, *file, *output;
	bool all_netns;
	int format;		/* 0 human, OPT_JSON, OPT_PROM */
	double interval;
	long count;
};

/* Options of stats, watch and reset; @cmd names the command. */
static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "prometheus", no_argument, NULL, OPT_PROM },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "all-netns", no_argument, NULL, OPT_ALL },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool is_stats = !strcmp(cmd, "stats"), is_watch = !strcmp(cmd, "watch");
	int c, idx;

	o->interval = 1;
	opterr = 0;
	optind = 1;
	while ((idx = -1, c = getopt_long(argc, argv, ":i:n:h", lo, &idx)) != -1) {
		switch (c) {
		case OPT_JSON:
		case OPT_PROM:
			if (!is_stats)
				goto bad;
			if (o->format && o->format != c)
				return fw_usage_error(cmd, "--json and --prometheus exclude each other");
			o->format = c;
			break;
		case OPT_NETNS:
			if (!strcmp(optarg, "new"))
				return fw_usage_error(cmd, "--netns new is only for 'scenario'");
			o->netns = optarg;
			break;
		case OPT_FILE:
			if (!is_stats && !is_watch)
				goto bad;
			o->file = optarg;
			break;
		case OPT_ALL:
			if (!is_stats)
				goto bad;
			o->all_netns = true;
			break;
		case OPT_OUTPUT:
			if (!is_stats)
				goto bad;
			if (!*optarg)
				return fw_usage_error(cmd, "--output wants a file name");
			o->output = optarg;
			break;
		case 'i':
			if (!is_watch)
				goto bad;
			if (fw_parse_seconds(optarg, 0.1, 86400, &o->interval))
				return fw_usage_error(cmd, "-i wants seconds from 0.1 to 86400, got '%s'",
						      optarg);
			break;
		case 'n':
			if (!is_watch)
				goto bad;
			if (fw_parse_long(optarg, 1, LONG_MAX, &o->count))
				return fw_usage_error(cmd, "-n wants a count of 1 or more, got '%s'",
						      optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case ':':
			return fw_usage_error(cmd, "%s needs a value", argv[optind - 1]);
		default:
			goto bad;
		}
	}
	if (optind < argc)
		return fw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (o->file && o->netns)
		return fw_usage_error(cmd, "--file and --netns exclude each other");
	if (o->all_netns && (o->file || o->netns))
		return fw_usage_error(cmd, "--all-netns excludes --%s", o->file ? "file" : "netns");
	return 0;
bad:
	/* A known option of another command, or no option at all. */
	if (idx >= 0)
		return fw_usage_error(cmd, "unknown option '--%s'", lo[idx].name);
	if (c != '?')
		return fw_usage_error(cmd, "unknown option '-%c'", c);
	if (!optopt)
		return fw_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	if (!strncmp(argv[optind - 1], "--", 2))	/* "--json=1" */
		return fw_usage_error(cmd, "bad option '%s'", argv[optind - 1]);
	return fw_usage_error(cmd, "unknown option '-%c'", optopt);
}

/* Join o->netns when given; 0 or an exit code. */
static int enter(const char *cmd, const struct opts *o)
{
	char err[512];
	int e;

	if (!o->netns)
		return 0;
	e = fw_enter_netns(o->netns, err, sizeof(err));
	if (!e)
		return 0;
	return fw_usage_error(cmd, "%s", err);
}

/* Read the stats; 0 or an exit code (the message printed). */
static int load(const char *cmd, const struct opts *o, struct fw_stats *s)
{
	const char *path = o->file ? o->file : FW_PROC;
	char err[512];
	int e;

	e = fw_read_stats(path, s, err, sizeof(err));
	if (!e)
		return 0;
	if (e == -ENOENT && !o->file)
		fprintf(stderr, "finwait %s: %s is missing: the finwait_stats module is not loaded (modprobe finwait_stats)\n",
			cmd, FW_PROC);
	else
		fprintf(stderr, "finwait %s: %s\n", cmd, err);
	return EXIT_DISAGREE;
}

/*
 * stats --all-netns: every network namespace of the host, in inode order.
 * One that vanishes while we read is left out, with a line on stderr.
 */
static int stats_all(const struct opts *o)
{
	struct fw_stats s0, *s = NULL;
	struct fw_ns *ns = NULL;
	size_t n = 0, i, k = 0;
	char err[512], where[400];
	int rc = 0, e;

	/* Our own namespace's file first: "not loaded" said once, as stats says it. */
	rc = load("stats", o, &s0);
	if (rc)
		return rc;
	e = fw_list_netns(&ns, &n, err, sizeof(err));
	if (e) {
		fprintf(stderr, "finwait stats: %s\n", err);
		return EXIT_DISAGREE;
	}
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		free(ns);
		fprintf(stderr, "finwait stats: %s\n", strerror(ENOMEM));
		return EXIT_DISAGREE;
	}
	for (i = 0; i < n; i++) {
		e = fw_read_netns_stats(&ns[i], &s[k], err, sizeof(err));
		if (e) {
			fprintf(stderr, "finwait stats: network namespace %lu left out: %s\n",
				ns[i].ino, err);
			continue;
		}
		ns[k++] = ns[i];
	}
	if (o->format == OPT_JSON) {
		fw_print_json_ns(stdout, ns, s, k);
	} else if (o->format == OPT_PROM) {
		if (fw_print_prometheus_ns(stdout, ns, s, k))
			rc = EXIT_DISAGREE;
	} else {
		for (i = 0; i < k; i++) {
			int len = snprintf(where, sizeof(where), "network namespace %lu", ns[i].ino);

			if (ns[i].name[0])
				len += snprintf(where + len, sizeof(where) - len, " (%s)", ns[i].name);
			if (ns[i].pid)
				snprintf(where + len, sizeof(where) - len, ", pid %d", ns[i].pid);
			if (i)
				putchar('\n');
			fw_print_human(stdout, &s[i], where);
		}
	}
	free(s);
	free(ns);
	return fflush(stdout) || rc ? EXIT_DISAGREE : 0;
}

/*
 * --output FILE: standard output goes to FILE.tmp.PID in FILE's directory,
 * renamed over FILE once written whole, so that a reader (node_exporter's
 * textfile collector) never sees half a file. 0, or an exit code.
 */
static char out_tmp[PATH_MAX];

static int output_open(const char *file)
{
	int fd;

	if (snprintf(out_tmp, sizeof(out_tmp), "%s.tmp.%d", file, (int)getpid()) >=
	    (int)sizeof(out_tmp))
		return fw_usage_error("stats", "--output: file name too long");
	fd = open(out_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	/* Readable by the collector (node_exporter runs as its own user), whatever the umask. */
	if (fd >= 0 && fchmod(fd, 0644)) {
		fprintf(stderr, "finwait stats: --output: %s: %s\n", out_tmp, strerror(errno));
		close(fd);
		unlink(out_tmp);
		out_tmp[0] = '\0';
		return EXIT_DISAGREE;
	}
	if (fd < 0) {
		fprintf(stderr, "finwait stats: --output: %s: %s\n", out_tmp, strerror(errno));
		out_tmp[0] = '\0';
		return EXIT_DISAGREE;
	}
	fflush(stdout);
	if (dup2(fd, STDOUT_FILENO) < 0) {
		fprintf(stderr, "finwait stats: --output: %s\n", strerror(errno));
		close(fd);
		unlink(out_tmp);
		out_tmp[0] = '\0';
		return EXIT_DISAGREE;
	}
	close(fd);
	return 0;
}

/* Rename the written file over @file when @rc is 0; else drop it. */
static int output_close(const char *file, int rc)
{
	if (fflush(stdout) || fsync(STDOUT_FILENO))
		rc = rc ? rc : EXIT_DISAGREE;
	if (!rc && rename(out_tmp, file)) {
		fprintf(stderr, "finwait stats: --output: %s: %s\n", file, strerror(errno));
		rc = EXIT_DISAGREE;
	}
	if (rc)
		unlink(out_tmp);
	return rc;
}

static int stats_one(struct opts *o)
{
	struct fw_stats s;
	char where[300];
	int rc;

	rc = enter("stats", o);
	if (!rc)
		rc = load("stats", o, &s);
	if (rc)
		return rc;
	if (o->file)
		snprintf(where, sizeof(where), "file %s", o->file);
	else
		snprintf(where, sizeof(where), "network namespace %s",
			 o->netns ? o->netns : "of this process");
	if (o->format == OPT_JSON)
		fw_print_json(stdout, &s);
	else if (o->format == OPT_PROM)
		fw_print_prometheus(stdout, &s);
	else
		fw_print_human(stdout, &s, where);
	return fflush(stdout) ? EXIT_DISAGREE : 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc;

	rc = parse_opts("stats", argc, argv, &o);
	if (rc)
		return rc;
	if (o.output) {
		rc = output_open(o.output);
		if (rc)
			return rc;
	}
	rc = o.all_netns ? stats_all(&o) : stats_one(&o);
	if (o.output)
		rc = output_close(o.output, rc);
	/* The module unloaded: no numbers at all rather than stale ones. */
	if (o.output && rc && !o.file && access(FW_PROC, F_OK) && errno == ENOENT &&
	    !unlink(o.output))
		fprintf(stderr, "finwait stats: removed %s\n", o.output);
	return rc;
}

/*
 * Refresh in place on a terminal; one block per interval otherwise. Ends
 * after -n blocks or on Ctrl+C (exit 0 both ways).
 */
static int cmd_watch(int argc, char **argv)
{
	struct fw_stats prev, now;
	bool tty = isatty(STDOUT_FILENO);
	struct opts o = { 0 };
	double t_prev = 0, t, next;
	long n = 0;
	int rc;

	rc = parse_opts("watch", argc, argv, &o);
	if (!rc)
		rc = enter("watch", &o);
	if (rc)
		return rc;
	fw_catch_signals();
	next = fw_now_s();
	while (!fw_interrupted) {
		char stamp[32];
		time_t wall = time(NULL);

		rc = load("watch", &o, &now);
		if (rc)
			return rc;
		t = fw_now_s();
		strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&wall));
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (n)
			putchar('\n');
		printf("finwait watch, network namespace %s, every %g s, %s%s\n",
		       o.netns ? o.netns : "of this process", o.interval, stamp,
		       tty ? " (Ctrl+C ends)" : "");
		fw_print_rates(stdout, n ? &prev : NULL, &now, t - t_prev);
		fflush(stdout);
		prev = now;
		t_prev = t;
		if (++n == o.count)
			break;
		next += o.interval;
		fw_sleep_s(next - fw_now_s());
	}
	return 0;
}

static int cmd_reset(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc, fd, e = 0;

	rc = parse_opts("reset", argc, argv, &o);
	if (!rc)
		rc = enter("reset", &o);
	if (rc)
		return rc;
	fd = open(FW_PROC, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		e = errno;
	else if (write(fd, "reset\n", 6) != 6)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (!e)
		return 0;
	if (e == ENOENT) {
		fprintf(stderr, "finwait reset: %s is missing: the finwait_stats module is not loaded\n",
			FW_PROC);
		return EXIT_DISAGREE;
	}
	if (e == EPERM || e == EACCES)
		return fw_usage_error("reset", "%s: %s: needs CAP_NET_ADMIN in the namespace's user namespace",
				      FW_PROC, strerror(e));
	fprintf(stderr, "finwait reset: %s: %s\n", FW_PROC, strerror(e));
	return EXIT_DISAGREE;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return fw_usage_error(NULL, "no command given");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("finwait %s\n", FW_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "reset"))
		return cmd_reset(argc - 1, argv + 1);
	if (!strcmp(cmd, "scenario"))
		return fw_scenario_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "ls"))
		return fw_ls_main(argc - 1, argv + 1);
	return fw_usage_error(NULL, "unknown command '%s'", cmd);
}
