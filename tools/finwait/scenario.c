// SPDX-License-Identifier: GPL-2.0
/*
 * finwait scenario: the stopped-peer experiment and its variants.
 *
 * A server process accepts one connection and is stopped with SIGSTOP, as
 * Ctrl+Z stops it in a shell: it never calls close(). The client (this
 * process) closes; its socket's FIN is ACKed by the server's kernel and it
 * sits in FIN-WAIT-2. We follow that socket through NETLINK_SOCK_DIAG every
 * 10 ms until it leaves FIN-WAIT-2, then compare three things: what we saw,
 * what the kernel's rules predict, and what finwait_stats recorded.
 *
 *   stopped-peer      the server never closes: the FIN-WAIT-2 timer ends it
 *   peer-close        after S s the server is continued and close()s: its
 *                     FIN moves us to TIME-WAIT
 *   peer-reset        the same with SO_LINGER 0: its RST ends the socket
 *   half-close        we shutdown(SHUT_WR) instead of close(): no timer
 *                     runs until we close() S s later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "finwait.h"

#define POLL_S 0.01
#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21
static const char *const ending_name[] = {
	"stopped-peer", "peer-close", "peer-reset", "half-close",
};

struct scen {
	enum fw_ending ending;
	double at;		/* peer-*: --after; half-close: --hold */
	long fin_timeout;	/* -1: as the namespace has it */
	int port;		/* 0: the kernel picks */
	int family;
	const char *netns;	/* "new", NAME or PID; NULL: this process's */
};

static const char usage[] =
"Usage: finwait scenario ENDING [OPTIONS]\n"
"\n"
"The stopped-peer experiment: a server accepts a connection and is stopped\n"
"with SIGSTOP (as Ctrl+Z would), the client closes, and its socket sits in\n"
"FIN-WAIT-2. Prints the socket's state and timer (as 'ss -o' shows them)\n"
"until it leaves FIN-WAIT-2, then the lifetime seen, the one the kernel's\n"
"rules predict and the one finwait_stats recorded.\n"
"\n"
"Endings:\n"
"  stopped-peer          the server never closes: tcp_fin_timeout ends it\n"
"  peer-close [--after S]  the server is continued and close()s after S s\n"
"  peer-reset [--after S]  the same with SO_LINGER 0: an RST\n"
"  half-close [--hold S]   the client shutdown(SHUT_WR)s, close()s S s later\n"
"\n"
"Options:\n"
"  --fin-timeout S    set net.ipv4.tcp_fin_timeout to S (1..86400) for the\n"
"                     run, restored afterwards\n"
"  --port P           the server's port (1..65535; default: any free one)\n"
"  -6                 IPv6 (::1) instead of IPv4 (127.0.0.1)\n"
"  --netns new|NAME|PID  a fresh namespace (default as root), 'ip netns'\n"
"                     NAME, or process PID's; default for others: this one\n"
"  --after S, --hold S   seconds, 0..3600, decimals allowed (default 1)\n"
"\n"
"Exit status: 0 all agree; 1 they disagree or the run failed; 2 bad usage\n"
"or missing privileges (nothing changed); 130 interrupted.\n";

enum { OPT_FIN = 256, OPT_PORT, OPT_NETNS, OPT_AFTER, OPT_HOLD };

