// SPDX-License-Identifier: GPL-2.0
/*
 * finwait scenario: the stopped-peer experiment and its variants.
 *
 * A server process accepts one connection and is stopped with SIGSTOP, as
 * Ctrl+Z stops it in a shell: it never calls close(). The client (this
 * process) closes; its socket's FIN is ACKed by the server's kernel and it
 * sits in FIN-WAIT-2. We follow that socket through NETLINK_SOCK_DIAG every
 * 10 ms until it leaves FIN-WAIT-2, then set side by side four views of its
 * FIN-WAIT-2 lifetime: what finwait_stats recorded, what sock_diag (ss)
 * showed, what the tracepoint sock:inet_sock_set_state showed (all that bcc's
 * tcpstates and tcplife see), and what the kernel's rules predict. While
 * the connection is the namespace's only one in FIN-WAIT-2, the module's
 * current and current_timewait, read at every poll, also say which object
 * holds it: the full socket, or a timewait socket that took over.
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
#include <stdarg.h>
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
	bool json;
};

static const char usage[] =
"Usage: finwait scenario ENDING [OPTIONS]\n"
"\n"
"The stopped-peer experiment: a server accepts a connection and is stopped\n"
"with SIGSTOP (as Ctrl+Z would), the client closes, and its socket sits in\n"
"FIN-WAIT-2. Prints the socket's state and timer (as 'ss -o' shows them)\n"
"until it leaves FIN-WAIT-2, then the lifetime seen, the one the kernel's\n"
"rules predict, the one finwait_stats recorded and the one the tracepoint\n"
"sock:inet_sock_set_state implies (what bcc's tcpstates and tcplife show).\n"
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
"  --json             one JSON object at the end instead of the text\n"
"\n"
"Exit status: 0 all agree; 1 they disagree or the run failed; 2 bad usage\n"
"or missing privileges (nothing changed); 130 interrupted.\n";

enum { OPT_FIN = 256, OPT_PORT, OPT_NETNS, OPT_AFTER, OPT_HOLD, OPT_JSON };

static int parse(int argc, char **argv, struct scen *sc)
{
	static const struct option lo[] = {
		{ "fin-timeout", required_argument, NULL, OPT_FIN },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "json", no_argument, NULL, OPT_JSON },
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
		case OPT_JSON:
			sc->json = true;
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
	char ip[INET6_ADDRSTRLEN + 2];	/* IPv6 in brackets */
	char text[128];
};

static void describe(struct conn *cn)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = cn->family == AF_INET6;

	inet_ntop(cn->family, &cn->addr, a, sizeof(a));
	snprintf(cn->ip, sizeof(cn->ip), "%s%s%s", v6 ? "[" : "", a, v6 ? "]" : "");
	snprintf(cn->text, sizeof(cn->text), "%s:%u -> %s:%u", cn->ip, cn->sport,
		 cn->ip, cn->dport);
}

/* Human output; with --json only the object at the end is printed. */
static bool quiet;

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* Who holds the connection, as the module's current_timewait says. */
enum holder { H_UNKNOWN = -1, H_NONE, H_FULL, H_TW };
static const char *const holder_name[] = { "none", "full socket", "timewait socket" };

/* The timeline: every change seen, and the scenario's own actions. */
#define FW_STEPS 64
struct step {
	double t;
	const char *action;		/* NULL: an observation */
	struct fw_sock_state st;
	int holder;			/* enum holder */
};

/* ss -o's line for the socket, and sock_diag's timer just after it. */
struct ss_view {
	bool tried, found, old_ms;
	char line[320], why[128];
	long ms;
	double t, diag_s;
};

struct result {
	bool seen_fw2, ended;
	double last_fw2, exit_t;	/* last poll in FIN-WAIT-2, first after */
	int exit_state;
	double first_fw2;		/* first poll in FIN-WAIT-2 */
	bool no_handoff;		/* an orphan on its keepalive timer there */
	double diag_tw_t;		/* first poll held by a timewait socket; < 0 none */
	bool alone;			/* the netns's only connection in FIN-WAIT-2 */
	double mod_full_t, mod_tw_t;	/* first poll the module said so; < 0 never */
	struct step steps[FW_STEPS];
	int nsteps;
	bool steps_lost;
	struct ss_view ss;
};

