/* SPDX-License-Identifier: GPL-2.0 */
/*
 * finwait_stats: true FIN-WAIT-2 lifetimes per network namespace.
 *
 * Data path: hooks.c (ftrace hooks) -> track.c (one record per connection in
 * FIN-WAIT-2, keyed by the object that holds it, from a pool allocated at
 * load) -> per-CPU counters of the connection's netns (stats.c) ->
 * /proc/net/finwait_stats (proc.c).
 */
#ifndef _FINWAIT_STATS_H
#define _FINWAIT_STATS_H

#include <linux/types.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/seqlock.h>
#include <linux/percpu.h>
#include <linux/in6.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

struct seq_file;
struct net;

/* How a FIN-WAIT-2 lifetime ended; the order is the order of the proc file. */
enum fw_exit {
	FW_EXIT_PEER_FIN,	/* the peer's FIN: on to TIME-WAIT */
	FW_EXIT_TIMEOUT,	/* tcp_fin_timeout / TCP_LINGER2 expired */
	FW_EXIT_RESET,		/* RST from the peer */
	FW_EXIT_ABORT,		/* our side ended it with an RST */
	FW_EXIT_OTHER,		/* no timewait socket, connect(AF_UNSPEC) in repair, ... */
	FW_EXIT_MAX,
};

/*
 * Log2 histogram of completed lifetimes in microseconds: bucket 0 holds
 * [0, 2) us, bucket k > 0 holds [2^k, 2^(k+1)) us, the last one is open.
 */
#define FW_HIST_BUCKETS	32

/*
 * One CPU's share of a netns's counters, written only by that CPU with
 * interrupts off (also on PREEMPT_RT), so that a hook nested in an
 * interrupted one cannot interleave with a write. Every counter only grows
 * between resets; "current" is derived by the reader (stats.c). A reset
 * (a new fw_net.gen) folds the connections still open into "entered" and
 * "to_tw", which is why those two are modulo 2^64 per CPU: only their sum
 * is meaningful.
 */
struct fw_stats {
	seqcount_t seq;
	unsigned int gen;	/* the reset generation these counts are of */
	/* entry side */
	u64 entered;
	u64 untracked;
	u64 to_tw;		/* handoffs to a timewait socket */
	/* exit side */
	u64 left[FW_EXIT_MAX];
	u64 left_tw;		/* of those, while held by a timewait socket */
	u64 stale;		/* records whose exit was never seen */
	u64 stale_tw;
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
	u64 stale;
	u64 sum_us;
	u64 min_us;
	u64 max_us;
	u64 hist[FW_HIST_BUCKETS];
};

struct fw_age;

/* Per network namespace state (net_generic). */
struct fw_net {
	struct fw_stats __percpu *stats;
	struct fw_age __percpu *age;	/* its records by age (track.c) */
	struct mutex lock;	/* resets, reads of the sums, limit writes */
	unsigned int gen;	/* bumped by a reset */
	atomic_t tracked;	/* records this netns holds */
	unsigned int limit;	/* at most this many: the rest is untracked */
	unsigned int ceiling;	/* the most this netns's own admin may set */
	bool dying;		/* set in pernet exit; no new records */
};

/* stats.c */
int fw_stats_init(struct fw_net *fwn);
void fw_stats_free(struct fw_net *fwn);
unsigned int fw_hist_bucket(u64 us);
void fw_stats_enter(struct fw_net *fwn, bool tracked);
void fw_stats_to_tw(struct fw_net *fwn);
void fw_stats_leave(struct fw_net *fwn, bool tw, enum fw_exit why, u64 us);
void fw_stats_stale(struct fw_net *fwn, bool tw);
void fw_stats_snapshot(struct fw_net *fwn, struct fw_snapshot *snap);
void fw_stats_reset(struct fw_net *fwn);
const char *fw_exit_name(enum fw_exit why);

/* One connection as /proc/net/finwait_conns shows it (track.c copies it). */
struct fw_conn_info {
	struct sockaddr_in6 local, remote;	/* or sockaddr_in: %pISpc */
	u64 start_ns;		/* ktime_get_ns() at the entry */
	bool tw;		/* held by a timewait socket */
};

/* track.c */

/* The record store's hash table: read inline by fw_track_may_hold(). */
extern struct hlist_head *fw_table;
extern unsigned int fw_table_bits;

static __always_inline u32 fw_hash(const void *key)
{
	return hash_ptr(key, fw_table_bits);
}

/*
 * Whether @key may have a record: false if its bucket is empty, read
 * without the lock, so that a hook can skip its clock read and the rest
 * (inline in a hook's filter, which calls nothing). Only the object's own
 * events put a record under it (its entry, or the handoff before the
 * timewait socket is hashed), and those are behind the hook that asks, so
 * the answer cannot be stale for @key.
 */
static __always_inline bool fw_track_may_hold(const void *key)
{
	return !hlist_empty(&fw_table[fw_hash(key)]);
}

int fw_track_init(unsigned int max_tracked, unsigned int netns_share);
void fw_track_exit(void);
unsigned int fw_track_default_limit(bool init_net);
unsigned int fw_track_max(void);
void fw_track_enter(struct fw_net *fwn, const void *key, u64 now_ns);
void fw_track_handoff(const void *sk);
void fw_track_rekey(const void *sk, const void *tw);
bool fw_track_leave(const void *key, enum fw_exit why, u64 now_ns);
bool fw_track_close(const void *sk, u64 now_ns);
bool fw_track_stale(const void *key);
void fw_track_purge_dying(void);
int fw_track_net_init(struct fw_net *fwn);
void fw_track_net_free(struct fw_net *fwn);
u64 fw_track_oldest(struct fw_net *fwn);
unsigned long fw_track_count(void);
unsigned int fw_track_buckets(void);
unsigned int fw_track_copy(struct fw_net *fwn, const struct net *net,
			   unsigned int bucket, unsigned int skip,
			   struct fw_conn_info *out, unsigned int max);

/* format.c: what a write to the proc file asks for */
enum fw_cmd_op {
	FW_CMD_RESET,
	FW_CMD_LIMIT,
};

struct fw_cmd {
	enum fw_cmd_op op;
	unsigned int limit;
};

/* proc.c, format.c */
void fw_proc_print(struct seq_file *seq, const struct fw_snapshot *s,
		   u64 oldest_ms, unsigned int fin_timeout_ms, unsigned int limit,
		   unsigned long missed);
int fw_proc_parse_write(const char *buf, size_t len, struct fw_cmd *cmd);
int fw_proc_net_init(struct net *net);
void fw_proc_net_exit(struct net *net);

/* netns.c */
extern unsigned int fw_net_id;

static inline struct fw_net *fw_net(const struct net *net)
{
	return net_generic(net, fw_net_id);
}

int fw_netns_init(void);
void fw_netns_exit(void);

/* hooks.c */
int fw_hooks_init(void);
void fw_hooks_exit(void);
unsigned long fw_hooks_missed(void);
unsigned int fw_hooks_epoch(void);

#endif /* _FINWAIT_STATS_H */
