// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns, per-CPU counters of FIN-WAIT-2 lifetimes.
 *
 * Writers run in the hooks (any context), under a bucket lock of the record
 * store (track.c), so with interrupts off, on PREEMPT_RT too: each writes
 * its own CPU's block, and a hook nested in an interrupted one never sees a
 * half-made update. Readers sum the blocks under each block's seqcount:
 * O(CPUs).
 *
 * "current" is not a counter of its own: per-CPU deltas read one CPU at a
 * time can sum to less than zero (a connection that entered on a CPU read
 * early and left on a CPU read late). The reader sums every CPU's exits
 * first, then the handoffs, then the entries: every exit it has seen has
 * its handoff and entry counted too (each happened before the exit, and was
 * published before it), so current and current_timewait are never
 * negative, current_timewait is never above current, and
 * entered == current + completed + stale + untracked.
 *
 * A reset sends no IPI and touches no other CPU's block: it starts a new
 * generation. A block of an older generation is folded (fw_stats_zero) by
 * its own CPU before its next write, and the reader folds its copy of such
 * a block the same way: both see the block as it was when the generation
 * changed, since only its own CPU writes it and folds before anything else.
 */
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "finwait_stats.h"

static const char *const fw_exit_names[FW_EXIT_MAX] = {
	[FW_EXIT_PEER_FIN] = "peer_fin",
	[FW_EXIT_TIMEOUT] = "timeout",
	[FW_EXIT_RESET] = "reset",
	[FW_EXIT_ABORT] = "abort",
	[FW_EXIT_OTHER] = "other",
};

const char *fw_exit_name(enum fw_exit why)
{
	return why < FW_EXIT_MAX ? fw_exit_names[why] : "?";
}

unsigned int fw_hist_bucket(u64 us)
{
	unsigned int b = us < 2 ? 0 : ilog2(us);

	return min_t(unsigned int, b, FW_HIST_BUCKETS - 1);
}

static u64 fw_stats_exits(const struct fw_stats *s)
{
	u64 n = s->stale;
	unsigned int i;

	for (i = 0; i < FW_EXIT_MAX; i++)
		n += s->left[i];
	return n;
}

/*
 * Zero a block but keep the connections still open: they stay counted as
 * entered (and handed over), so that entered == current afterwards.
 */
static void fw_stats_zero(struct fw_stats *s)
{
	s->entered -= s->untracked + fw_stats_exits(s);
	s->to_tw -= s->left_tw + s->stale_tw;
	s->untracked = 0;
	memset(s->left, 0, sizeof(s->left));
	s->left_tw = 0;
	s->stale = 0;
	s->stale_tw = 0;
	s->sum_us = 0;
	s->min_us = U64_MAX;
	s->max_us = 0;
	memset(s->hist, 0, sizeof(s->hist));
}

int fw_stats_init(struct fw_net *fwn)
{
	int cpu;

	fwn->stats = alloc_percpu(struct fw_stats);
	if (!fwn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct fw_stats *s = per_cpu_ptr(fwn->stats, cpu);

		seqcount_init(&s->seq);
		s->min_us = U64_MAX;
	}
	fwn->gen = 0;
	mutex_init(&fwn->lock);
	return 0;
}

void fw_stats_free(struct fw_net *fwn)
{
	free_percpu(fwn->stats);
	fwn->stats = NULL;
}

/*
 * This CPU's block, of the current generation. The caller holds a bucket
 * lock of the record store, so interrupts are off: a hook nested in ours
 * cannot move the block on to a newer generation between the read and the
 * fold, so a block's generation only goes forward, and never sees a
 * half-made update.
 */
static inline struct fw_stats *fw_stats_begin(struct fw_net *fwn)
{
	unsigned int gen;
	struct fw_stats *s;

	lockdep_assert_irqs_disabled();
	gen = READ_ONCE(fwn->gen);
	s = this_cpu_ptr(fwn->stats);
	write_seqcount_begin(&s->seq);
	if (unlikely(s->gen != gen)) {
		fw_stats_zero(s);
		s->gen = gen;
	}
	return s;
}