static void print_step(const struct step *s)
{
	const struct fw_sock_state *st = &s->st;

	say("  %+8.3fs  ", s->t);
	if (s->action) {
		say("%s\n", s->action);
		return;
	}
	say("%-11s", fw_tcp_state_name(st->state));
	if (st->state && st->timer)
		say(" timer:(%s,%.3fs,%u)", fw_timer_name(st->timer),
		    st->expires_ms / 1e3, st->retrans);
	else if (st->state)
		say(" no timer");
	else
		say(" no socket with this 4-tuple any more");
	if (s->holder > H_NONE)
		say("   module: %s", holder_name[s->holder]);
	say("\n");
}

/* Record a step (the first FW_STEPS) and print it. */
static void step(struct result *r, double t, const char *action,
		 const struct fw_sock_state *st, int holder)
{
	struct step s = { .t = t, .action = action, .holder = holder };

	if (st)
		s.st = *st;
	print_step(&s);
	if (r->nsteps < FW_STEPS)
		r->steps[r->nsteps++] = s;
	else
		r->steps_lost = true;
}

/*
 * Run "ss -tno FILTER" for the client's socket, the way a
 * reader of the article would, and keep its line. No shell: the filter is
 * one argument.
 */
#define SS_WAIT_S 2.0

static void ss_run(const struct conn *cn, struct ss_view *v)
{
	char filter[64], buf[4096];
	double until = fw_now_s() + SS_WAIT_S;
	bool late = false;
	size_t len = 0;
	int p[2], st;
	ssize_t k;
	pid_t pid;
	char *line;

	v->tried = true;
	snprintf(filter, sizeof(filter), "sport = :%u and dport = :%u", cn->sport, cn->dport);
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(v->why, sizeof(v->why), "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		fw_child_signals();
		dup2(p[1], 1);
		dup2(null, 0);
		dup2(null, 2);
		execlp("ss", "ss", cn->family == AF_INET6 ? "-6tno" : "-4tno", filter,
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* Bounded: a slow or stuck ss must not hold up the polling. */
	while (pid > 0 && len < sizeof(buf) - 1) {
		if (!fw_wait_readable(p[0], until - fw_now_s())) {
			late = true;
			break;
		}
		k = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			break;
		len += k;
	}
	close(p[0]);
	buf[len] = '\0';
	if (late && pid > 0)
		kill(pid, SIGKILL);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(v->why, sizeof(v->why), "cannot run ss: %s", strerror(errno));
		return;
	}
	if (late) {
		snprintf(v->why, sizeof(v->why), "ss gave no answer within %.0f s", SS_WAIT_S);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		snprintf(v->why, sizeof(v->why), "ss is not installed (iproute2)");
		return;
	}
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, "timer:("))
			continue;
		snprintf(v->line, sizeof(v->line), "%s", line);
		for (k = strlen(v->line); k > 0 && v->line[k - 1] == ' '; k--)
			v->line[k - 1] = '\0';
		if (fw_ss_line_timer_ms(line, &v->ms, &v->old_ms)) {
			snprintf(v->why, sizeof(v->why), "cannot read the timer of ss's line: %s",
				 v->line);
			return;
		}
		v->found = true;
		return;
	}
	snprintf(v->why, sizeof(v->why), "ss showed no timer for the socket");
}

static void ss_report(const struct ss_view *v)
{
	if (!v->found) {
		say("  %+8.3fs  ss -o: %s\n", v->t, v->why);
		return;
	}
	say("  %+8.3fs  ss -o prints: %s\n", v->t, v->line);
	say("             that is %.3f s left (sock_diag just after: %.3f s)%s\n",
	    v->ms / 1e3, v->diag_s, v->old_ms ?
	    ": seconds, printed \"ms\" by ss before \"ss: fix expired time format of timer\" (2024)" : "");
}