static int parse(int argc, char **argv, struct scen *sc)
{
	static const struct option lo[] = {
		{ "fin-timeout", required_argument, NULL, OPT_FIN },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = argc > 1 ? argv[1] : "";
	unsigned int i;
	double v;
	long port;
	int c, idx;

	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		fputs(usage, stdout);
		exit(0);
	}
	for (i = 0; i < 4; i++)
		if (!strcmp(name, ending_name[i]))
			break;
	if (i == 4 && !*name)
		return fw_usage_error("scenario", "which ending? stopped-peer, peer-close, peer-reset or half-close");
	if (i == 4)
		return fw_usage_error("scenario", "unknown ending '%s'", name);
	*sc = (struct scen){ .ending = i, .at = 1, .fin_timeout = -1,
			     .family = AF_INET };
	if (fw_has_cap(CAP_SYS_ADMIN_BIT))
		sc->netns = "new";
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	while ((idx = -1, c = getopt_long(argc, argv, ":6h", lo, &idx)) != -1) {
		switch (c) {
		case OPT_FIN:
			if (fw_parse_long(optarg, 1, 86400, &sc->fin_timeout))
				return fw_usage_error("scenario", "--fin-timeout wants whole seconds from 1 to 86400, got '%s'",
						      optarg);
			break;
		case OPT_PORT:
			if (fw_parse_long(optarg, 1, 65535, &port))
				return fw_usage_error("scenario", "--port wants 1 to 65535, got '%s'",
						      optarg);
			sc->port = port;
			break;
		case '6':
			sc->family = AF_INET6;
			break;
		case OPT_NETNS:
			sc->netns = optarg;
			break;
		case OPT_AFTER:
		case OPT_HOLD:
			if ((c == OPT_AFTER) != (sc->ending == FW_PEER_CLOSE ||
						 sc->ending == FW_PEER_RESET) ||
			    (c == OPT_HOLD) != (sc->ending == FW_HALF_CLOSE))
				return fw_usage_error("scenario", "--%s is not an option of %s",
						      lo[idx].name, ending_name[sc->ending]);
			if (fw_parse_seconds(optarg, 0, 3600, &v))
				return fw_usage_error("scenario", "--%s wants seconds from 0 to 3600, got '%s'",
						      lo[idx].name, optarg);
			sc->at = v;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case ':':
			return fw_usage_error("scenario", "%s needs a value", argv[optind - 1]);
		default:
			if (!optopt)
				return fw_usage_error("scenario", "unknown option '%s'",
						      argv[optind - 1]);
			if (!strncmp(argv[optind - 1], "--", 2))	/* "--help=x" */
				return fw_usage_error("scenario", "bad option '%s'",
						      argv[optind - 1]);
			return fw_usage_error("scenario", "unknown option '-%c'", optopt);
		}
	}
	if (optind < argc)
		return fw_usage_error("scenario", "unexpected argument '%s'", argv[optind]);
	/* Privileges before anything changes. */
	if (sc->netns && !fw_has_cap(CAP_SYS_ADMIN_BIT))
		return fw_usage_error("scenario", "--netns %s needs CAP_SYS_ADMIN (run as root)",
				      sc->netns);
	if (sc->fin_timeout >= 0 && (!fw_has_cap(CAP_NET_ADMIN_BIT) ||
				     faccessat(AT_FDCWD, FW_SYSCTL_FIN, W_OK, AT_EACCESS)))
		return fw_usage_error("scenario", "--fin-timeout needs write access to %s (run as root)",
				      FW_SYSCTL_FIN);
	return 0;
}

