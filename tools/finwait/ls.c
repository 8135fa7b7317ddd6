// SPDX-License-Identifier: GPL-2.0
/*
 * finwait ls: the connections of a network namespace now in FIN-WAIT-2,
 * oldest first. The module knows what only it can (when each entered
 * FIN-WAIT-2, and which object holds it): /proc/net/finwait_conns. The
 * timer's time left comes from sock_diag, as ss -o shows it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "finwait.h"

#define FW_CONNS "/proc/net/finwait_conns"

struct row {
	char local[64], remote[64];
	bool tw;
	uint64_t age_ms;
	bool diag;			/* sock_diag found the socket */
	struct fw_sock_state st;
};

static const char usage[] =
"Usage: finwait ls [--netns NAME|PID] [--json]\n"
"\n"
"The connections of the network namespace now in FIN-WAIT-2, oldest first:\n"
"their two ends, the object that holds each (sk: the full socket, tw: a\n"
"timewait socket), the time since it entered FIN-WAIT-2 (from finwait_stats'\n"
FW_CONNS ") and its timer's time left (sock_diag, as ss -o).\n"
"\n"
"  --netns NAME|PID   the namespace of 'ip netns' NAME, or of process PID\n"
"  --json             one JSON array\n";

/* "ADDR:PORT" or "[ADDR6]:PORT", as ss and %pISpc print them. */
static int parse_end(const char *s, int *family, void *addr, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon;
	long p;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || end - s - 1 >= (long)sizeof(host))
			return -1;
		memcpy(host, s + 1, end - s - 1);
		host[end - s - 1] = '\0';
		*family = AF_INET6;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon - s >= (long)sizeof(host))
			return -1;
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		*family = AF_INET;
	}
	if (inet_pton(*family, host, addr) != 1 || fw_parse_long(colon + 1, 1, 65535, &p))
		return -1;
	*port = p;
	return 0;
}

/* The column of @name in the header line @hdr, or -1. */
static int column(const char *hdr, const char *name)
{
	char buf[512], *tok, *save;
	int i = 0;

	snprintf(buf, sizeof(buf), "%s", hdr);
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), i++)
		if (!strcmp(tok, name))
			return i;
	return -1;
}

static int by_age(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->age_ms < y->age_ms ? 1 : x->age_ms > y->age_ms ? -1 : 0;
}

/* The file's rows, with sock_diag's view of each; -errno with @err. */
static int read_rows(struct row **out, size_t *count, char *err, size_t errlen)
{
	int c_local, c_remote, c_holder, c_age, nl, e = 0;
	size_t n = 0, cap = 0, lineno = 1;
	char *line = NULL;
	size_t len = 0;
	struct row *v = NULL;
	FILE *f;

	f = fopen(FW_CONNS, "re");
	if (!f) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", FW_CONNS, strerror(-e));
		return e;
	}
	if (getline(&line, &len, f) < 0 ||
	    (c_local = column(line, "local")) < 0 || (c_remote = column(line, "remote")) < 0 ||
	    (c_holder = column(line, "holder")) < 0 || (c_age = column(line, "age_ms")) < 0) {
		snprintf(err, errlen, "%s: no header naming local, remote, holder and age_ms",
			 FW_CONNS);
		fclose(f);
		free(line);
		return -EINVAL;
	}
	nl = fw_diag_open();
	while (!e && getline(&line, &len, f) >= 0) {
		char *tok, *save;
		struct row r = { 0 };
		int i, family, got = 0;
		uint8_t la[16], ra[16];
		uint16_t lp, rp;

		lineno++;
		for (tok = strtok_r(line, " \t\n", &save), i = 0; tok;
		     tok = strtok_r(NULL, " \t\n", &save), i++) {
			char *end;

			if (i == c_local && snprintf(r.local, sizeof(r.local), "%s", tok) > 0)
				got |= 1;
			else if (i == c_remote && snprintf(r.remote, sizeof(r.remote), "%s", tok) > 0)
				got |= 2;
			else if (i == c_holder && (!strcmp(tok, "tw") || !strcmp(tok, "sk")))
				r.tw = !strcmp(tok, "tw"), got |= 4;
			else if (i == c_age) {
				errno = 0;
				r.age_ms = strtoull(tok, &end, 10);
				if (!errno && !*end && *tok != '-')
					got |= 8;
			}
		}
		if (got != 15 || parse_end(r.local, &family, la, &lp) ||
		    parse_end(r.remote, &i, ra, &rp) || i != family) {
			snprintf(err, errlen, "%s line %zu: not 'local remote holder age_ms'",
				 FW_CONNS, lineno);
			e = -EINVAL;
			break;
		}
		r.diag = nl >= 0 && fw_diag_lookup(nl, family, la, lp, ra, rp, &r.st) >= 0 &&
			 r.st.state;
		if (n == cap) {
			struct row *m = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!m) {
				e = -ENOMEM;
				snprintf(err, errlen, "%s", strerror(ENOMEM));
				break;
			}
			v = m;
		}
		v[n++] = r;
	}
	if (nl >= 0)
		close(nl);
	fclose(f);
	free(line);
	if (e) {
		free(v);
		return e;
	}
	qsort(v, n, sizeof(*v), by_age);
	*out = v;
	*count = n;
	return 0;
}

