/* SPDX-License-Identifier: GPL-2.0 */
/*
 * finwait_stats: true FIN-WAIT-2 lifetimes per network namespace.
 *
 * Data path: hooks.c (ftrace hooks) -> track.c (one record per connection in
 * FIN-WAIT-2, keyed by the object that holds it) -> per-CPU counters of the
 * connection's netns (stats.c) -> /proc/net/finwait_stats (proc.c).
 */
#ifndef _FINWAIT_STATS_H
#define _FINWAIT_STATS_H

#include <linux/types.h>
#include <linux/seqlock.h>
#include <linux/percpu.h>

struct seq_file;
struct net;

/* How a FIN-WAIT-2 lifetime ended; the order is the order of the proc file. */
enum fw_exit {
	FW_EXIT_PEER_FIN,	/* the peer's FIN: on to TIME-WAIT */
	FW_EXIT_TIMEOUT,	/* tcp_fin_timeout / TCP_LINGER2 expired */
	FW_EXIT_RESET,		/* RST from the peer */
	FW_EXIT_ABORT,		/* our side ended it with an RST */
	FW_EXIT_OTHER,		/* netns teardown, no timewait socket, ... */
	FW_EXIT_MAX,
};

/*
 * Log2 histogram of completed lifetimes in microseconds: bucket 0 holds
 * [0, 2) us, bucket k > 0 holds [2^k, 2^(k+1)) us, the last one is open.
 */
#define FW_HIST_BUCKETS	32

/*
 * One CPU's share of a netns's counters. Every event updates the block of
 * the CPU it runs on, with interrupts off, so each block is consistent on
 * its own (entered == current + left + untracked) and so is their sum.
 * "cur" and "cur_tw" are per-CPU deltas and may be negative.
 */
struct fw_stats {
	seqcount_t seq;
	u64 entered;
	u64 untracked;
	s64 cur;
	s64 cur_tw;
	u64 left[FW_EXIT_MAX];
	u64 sum_us;
	u64 min_us;		/* U64_MAX: none */
	u64 max_us;
	u64 hist[FW_HIST_BUCKETS];
};

/* A snapshot summed over CPUs, what the proc file shows. */
struct fw_snapshot {
	u64 entered;
	u64 untracked;
	s64 cur;
	s64 cur_tw;
	u64 left[FW_EXIT_MAX];
	u64 completed;
	u64 sum_us;
	u64 min_us;
	u64 max_us;
	u64 hist[FW_HIST_BUCKETS];
};

/* Per network namespace state (net_generic). */
struct fw_net {
	struct fw_stats __percpu *stats;
	bool dying;		/* set in pernet exit; no new records */
};

/* stats.c */
int fw_stats_init(struct fw_net *fwn);
void fw_stats_free(struct fw_net *fwn);
unsigned int fw_hist_bucket(u64 us);
void fw_stats_enter(struct fw_net *fwn, bool tracked);
void fw_stats_to_tw(struct fw_net *fwn);
void fw_stats_leave(struct fw_net *fwn, bool tw, enum fw_exit why, u64 us);
void fw_stats_snapshot(struct fw_net *fwn, struct fw_snapshot *snap);
void fw_stats_reset(struct fw_net *fwn);
const char *fw_exit_name(enum fw_exit why);

/* track.c */
int fw_track_init(unsigned int max_tracked);
void fw_track_exit(void);
void fw_track_enter(struct fw_net *fwn, const void *key, u64 now_ns);
void fw_track_handoff(const void *sk);
void fw_track_rekey(const void *sk, const void *tw);
bool fw_track_leave(const void *key, enum fw_exit why, u64 now_ns);
bool fw_track_close(const void *sk, u64 now_ns);
void fw_track_purge_net(struct fw_net *fwn);
unsigned long fw_track_count(void);

/* proc.c */
void fw_proc_print(struct seq_file *seq, const struct fw_snapshot *s,
		   unsigned int fin_timeout_ms, unsigned long missed);
int fw_proc_parse_write(const char *buf, size_t len);
int fw_proc_net_init(struct net *net);
void fw_proc_net_exit(struct net *net);

/* netns.c */
struct fw_net *fw_net(const struct net *net);
int fw_netns_init(void);
void fw_netns_exit(void);

/* hooks.c */
int fw_hooks_init(void);
void fw_hooks_exit(void);
unsigned long fw_hooks_missed(void);

#endif /* _FINWAIT_STATS_H */