static inline void fw_stats_end(struct fw_stats *s)
{
	write_seqcount_end(&s->seq);
}

void fw_stats_enter(struct fw_net *fwn, bool tracked)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->entered++;
	if (!tracked)
		s->untracked++;
	fw_stats_end(s);
}

void fw_stats_to_tw(struct fw_net *fwn)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->to_tw++;
	fw_stats_end(s);
}

void fw_stats_leave(struct fw_net *fwn, bool tw, enum fw_exit why, u64 us)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->left[why]++;
	if (tw)
		s->left_tw++;
	s->sum_us += us;
	if (us < s->min_us)
		s->min_us = us;
	if (us > s->max_us)
		s->max_us = us;
	s->hist[fw_hist_bucket(us)]++;
	fw_stats_end(s);
}

void fw_stats_stale(struct fw_net *fwn, bool tw)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->stale++;
	if (tw)
		s->stale_tw++;
	fw_stats_end(s);
}

/* A consistent copy of one CPU's block, as of generation @gen. */
static void fw_stats_read(struct fw_stats *p, unsigned int gen,
			  struct fw_stats *s)
{
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&p->seq);
		*s = *p;
	} while (read_seqcount_retry(&p->seq, seq));
	if (s->gen != gen)
		fw_stats_zero(s);
}

/* Process context; see the top of the file for the order of the sums. */
void fw_stats_snapshot(struct fw_net *fwn, struct fw_snapshot *snap)
{
	u64 exits_tw = 0, in_tw = 0;
	struct fw_stats s;
	unsigned int i, gen;
	int cpu;

	memset(snap, 0, sizeof(*snap));
	snap->min_us = U64_MAX;
	mutex_lock(&fwn->lock);
	gen = fwn->gen;
	for_each_possible_cpu(cpu) {
		fw_stats_read(per_cpu_ptr(fwn->stats, cpu), gen, &s);
		for (i = 0; i < FW_EXIT_MAX; i++)
			snap->left[i] += s.left[i];
		snap->stale += s.stale;
		exits_tw += s.left_tw + s.stale_tw;
		snap->sum_us += s.sum_us;
		snap->min_us = min(snap->min_us, s.min_us);
		snap->max_us = max(snap->max_us, s.max_us);
		for (i = 0; i < FW_HIST_BUCKETS; i++)
			snap->hist[i] += s.hist[i];
	}
	/*
	 * Then the handoffs, then the entries: read after the exits, pairing
	 * with write_seqcount_end()'s barrier on the writing CPUs.
	 */
	smp_rmb();
	for_each_possible_cpu(cpu) {
		fw_stats_read(per_cpu_ptr(fwn->stats, cpu), gen, &s);
		in_tw += s.to_tw;
	}
	smp_rmb();	/* entries after handoffs, as above */
	for_each_possible_cpu(cpu) {
		fw_stats_read(per_cpu_ptr(fwn->stats, cpu), gen, &s);
		snap->entered += s.entered;
		snap->untracked += s.untracked;
	}
	mutex_unlock(&fwn->lock);

	for (i = 0; i < FW_EXIT_MAX; i++)
		snap->completed += snap->left[i];
	snap->cur = snap->entered - snap->untracked - snap->completed - snap->stale;
	snap->cur_tw = in_tw - exits_tw;
	if (!snap->completed)
		snap->min_us = 0;
}

/*
 * Zero the counters of a netns, keeping the connections still open: a new
 * generation, which each CPU's block takes on at its next write (and the
 * reader at once). No IPI, no other CPU disturbed. The grace period waits
 * for the writers that read the old generation (a writer holds a bucket
 * lock, interrupts off): after it, no block of the old generation changes
 * until its CPU folds it, so the reader's fold of its copy is the fold its
 * CPU will make.
 * Readers wait meanwhile. Process context.
 */
void fw_stats_reset(struct fw_net *fwn)
{
	mutex_lock(&fwn->lock);
	WRITE_ONCE(fwn->gen, fwn->gen + 1);
	synchronize_rcu();
	mutex_unlock(&fwn->lock);
}