static void print_human(const struct row *v, size_t n)
{
	size_t i;

	printf("%-47s %-47s %-6s %12s  %s\n", "local", "remote", "holder", "age", "timer");
	for (i = 0; i < n; i++) {
		const struct row *r = &v[i];

		printf("%-47s %-47s %-6s %10.3f s  ", r->local, r->remote, r->tw ? "tw" : "sk",
		       r->age_ms / 1e3);
		if (!r->diag)
			printf("-\n");
		else if (r->st.timer)
			printf("%s %.3f s left\n", fw_timer_name(r->st.timer), r->st.expires_ms / 1e3);
		else
			printf("none\n");
	}
	printf("%zu connection%s in FIN-WAIT-2\n", n, n == 1 ? "" : "s");
}

static void print_json(const struct row *v, size_t n)
{
	size_t i;

	putchar('[');
	for (i = 0; i < n; i++) {
		const struct row *r = &v[i];

		printf("%s{\"local\":", i ? "," : "");
		fw_json_str(stdout, r->local);
		printf(",\"remote\":");
		fw_json_str(stdout, r->remote);
		printf(",\"holder\":\"%s\",\"age_ms\":%" PRIu64 ",\"state\":", r->tw ? "tw" : "sk",
		       r->age_ms);
		if (!r->diag)
			printf("null,\"timer\":null,\"timer_left_ms\":null}");
		else if (!r->st.timer)
			printf("\"%s\",\"timer\":null,\"timer_left_ms\":null}",
			       fw_tcp_state_name(r->st.state));
		else
			printf("\"%s\",\"timer\":\"%s\",\"timer_left_ms\":%u}",
			       fw_tcp_state_name(r->st.state), fw_timer_name(r->st.timer),
			       r->st.expires_ms);
	}
	printf("]\n");
}

int fw_ls_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *netns = NULL;
	struct row *v = NULL;
	bool json = false;
	char err[512];
	size_t n = 0;
	int c, e;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'N':
			if (!strcmp(optarg, "new"))
				return fw_usage_error("ls", "--netns new is only for 'scenario'");
			netns = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return fw_usage_error("ls", "%s needs a value", argv[optind - 1]);
		default:
			if (!optopt || !strncmp(argv[optind - 1], "--", 2))
				return fw_usage_error("ls", "unknown option '%s'", argv[optind - 1]);
			return fw_usage_error("ls", "unknown option '-%c'", optopt);
		}
	}
	if (optind < argc)
		return fw_usage_error("ls", "unexpected argument '%s'", argv[optind]);
	if (netns) {
		e = fw_enter_netns(netns, err, sizeof(err));
		if (e)
			return fw_usage_error("ls", "%s", err);
	}
	e = read_rows(&v, &n, err, sizeof(err));
	if (e == -ENOENT && !access(FW_PROC, F_OK)) {
		fprintf(stderr, "finwait ls: %s is missing: the loaded finwait_stats predates it (reload the module)\n",
			FW_CONNS);
		return EXIT_DISAGREE;
	}
	if (e == -ENOENT) {
		fprintf(stderr, "finwait ls: %s is missing: the finwait_stats module is not loaded (modprobe finwait_stats)\n",
			FW_CONNS);
		return EXIT_DISAGREE;
	}
	if (e) {
		fprintf(stderr, "finwait ls: %s\n", err);
		return EXIT_DISAGREE;
	}
	if (json)
		print_json(v, n);
	else
		print_human(v, n);
	free(v);
	return fflush(stdout) ? EXIT_DISAGREE : 0;
}