/* The server: accept, report, then do what the control pipe says. */
static void server(int lfd, int up_w, int ctl_r)
{
	struct linger lg = { 1, 0 };
	char c;
	int fd;

	fw_child_signals();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	c = fd < 0 ? 'e' : 'a';
	if (write(up_w, &c, 1) != 1 || fd < 0)
		_exit(1);
	while (read(ctl_r, &c, 1) == 1) {
		if (c == 'r')
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (write(up_w, "d", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

struct conn {
	int family;
	union {
		struct in_addr a4;
		struct in6_addr a6;
	} addr;
	uint16_t sport, dport;	/* client's port, server's port */
	char text[128];
};

static void describe(struct conn *cn)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = cn->family == AF_INET6;

	inet_ntop(cn->family, &cn->addr, a, sizeof(a));
	snprintf(cn->text, sizeof(cn->text), "%s%s%s:%u -> %s%s%s:%u",
		 v6 ? "[" : "", a, v6 ? "]" : "", cn->sport,
		 v6 ? "[" : "", a, v6 ? "]" : "", cn->dport);
}

static void print_state(double t, const struct fw_sock_state *st)
{
	printf("  %+8.3fs  %-11s", t, fw_tcp_state_name(st->state));
	if (st->state && st->timer)
		printf(" timer:(%s,%.3fs,%u)", fw_timer_name(st->timer),
		       st->expires_ms / 1e3, st->retrans);
	else if (st->state)
		printf(" no timer");
	else
		printf(" no socket with this 4-tuple any more");
	putchar('\n');
}

struct result {
	bool seen_fw2, ended;
	double last_fw2, exit_t;	/* last poll in FIN-WAIT-2, first after */
	int exit_state;
};

/* Follow the client socket until it leaves FIN-WAIT-2. */
static int follow(const struct scen *sc, const struct conn *cn, int nl,
		  int *cfd, int ctl_w, int up_r, pid_t srv, double t0,
		  double deadline, struct result *r)
{
	struct fw_sock_state st, prev = { .state = -1 };
	bool acted = sc->ending == FW_STOPPED_PEER;
	double t, next = t0;
	long printed_s = -1;
	char c;
	int e;

	while (!fw_interrupted) {
		t = fw_now_s() - t0;
		e = fw_diag_lookup(nl, cn->family, &cn->addr, cn->sport, &cn->addr,
				   cn->dport, &st);
		if (e < 0)
			return e;
		if (st.state != prev.state || st.timer != prev.timer ||
		    (long)t > printed_s) {
			print_state(t, &st);
			printed_s = (long)t;
		}
		prev = st;
		r->exit_state = st.state;
		if (st.state == TCP_FIN_WAIT2) {
			r->seen_fw2 = true;
			r->last_fw2 = t;
		} else if (r->seen_fw2 || !st.state) {
			r->ended = true;
			r->exit_t = t;
			return 0;
		}
		if (t > deadline)
			return 0;
		/* The ending's action, once FIN-WAIT-2 has been seen. */
		if (!acted && r->seen_fw2 && t >= sc->at) {
			acted = true;
			if (sc->ending == FW_HALF_CLOSE) {
				close(*cfd);
				*cfd = -1;
				printf("  %+8.3fs  client close()s: the socket is an orphan now\n",
				       fw_now_s() - t0);
			} else {
				if (write(ctl_w, sc->ending == FW_PEER_RESET ? "r" : "c", 1) != 1 ||
				    kill(srv, SIGCONT))
					return -errno;
				if (!fw_wait_readable(up_r, 5) || read(up_r, &c, 1) != 1)
					return fw_interrupted ? 0 : -ETIMEDOUT;
				printf("  %+8.3fs  server continued (SIGCONT), close()s%s\n",
				       fw_now_s() - t0, sc->ending == FW_PEER_RESET ?
				       " with SO_LINGER 0: an RST" : ": its FIN");
			}
			continue;	/* look again at once */
		}
		next += POLL_S;
		fw_sleep_s(next - fw_now_s());
	}
	return 0;
}

/* Module counters: Δ between two reads. */
struct record {
	bool loaded, single;
	uint64_t completed, entered;
	double lifetime;
	int reason;
};

static void module_delta(const struct fw_stats *a, const struct fw_stats *b,
			 struct record *m)
{
	unsigned int i;

	m->entered = b->entered - a->entered;
	m->completed = b->completed - a->completed;
	m->reason = -1;
	for (i = 0; i < FW_NLEFT; i++)
		if (b->left[i] != a->left[i])
			m->reason = i;
	m->single = b->entered >= a->entered && m->entered == 1 && m->completed == 1;
	m->lifetime = (b->sum_us - a->sum_us) / 1e6;
}

static int report(const struct scen *sc, const struct conn *cn, long tmo,
		  const struct result *r, const struct record *m)
{
	bool fresh = sc->netns && !strcmp(sc->netns, "new");
	struct fw_expect e;
	bool agree = true;

	fw_expect(sc->ending, sc->at, tmo, &e);
	printf("\nFIN-WAIT-2 lifetime of %s\n", cn->text);
	if (!r->seen_fw2) {
		printf("  observed                    never in FIN-WAIT-2 (now %s)\n",
		       fw_tcp_state_name(r->exit_state));
		agree = false;
	} else if (!r->ended) {
		printf("  observed                    still in FIN-WAIT-2 at +%.3f s: gave up\n",
		       r->last_fw2);
		agree = false;
	} else {
		printf("  observed (sock_diag)        %.3f s (left between +%.3f and +%.3f s), then %s\n",
		       r->exit_t, r->last_fw2, r->exit_t, fw_tcp_state_name(r->exit_state));
		agree = fw_seen_agrees(&e, r->last_fw2, r->exit_t, r->exit_state);
	}
	printf("  expected                    %.3f s, %s (tcp_fin_timeout %ld s%s)\n",
	       e.lifetime, fw_left_name[e.reason], tmo,
	       tmo > FW_TIMEWAIT_LEN_S ? ": above 60 s an orphan gets 2 x (tmo - 60)" : "");
	if (!m->loaded) {
		printf("  finwait_stats               not loaded: no record (modprobe finwait_stats)\n");
	} else if (!m->completed) {
		printf("  finwait_stats               recorded no exit\n");
		agree = false;
	} else if (!m->single) {
		printf("  finwait_stats               %llu entries, %llu exits in this namespace meanwhile: %s\n",
		       (unsigned long long)m->entered, (unsigned long long)m->completed,
		       fresh ? "a fresh namespace must show exactly 1" :
			       "this connection cannot be singled out");
		if (fresh)
			agree = false;
	} else {
		printf("  finwait_stats recorded      %.3f s, left_%s\n", m->lifetime,
		       m->reason >= 0 ? fw_left_name[m->reason] : "?");
		if (!r->ended || !fw_record_agrees(&e, m->lifetime, m->reason,
						   r->last_fw2, r->exit_t))
			agree = false;
	}
	if (agree) {
		printf("They agree.\n");
		return 0;
	}
	printf("They DISAGREE: the kernel's rules give %.3f to %.3f s and an exit by %s%s.\n",
	       e.lo, e.hi, fw_left_name[e.reason],
	       e.state == TCP_TIME_WAIT ? " to TIME-WAIT" : "");
	return EXIT_DISAGREE;
}

static int fail(const char *what, int e)
{
	fprintf(stderr, "finwait scenario: %s: %s\n", what, strerror(e < 0 ? -e : e));
	return EXIT_DISAGREE;
}

/* A step of the run failed: 130 when a signal cut it short. */
static int step_fail(const char *what, int e)
{
	return fw_interrupted ? EXIT_INTERRUPTED : fail(what, e);
}

static int run(const struct scen *sc)
{
	struct fw_stats before, after;
	struct sockaddr_storage ss = { 0 };
	struct record m = { 0 };
	struct result r = { 0 };
	struct conn cn = { .family = sc->family };
	int lfd = -1, cfd = -1, nl = -1, up[2] = { -1, -1 }, ctl[2] = { -1, -1 };
	socklen_t sl = sizeof(ss);
	bool restore = false;
	char err[512];
	long old_tmo, tmo;
	pid_t srv = -1;
	double t0;
	int rc, e;
	char c;

	fw_catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sc->netns && !strcmp(sc->netns, "new"))
		e = fw_new_netns(err, sizeof(err));
	else if (sc->netns)
		e = fw_enter_netns(sc->netns, err, sizeof(err));
	else
		e = 0;
	if (e == -EPERM || e == -ENOENT || e == -EINVAL)
		return fw_usage_error("scenario", "%s", err);
	if (e) {
		fprintf(stderr, "finwait scenario: %s\n", err);
		return EXIT_DISAGREE;
	}

	e = fw_sysctl_get(FW_SYSCTL_FIN, &old_tmo);
	if (e)
		return fail(FW_SYSCTL_FIN, e);
	tmo = old_tmo;
	if (sc->fin_timeout >= 0) {
		e = fw_sysctl_set(FW_SYSCTL_FIN, sc->fin_timeout);
		if (e)
			return fail(FW_SYSCTL_FIN, e);
		restore = true;
		tmo = sc->fin_timeout;
	}
	printf("finwait scenario %s: IPv%d, network namespace %s, tcp_fin_timeout %ld s",
	       ending_name[sc->ending], sc->family == AF_INET6 ? 6 : 4,
	       !sc->netns ? "of this process" : !strcmp(sc->netns, "new") ? "new" : sc->netns,
	       tmo);
	if (restore)
		printf(" (was %ld s, restored at the end)", old_tmo);
	printf("\n");

	rc = EXIT_DISAGREE;
	nl = fw_diag_open();
	if (nl < 0) {
		rc = step_fail("NETLINK_SOCK_DIAG", nl);
		goto out;
	}
	/* The listener, bound before the fork: the port is known, no race. */
	if (sc->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(sc->port);
		cn.addr.a4 = a->sin_addr;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(sc->port);
		cn.addr.a6 = a->sin6_addr;
		sl = sizeof(*a);
	}
	lfd = socket(sc->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&ss, &sl)) {
		rc = step_fail("listen", errno);
		goto out;
	}
	cn.dport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (pipe2(up, O_CLOEXEC) || pipe2(ctl, O_CLOEXEC)) {
		rc = step_fail("pipe", errno);
		goto out;
	}
	srv = fork();
	if (srv < 0) {
		rc = step_fail("fork", errno);
		goto out;
	}
	if (!srv) {
		close(up[0]);
		close(ctl[1]);
		server(lfd, up[1], ctl[0]);
	}
	/* The parent keeps only its ends: a dead server is an EOF. */
	close(lfd);
	close(up[1]);
	close(ctl[0]);
	lfd = up[1] = ctl[0] = -1;
	cfd = socket(sc->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, sl)) {
		rc = step_fail("connect", errno);
		goto out;
	}
	if (!fw_wait_readable(up[0], 5) || read(up[0], &c, 1) != 1 || c != 'a') {
		rc = step_fail("the server did not accept", ETIMEDOUT);
		goto out;
	}
	if (getsockname(cfd, (struct sockaddr *)&ss, &sl)) {
		rc = step_fail("getsockname", errno);
		goto out;
	}
	cn.sport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	describe(&cn);
	printf("server pid %d accepted %s\n", srv, cn.text);

	e = fw_read_stats(FW_PROC, &before, err, sizeof(err));
	m.loaded = !e;
	if (e && e != -ENOENT)
		printf("(finwait_stats unreadable: %s)\n", err);

	if (kill(srv, SIGSTOP) || waitpid(srv, &e, WUNTRACED) != srv || !WIFSTOPPED(e)) {
		rc = step_fail("stopping the server", errno);
		goto out;
	}
	printf("server stopped (SIGSTOP, as Ctrl+Z): it never calls close()\n");
	if (fw_interrupted) {
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	if (sc->ending == FW_HALF_CLOSE)
		printf("client shutdown(SHUT_WR)s at +0 and will close() at +%.3f s\n", sc->at);
	else if (sc->ending != FW_STOPPED_PEER)
		printf("client close()s at +0; the server will close() at +%.3f s\n", sc->at);
	else
		printf("client close()s at +0\n");
	t0 = fw_now_s();
	if (sc->ending == FW_HALF_CLOSE) {
		e = shutdown(cfd, SHUT_WR);
	} else {
		e = close(cfd);
		cfd = -1;
	}
	if (e) {
		rc = step_fail("close", errno);
		goto out;
	}
	e = follow(sc, &cn, nl, &cfd, ctl[1], up[0], srv, t0,
		   fw_orphan_lifetime(tmo) * 1.25 + sc->at + 10, &r);
	if (e) {
		rc = step_fail("following the socket", e);
		goto out;
	}
	if (fw_interrupted) {
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	/* The module counts in the same kernel path that ends the socket;
	 * give a record still being written a moment.
	 */
	if (m.loaded) {
		double until = fw_now_s() + 1;

		do {
			e = fw_read_stats(FW_PROC, &after, err, sizeof(err));
			if (e) {
				m.loaded = false;
				break;
			}
			module_delta(&before, &after, &m);
			if (m.completed)
				break;
			fw_sleep_s(POLL_S);
		} while (fw_now_s() < until);
	}
	rc = report(sc, &cn, tmo, &r, &m);
out:
	if (srv > 0) {
		kill(srv, SIGKILL);
		waitpid(srv, NULL, 0);
	}
	if (restore) {
		e = fw_sysctl_set(FW_SYSCTL_FIN, old_tmo);
		if (e)
			rc = fail("restoring " FW_SYSCTL_FIN, e);
	}
	if (rc == EXIT_INTERRUPTED)
		printf("interrupted: server killed and reaped%s\n",
		       restore ? ", tcp_fin_timeout restored" : "");
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	if (nl >= 0)
		close(nl);
	for (e = 0; e < 2; e++) {
		if (up[e] >= 0)
			close(up[e]);
		if (ctl[e] >= 0)
			close(ctl[e]);
	}
	return rc;
}

int fw_scenario_main(int argc, char **argv)
{
	struct scen sc;
	int rc;

	rc = parse(argc, argv, &sc);
	if (rc)
		return rc;
	return run(&sc);
}