/*
 * The module's view of who holds the connection now: only while it is the
 * namespace's one connection in FIN-WAIT-2 (@r->alone, checked from before
 * the close() on).
 */
static int module_holder(bool sample, struct result *r, double t)
{
	struct fw_stats s;
	char err[256];

	if (!sample || !r->alone || fw_read_stats(FW_PROC, &s, err, sizeof(err)))
		return H_UNKNOWN;
	if (s.current > 1) {
		r->alone = false;
		return H_UNKNOWN;
	}
	if (s.current_timewait > 0) {
		if (r->mod_tw_t < 0)
			r->mod_tw_t = t;
		return H_TW;
	}
	if (s.current > 0) {
		if (r->mod_full_t < 0)
			r->mod_full_t = t;
		return H_FULL;
	}
	return H_NONE;
}

/* Follow the client socket until it leaves FIN-WAIT-2. */
static int follow(const struct scen *sc, const struct conn *cn, int nl,
		  int *cfd, int ctl_w, int up_r, pid_t srv, double t0, long tmo,
		  bool sample, struct result *r)
{
	double deadline = fw_orphan_lifetime(tmo) * 1.25 + sc->at + 10;
	struct fw_sock_state st, prev = { .state = -1 };
	bool acted = sc->ending == FW_STOPPED_PEER;
	int holder, prev_holder = H_UNKNOWN;
	double t, next = t0, closed_t = -1;
	long printed_s = -1;
	char c;
	int e;

	while (!fw_interrupted) {
		t = fw_now_s() - t0;
		e = fw_diag_lookup(nl, cn->family, &cn->addr, cn->sport, &cn->addr,
				   cn->dport, &st);
		if (e < 0)
			return e;
		holder = module_holder(sample, r, t);
		if (st.state != prev.state || st.timer != prev.timer || holder != prev_holder) {
			step(r, t, NULL, &st, holder);
			printed_s = (long)t;
		} else if ((long)t > printed_s) {
			struct step s = { .t = t, .st = st, .holder = holder };

			print_step(&s);		/* the countdown, not kept */
			printed_s = (long)t;
		}
		prev = st;
		prev_holder = holder;
		r->exit_state = st.state;
		if (st.state == TCP_FIN_WAIT2) {
			if (!r->seen_fw2) {
				r->first_fw2 = t;
				r->no_handoff = sc->ending != FW_HALF_CLOSE &&
						st.timer == 2 && tmo <= FW_TIMEWAIT_LEN_S;
			}
			r->seen_fw2 = true;
			r->last_fw2 = t;
			if (st.timer == 3 && r->diag_tw_t < 0)
				r->diag_tw_t = t;
			/* ss's line where its two formats differ (1 to 10 s left). */
			if (!r->ss.tried && st.timer && st.expires_ms >= 1000 &&
			    st.expires_ms < 10000) {
				ss_run(cn, &r->ss);
				/* ss's time is that of its exit, sock_diag's just after. */
				r->ss.t = fw_now_s() - t0;
				if (r->ss.found &&
				    (fw_diag_lookup(nl, cn->family, &cn->addr, cn->sport,
						    &cn->addr, cn->dport, &st) < 0 ||
				     st.state != TCP_FIN_WAIT2)) {
					r->ss.found = false;
					snprintf(r->ss.why, sizeof(r->ss.why),
						 "the socket left FIN-WAIT-2 while ss ran");
				}
				if (r->ss.found)
					r->ss.diag_s = st.expires_ms / 1e3;
				ss_report(&r->ss);
				next = fw_now_s();
				continue;	/* look again at once */
			}
		} else if (r->seen_fw2 && st.state == TCP_CLOSE) {
			/*
			 * The full socket, closed, still hashed: at the handoff
			 * to a timewait socket (tcp_time_wait() then tcp_done())
			 * or just before it goes. Not an exit yet: the next
			 * look tells which; if it is gone, it left here.
			 */
			if (closed_t < 0)
				closed_t = t;
		} else if (r->seen_fw2 || !st.state) {
			r->ended = true;
			r->exit_t = !st.state && closed_t >= 0 ? closed_t : t;
			return 0;
		}
		if (st.state == TCP_FIN_WAIT2)
			closed_t = -1;
		if (t > deadline)
			return 0;
		/* The ending's action, once FIN-WAIT-2 has been seen. */
		if (!acted && r->seen_fw2 && t >= sc->at) {
			acted = true;
			if (sc->ending == FW_HALF_CLOSE) {
				close(*cfd);
				*cfd = -1;
				step(r, fw_now_s() - t0,
				     "client close()s: the socket is an orphan now", NULL, H_UNKNOWN);
			} else {
				if (write(ctl_w, sc->ending == FW_PEER_RESET ? "r" : "c", 1) != 1 ||
				    kill(srv, SIGCONT))
					return -errno;
				if (!fw_wait_readable(up_r, 5) || read(up_r, &c, 1) != 1)
					return fw_interrupted ? 0 : -ETIMEDOUT;
				step(r, fw_now_s() - t0, sc->ending == FW_PEER_RESET ?
				     "server continued (SIGCONT), close()s with SO_LINGER 0: an RST" :
				     "server continued (SIGCONT), close()s: its FIN", NULL, H_UNKNOWN);
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

/* The tracepoint's answer: FIN_WAIT1 -> FIN_WAIT2 until FIN_WAIT2 -> X. */
#define FW_TP_EVENTS 16
struct tp_view {
	struct fw_tp_event ev[FW_TP_EVENTS];
	int n;
	bool have;			/* both ends of FIN-WAIT-2 seen */
	double fw2, in, out;		/* seconds; in, out on the scenario's clock */
	int then;			/* the state after FIN_WAIT2 */
};

static void tp_digest(struct fw_trace *tr, double t0, struct tp_view *v)
{
	int i, in = -1, out = -1;
	double base;

	v->n = fw_trace_read(tr, v->ev, FW_TP_EVENTS);
	if (v->n < 0) {
		tr->on = false;		/* tr->why says why */
		v->n = 0;
	}
	base = tr->mono ? t0 : v->n ? v->ev[0].t : 0;
	for (i = 0; i < v->n; i++) {
		/* On CLOCK_MONOTONIC, like t0; else relative to the first. */
		v->ev[i].t -= base;
		if (v->ev[i].newstate == TCP_FIN_WAIT2 && in < 0)
			in = i;
		else if (v->ev[i].oldstate == TCP_FIN_WAIT2 &&
			 v->ev[i].newstate != TCP_FIN_WAIT2 && in >= 0 && out < 0)
			out = i;
	}
	v->have = in >= 0 && out >= 0;
	if (v->have) {
		v->in = v->ev[in].t;
		v->out = v->ev[out].t;
		v->fw2 = v->out - v->in;
		v->then = v->ev[out].newstate;
	}
}

static const char *secs(char *buf, size_t len, double s)
{
	if (s == 0)
		snprintf(buf, len, "0 s");
	else if (s < 1)
		snprintf(buf, len, "%.3f ms", s * 1e3);
	else
		snprintf(buf, len, "%.3f s", s);
	return buf;
}

/* The kernel rule's "held by", e.g. "full socket 10 s, then timewait socket 10 s". */
static const char *rule_holders(char *buf, size_t len, const struct fw_expect *e)
{
	if (e->full <= 0)
		snprintf(buf, len, "timewait socket at once");
	else if (e->full >= e->lifetime)
		snprintf(buf, len, "full socket only");
	else
		snprintf(buf, len, "full socket %.3f s, then timewait socket %.3f s",
			 e->full, e->lifetime - e->full);
	return buf;
}

/* "held by" from the first look at the holder (@first) and the first at a timewait socket. */
static const char *seen_holders(char *buf, size_t len, double first, double tw_t)
{
	if (first < 0)
		snprintf(buf, len, "-");
	else if (tw_t < 0)
		snprintf(buf, len, "full socket only");
	else if (tw_t <= first)
		snprintf(buf, len, "timewait socket from the first look (+%.3f s)", tw_t);
	else
		snprintf(buf, len, "full socket, then timewait socket from +%.3f s", tw_t);
	return buf;
}

struct verdict {
	bool agree;
	char why[256];
};

static void judge(const struct scen *sc, const struct result *r,
		  const struct record *m, const struct fw_expect *e, struct verdict *v)
{
	bool fresh = sc->netns && !strcmp(sc->netns, "new");

	v->agree = r->seen_fw2 && r->ended &&
		   fw_seen_agrees(e, r->last_fw2, r->exit_t, r->exit_state);
	if (m->loaded && (!m->completed || (fresh && !m->single) ||
			  (m->single && (!r->ended ||
					 !fw_record_agrees(e, m->lifetime, m->reason,
							   r->last_fw2, r->exit_t)))))
		v->agree = false;
	if (v->agree)
		snprintf(v->why, sizeof(v->why), "They agree.");
	else
		snprintf(v->why, sizeof(v->why),
			 "They DISAGREE: the kernel's rules give %.3f to %.3f s and an exit by %s%s.",
			 e->lo, e->hi, fw_left_name[e->reason],
			 e->state == TCP_TIME_WAIT ? " to TIME-WAIT" : "");
}

#define ROW "  %-16s %-13s %-14s %s\n"

static void report(const struct scen *sc, const struct conn *cn, long tmo,
		   const struct result *r, const struct record *m,
		   const struct fw_trace *tr, const struct tp_view *tp,
		   const struct fw_expect *e, const struct verdict *v)
{
	bool fresh = sc->netns && !strcmp(sc->netns, "new");
	char a[64], b[200], c[96];

	say("\nFIN-WAIT-2 lifetime of %s\n", cn->text);
	say(ROW, "", "lifetime", "then", "held by");
	if (!m->loaded) {
		say(ROW, "finwait_stats", "-", "-", "not loaded: no record (modprobe finwait_stats)");
	} else if (!m->completed) {
		say(ROW, "finwait_stats", "-", "-", "recorded no exit");
	} else if (!m->single) {
		snprintf(b, sizeof(b), "%llu entries, %llu exits in this namespace meanwhile: %s",
			 (unsigned long long)m->entered, (unsigned long long)m->completed,
			 fresh ? "a fresh namespace must show exactly 1" :
				 "this connection cannot be singled out");
		say(ROW, "finwait_stats", "-", "-", b);
	} else {
		snprintf(c, sizeof(c), "left_%s", m->reason >= 0 ? fw_left_name[m->reason] : "?");
		say(ROW, "finwait_stats", secs(a, sizeof(a), m->lifetime), c,
		    r->alone ? seen_holders(b, sizeof(b), r->mod_full_t >= 0 ? r->mod_full_t :
					    r->mod_tw_t, r->mod_tw_t) :
			    "(other connections in FIN-WAIT-2: current_timewait is not this one's)");
	}
	if (!r->seen_fw2) {
		say(ROW, "sock_diag", "-", fw_tcp_state_name(r->exit_state), "never in FIN-WAIT-2");
	} else if (!r->ended) {
		snprintf(b, sizeof(b), "still in FIN-WAIT-2 at +%.3f s: gave up", r->last_fw2);
		say(ROW, "sock_diag", "-", "-", b);
	} else {
		seen_holders(c, sizeof(c), r->first_fw2, r->diag_tw_t);
		snprintf(b, sizeof(b), "%s; left between +%.3f and +%.3f s", c,
			 r->last_fw2, r->exit_t);
		say(ROW, "sock_diag", secs(a, sizeof(a), r->exit_t),
		    fw_tcp_state_name(r->exit_state), b);
	}
	if (!tr->on) {
		say(ROW, "tracepoint", "-", "-", tr->why);
	} else if (!tp->have) {
		say(ROW, "tracepoint", "-", "-", "no FIN_WAIT2 -> X event pair for this connection");
	} else {
		snprintf(b, sizeof(b), "full socket only: FIN_WAIT2 from +%.6f to +%.6f s",
			 tp->in, tp->out);
		say(ROW, "tracepoint", secs(a, sizeof(a), tp->fw2),
		    fw_tcp_kernel_state_name(tp->then), b);
	}
	snprintf(c, sizeof(c), "left_%s", fw_left_name[e->reason]);
	rule_holders(b, sizeof(b), e);
	if (e->state == TCP_TIME_WAIT)
		strcat(b, "; then TIME-WAIT");
	say(ROW, "kernel rule", secs(a, sizeof(a), e->lifetime), c, b);
	say("  (tcp_fin_timeout %ld s%s)\n", tmo, tmo > FW_TIMEWAIT_LEN_S ?
	    ": above 60 s an orphan gets 2 x (tmo - 60), half on the full socket's keepalive timer" : "");
	if (r->no_handoff)
		say("  (no timewait socket: the ACK of our FIN was processed from the socket's backlog during close(), so the full socket keeps FIN-WAIT-2 on its keepalive timer)\n");
	say("%s\n", v->why);
	if (tr->on && tp->have)
		say("A tcp_set_state tracer (bcc tcpstates) reports %s of FIN-WAIT-2 here: the full socket's part only (by the rule, %s).\n",
		    secs(a, sizeof(a), tp->fw2), secs(c, sizeof(c), e->full));
}

static void jnum_or_null(bool have, double v)
{
	if (have)
		printf("%.6f", v);
	else
		printf("null");
}

static void report_json(const struct scen *sc, const struct conn *cn, long tmo,
			long old_tmo, pid_t srv, const struct result *r,
			const struct record *m, const struct fw_trace *tr,
			const struct tp_view *tp, const struct fw_expect *e,
			const struct verdict *v, int rc)
{
	bool peer = sc->ending == FW_PEER_CLOSE || sc->ending == FW_PEER_RESET;
	int i;

	printf("{\"scenario\":\"%s\",\"inputs\":{\"family\":%d,\"netns\":",
	       ending_name[sc->ending], sc->family == AF_INET6 ? 6 : 4);
	if (sc->netns)
		fw_json_str(stdout, sc->netns);
	else
		printf("null");
	printf(",\"fin_timeout_s\":%ld,\"fin_timeout_was_s\":%ld,\"after_s\":", tmo, old_tmo);
	jnum_or_null(peer, sc->at);
	printf(",\"hold_s\":");
	jnum_or_null(sc->ending == FW_HALF_CLOSE, sc->at);
	printf(",\"port\":%d},", sc->port);
	printf("\"connection\":{\"src\":");
	fw_json_str(stdout, cn->ip);
	printf(",\"sport\":%u,\"dst\":", cn->sport);
	fw_json_str(stdout, cn->ip);
	printf(",\"dport\":%u,\"server_pid\":%d},\"timeline\":[", cn->dport, (int)srv);
	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		printf("%s{\"t\":%.6f,", i ? "," : "", s->t);
		if (s->action) {
			printf("\"action\":");
			fw_json_str(stdout, s->action);
			printf("}");
			continue;
		}
		printf("\"state\":\"%s\",\"timer\":", fw_tcp_state_name(s->st.state));
		if (s->st.state && s->st.timer)
			printf("\"%s\",\"timer_left_s\":%.3f,\"retrans\":%u",
			       fw_timer_name(s->st.timer), s->st.expires_ms / 1e3, s->st.retrans);
		else
			printf("null");
		printf(",\"module_holder\":");
		if (s->holder == H_UNKNOWN)
			printf("null}");
		else
			printf("\"%s\"}", s->holder == H_FULL ? "full" : s->holder == H_TW ?
			       "timewait" : "none");
	}
	printf("],\"timeline_truncated\":%s,\"views\":{", r->steps_lost ? "true" : "false");

	printf("\"finwait_stats\":{\"loaded\":%s", m->loaded ? "true" : "false");
	if (m->loaded)
		printf(",\"entered\":%llu,\"completed\":%llu",
		       (unsigned long long)m->entered, (unsigned long long)m->completed);
	printf(",\"lifetime_s\":");
	jnum_or_null(m->loaded && m->single, m->lifetime);
	printf(",\"reason\":");
	if (m->loaded && m->single && m->reason >= 0)
		fw_json_str(stdout, fw_left_name[m->reason]);
	else
		printf("null");
	printf(",\"timewait_from_s\":");
	jnum_or_null(r->alone && r->mod_tw_t >= 0, r->mod_tw_t);
	printf(",\"full_socket_from_s\":");
	jnum_or_null(r->alone && r->mod_full_t >= 0, r->mod_full_t);
	printf("},");

	printf("\"sock_diag\":{\"lifetime_s\":");
	jnum_or_null(r->ended, r->exit_t);
	printf(",\"last_fin_wait2_s\":");
	jnum_or_null(r->seen_fw2, r->last_fw2);
	printf(",\"then\":\"%s\",\"timewait_from_s\":", fw_tcp_state_name(r->exit_state));
	jnum_or_null(r->diag_tw_t >= 0, r->diag_tw_t);
	printf(",\"ss\":");
	if (r->ss.found) {
		printf("{\"t\":%.6f,\"line\":", r->ss.t);
		fw_json_str(stdout, r->ss.line);
		printf(",\"timer_s\":%.3f,\"ms_suffix_means_seconds\":%s,\"sock_diag_timer_s\":%.3f}",
		       r->ss.ms / 1e3, r->ss.old_ms ? "true" : "false", r->ss.diag_s);
	} else {
		printf("{\"why\":");
		fw_json_str(stdout, r->ss.tried ? r->ss.why : "no FIN-WAIT-2 timer with 1 to 10 s left was seen");
		printf("}");
	}
	printf("},");

	printf("\"tracepoint\":{\"event\":\"sock:inet_sock_set_state\",\"available\":%s",
	       tr->on ? "true" : "false");
	if (!tr->on) {
		printf(",\"why\":");
		fw_json_str(stdout, tr->why);
	} else {
		printf(",\"clock\":\"%s\",\"fin_wait2_s\":", tr->mono ? "mono" : "relative");
		jnum_or_null(tp->have, tp->fw2);
		printf(",\"then\":");
		if (tp->have)
			fw_json_str(stdout, fw_tcp_kernel_state_name(tp->then));
		else
			printf("null");
		printf(",\"events\":[");
		for (i = 0; i < tp->n; i++)
			printf("%s{\"t\":%.6f,\"old\":\"%s\",\"new\":\"%s\"}", i ? "," : "",
			       tp->ev[i].t, fw_tcp_kernel_state_name(tp->ev[i].oldstate),
			       fw_tcp_kernel_state_name(tp->ev[i].newstate));
		printf("]");
	}
	printf("},");

	printf("\"kernel_rule\":{\"lifetime_s\":%.6f,\"lo_s\":%.6f,\"hi_s\":%.6f,\"reason\":\"%s\","
	       "\"then\":\"%s\",\"full_socket_s\":%.6f,\"timewait_socket_s\":%.6f,"
	       "\"handoff\":%s}},",
	       e->lifetime, e->lo, e->hi, fw_left_name[e->reason],
	       e->state == TCP_TIME_WAIT ? "TIME-WAIT" : "gone", e->full, e->lifetime - e->full,
	       r->no_handoff ? "false" : "true");
	printf("\"verdict\":{\"agree\":%s,\"text\":", v->agree ? "true" : "false");
	fw_json_str(stdout, v->why);
	printf(",\"exit\":%d}}\n", rc);
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
	struct fw_trace tr = { 0 };
	struct tp_view tp = { 0 };
	struct verdict v;
	struct fw_expect ex;
	struct sockaddr_storage ss = { 0 };
	struct record m = { 0 };
	struct result r = { .diag_tw_t = -1, .mod_full_t = -1, .mod_tw_t = -1 };
	struct conn cn = { .family = sc->family };
	int lfd = -1, cfd = -1, nl = -1, up[2] = { -1, -1 }, ctl[2] = { -1, -1 };
	socklen_t sl = sizeof(ss);
	bool restore = false, judged = false;
	char err[512];
	long old_tmo, tmo;
	pid_t srv = -1;
	double t0;
	int rc, e;
	char c;

	fw_catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	quiet = sc->json;
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
	say("finwait scenario %s: IPv%d, network namespace %s, tcp_fin_timeout %ld s",
	       ending_name[sc->ending], sc->family == AF_INET6 ? 6 : 4,
	       !sc->netns ? "of this process" : !strcmp(sc->netns, "new") ? "new" : sc->netns,
	       tmo);
	if (restore)
		say(" (was %ld s, restored at the end)", old_tmo);
	say("\n");

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
	say("server pid %d accepted %s\n", srv, cn.text);

	e = fw_read_stats(FW_PROC, &before, err, sizeof(err));
	m.loaded = !e;
	r.alone = m.loaded && before.current == 0;
	if (e && e != -ENOENT)
		say("(finwait_stats unreadable: %s)\n", err);
	/* The tracepoint, for this connection only, before anything happens. */
	if (!fw_trace_start(&tr, sc->family, cn.sport, cn.dport))
		say("tracepoint sock:inet_sock_set_state: on in %s for sport %u dport %u\n",
		    tr.dir, cn.sport, cn.dport);
	else
		say("tracepoint view: %s\n", tr.why);

	if (kill(srv, SIGSTOP) || waitpid(srv, &e, WUNTRACED) != srv || !WIFSTOPPED(e)) {
		rc = step_fail("stopping the server", errno);
		goto out;
	}
	say("server stopped (SIGSTOP, as Ctrl+Z): it never calls close()\n");
	if (fw_interrupted) {
		rc = EXIT_INTERRUPTED;
		goto out;
	}
	if (sc->ending == FW_HALF_CLOSE)
		say("the client will close() at +%.3f s\n", sc->at);
	else if (sc->ending != FW_STOPPED_PEER)
		say("the server will close() at +%.3f s\n", sc->at);
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
	step(&r, 0, sc->ending == FW_HALF_CLOSE ? "client shutdown(SHUT_WR)s" :
	     "client close()s", NULL, H_UNKNOWN);
	e = follow(sc, &cn, nl, &cfd, ctl[1], up[0], srv, t0, tmo, m.loaded, &r);
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
	tp_digest(&tr, t0, &tp);
	fw_trace_stop(&tr);
	fw_expect(sc->ending, sc->at, tmo, &ex);
	/*
	 * The ACK of our FIN processed from the backlog while close() owned
	 * the socket (loopback, often on PREEMPT_RT): no handoff, the full
	 * socket keeps FIN-WAIT-2 on its keepalive timer to the end.
	 */
	if (r.no_handoff)
		fw_expect_no_handoff(&ex);
	judge(sc, &r, &m, &ex, &v);
	rc = v.agree ? 0 : EXIT_DISAGREE;
	judged = true;
	if (!sc->json)
		report(sc, &cn, tmo, &r, &m, &tr, &tp, &ex, &v);
out:
	fw_trace_stop(&tr);
	if (srv > 0) {
		kill(srv, SIGKILL);
		waitpid(srv, NULL, 0);
	}
	if (restore) {
		e = fw_sysctl_set(FW_SYSCTL_FIN, old_tmo);
		if (e)
			rc = fail("restoring " FW_SYSCTL_FIN, e);
	}
	/* After the restore: its exit status is the one the object gives. */
	if (judged && sc->json)
		report_json(sc, &cn, tmo, old_tmo, srv, &r, &m, &tr, &tp, &ex, &v, rc);
	if (rc == EXIT_INTERRUPTED)
		fprintf(sc->json ? stderr : stdout, "interrupted: server killed and reaped%s\n",
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
