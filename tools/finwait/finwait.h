/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FINWAIT_H
#define FINWAIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define FW_PROC "/proc/net/finwait_stats"
#define FW_SYSCTL_FIN "/proc/sys/net/ipv4/tcp_fin_timeout"

/* Exit codes: as the issue and the man page state them. */
#define EXIT_DISAGREE 1		/* also: module not loaded, runtime failure */
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

enum fw_left { FW_PEER_FIN, FW_TIMEOUT, FW_RESET, FW_ABORT, FW_OTHER, FW_NLEFT };
#define FW_HIST 32		/* hist_us_0, hist_us_2 ... hist_us_2^31 */

/* One read of /proc/net/finwait_stats. */
struct fw_stats {
	uint64_t fin_timeout_ms;
	int64_t current, current_timewait;
	uint64_t oldest_age_ms;
	uint64_t entered, left[FW_NLEFT], untracked;
	uint64_t min_us, max_us, sum_us, completed, probe_missed;
	uint64_t hist[FW_HIST];
};

extern const char *const fw_left_name[FW_NLEFT];

/* A network namespace of the host, for --all-netns (sys.c finds them). */
struct fw_ns {
	unsigned long ino;	/* the nsfs inode, as "ip netns identify" shows */
	char name[256];		/* its "ip netns" name, "" when none */
	int pid;		/* a process in it, 0 when none was found */
};

/* stats.c: text -> struct, struct -> text. No system calls. */
int fw_parse(const char *text, struct fw_stats *s, char *err, size_t errlen);
void fw_print_human(FILE *f, const struct fw_stats *s, const char *where);
void fw_print_json(FILE *f, const struct fw_stats *s);
void fw_print_prometheus(FILE *f, const struct fw_stats *s);
void fw_json_str(FILE *f, const char *s);
void fw_print_json_ns(FILE *f, const struct fw_ns *ns, const struct fw_stats *s,
		      size_t n);
int fw_print_prometheus_ns(FILE *f, const struct fw_ns *ns, const struct fw_stats *s,
			   size_t n);
void fw_print_rates(FILE *f, const struct fw_stats *prev,
		    const struct fw_stats *now, double seconds);

/* sys.c: files, namespaces, privileges. */
int fw_read_stats(const char *path, struct fw_stats *s, char *err,
		  size_t errlen);
int fw_enter_netns(const char *spec, char *err, size_t errlen);
int fw_new_netns(char *err, size_t errlen);
int fw_list_netns(struct fw_ns **out, size_t *count, char *err, size_t errlen);
int fw_read_netns_stats(const struct fw_ns *ns, struct fw_stats *s, char *err,
			size_t errlen);
bool fw_has_cap(int cap);
int fw_sysctl_get(const char *path, long *val);
int fw_sysctl_set(const char *path, long val);
double fw_now_s(void);		/* CLOCK_MONOTONIC */
extern volatile sig_atomic_t fw_interrupted;
void fw_catch_signals(void);
void fw_child_signals(void);
void fw_sleep_s(double s);
bool fw_wait_readable(int fd, double s);

/* diag.c: one TCP socket's state through NETLINK_SOCK_DIAG. */
struct fw_sock_state {
	int state;		/* TCP_*, or 0 when the socket is gone */
	int timer;		/* idiag_timer: 0 none, 1 on, 2 keepalive, 3 timewait, 4 persist */
	unsigned int expires_ms, retrans;
};

int fw_diag_open(void);
int fw_diag_lookup(int nl, int family, const void *src, uint16_t sport,
		   const void *dst, uint16_t dport, struct fw_sock_state *st);
const char *fw_tcp_state_name(int state);
const char *fw_timer_name(int timer);

/* judge.c: what a scenario should show; no system calls. */
#define FW_TIMEWAIT_LEN_S 60	/* TCP_TIMEWAIT_LEN, include/net/tcp.h */
enum fw_ending { FW_STOPPED_PEER, FW_PEER_CLOSE, FW_PEER_RESET, FW_HALF_CLOSE };
struct fw_expect {
	double lifetime, lo, hi;	/* s after close() (or shutdown()) */
	int reason;			/* enum fw_left */
	int state;			/* after FIN-WAIT-2: TCP_TIME_WAIT or 0 (gone) */
	double full;			/* of lifetime, the full socket's part: what
					 * tcp_set_state (FIN_WAIT2 -> CLOSE) shows */
};

double fw_orphan_lifetime(long tmo);
void fw_expect(enum fw_ending ending, double at, long tmo, struct fw_expect *e);
void fw_expect_no_handoff(struct fw_expect *e);
bool fw_seen_agrees(const struct fw_expect *e, double last, double exit, int state);
bool fw_record_agrees(const struct fw_expect *e, double lifetime, int reason,
		      double last, double exit);

/* decode.c: what other tools print, read back; no system calls. */
struct fw_tp_event {
	double t;			/* the trace clock's seconds */
	uint16_t sport, dport;
	int oldstate, newstate;		/* TCP_* */
};

const char *fw_tcp_kernel_state_name(int state);
int fw_trace_parse_line(const char *line, struct fw_tp_event *ev);
int fw_ss_timer_ms(const char *s, long *ms, bool *old_ms);
int fw_ss_line_timer_ms(const char *line, long *ms, bool *old_ms);

/* trace.c: sock:inet_sock_set_state for one connection, in a trace instance. */
struct fw_trace {
	char dir[256];		/* the instance; "" when there is none */
	bool on, mono;		/* enabled; timestamps are CLOCK_MONOTONIC */
	char why[320];		/* when not on: why, in one line */
};

int fw_trace_start(struct fw_trace *t, int family, uint16_t sport, uint16_t dport);
int fw_trace_read(struct fw_trace *t, struct fw_tp_event *ev, int max);
void fw_trace_stop(struct fw_trace *t);

/* scenario.c, ls.c */
int fw_scenario_main(int argc, char **argv);
int fw_ls_main(int argc, char **argv);

/* main.c: option values and messages shared by the commands. */
int fw_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fw_parse_long(const char *s, long min, long max, long *out);
int fw_parse_seconds(const char *s, double min, double max, double *out);

#endif
