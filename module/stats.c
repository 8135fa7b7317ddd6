// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns, per-CPU counters of FIN-WAIT-2 lifetimes.
 *
 * Writers run in the hooks (softirq, timer or process context) with
 * interrupts off, so a CPU's block is never written concurrently; readers
 * sum the blocks under each block's seqcount. Reading costs O(CPUs).
 */
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/cpu.h>
#include <linux/smp.h>
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

static void fw_stats_zero(struct fw_stats *s)
{
	/* Connections still in FIN-WAIT-2 stay counted: entered = current. */
	s->entered = s->cur;
	s->untracked = 0;
	memset(s->left, 0, sizeof(s->left));
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
	return 0;
}

void fw_stats_free(struct fw_net *fwn)
{
	free_percpu(fwn->stats);
	fwn->stats = NULL;
}

/* Callers hold interrupts off (a track.c bucket lock). */
static struct fw_stats *fw_stats_begin(struct fw_net *fwn)
{
	struct fw_stats *s = this_cpu_ptr(fwn->stats);

	write_seqcount_begin(&s->seq);
	return s;
}

static void fw_stats_end(struct fw_stats *s)
{
	write_seqcount_end(&s->seq);
}

void fw_stats_enter(struct fw_net *fwn, bool tracked)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->entered++;
	if (tracked)
		s->cur++;
	else
		s->untracked++;
	fw_stats_end(s);
}

void fw_stats_to_tw(struct fw_net *fwn)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->cur_tw++;
	fw_stats_end(s);
}

void fw_stats_leave(struct fw_net *fwn, bool tw, enum fw_exit why, u64 us)
{
	struct fw_stats *s = fw_stats_begin(fwn);

	s->cur--;
	if (tw)
		s->cur_tw--;
	s->left[why]++;
	s->sum_us += us;
	if (us < s->min_us)
		s->min_us = us;
	if (us > s->max_us)
		s->max_us = us;
	s->hist[fw_hist_bucket(us)]++;
	fw_stats_end(s);
}

void fw_stats_snapshot(struct fw_net *fwn, struct fw_snapshot *snap)
{
	unsigned int seq, i;
	int cpu;

	memset(snap, 0, sizeof(*snap));
	snap->min_us = U64_MAX;
	for_each_possible_cpu(cpu) {
		struct fw_stats *p = per_cpu_ptr(fwn->stats, cpu);
		struct fw_stats s;

		do {
			seq = read_seqcount_begin(&p->seq);
			s = *p;
		} while (read_seqcount_retry(&p->seq, seq));

		snap->entered += s.entered;
		snap->untracked += s.untracked;
		snap->cur += s.cur;
		snap->cur_tw += s.cur_tw;
		for (i = 0; i < FW_EXIT_MAX; i++) {
			snap->left[i] += s.left[i];
			snap->completed += s.left[i];
		}
		snap->sum_us += s.sum_us;
		snap->min_us = min(snap->min_us, s.min_us);
		snap->max_us = max(snap->max_us, s.max_us);
		for (i = 0; i < FW_HIST_BUCKETS; i++)
			snap->hist[i] += s.hist[i];
	}
	if (!snap->completed)
		snap->min_us = 0;
}

static void fw_stats_reset_cpu(void *data)
{
	struct fw_net *fwn = data;
	struct fw_stats *s = this_cpu_ptr(fwn->stats);

	/* IPI context: interrupts are off, as for every writer. */
	write_seqcount_begin(&s->seq);
	fw_stats_zero(s);
	write_seqcount_end(&s->seq);
}

/*
 * Zero the counters of a netns. Each CPU zeroes its own block from an IPI,
 * which cannot interleave with that CPU's writers; blocks of offline CPUs
 * have no writer. Process context.
 */
void fw_stats_reset(struct fw_net *fwn)
{
	int cpu;

	cpus_read_lock();
	on_each_cpu(fw_stats_reset_cpu, fwn, 1);
	for_each_possible_cpu(cpu) {
		struct fw_stats *s = per_cpu_ptr(fwn->stats, cpu);
		unsigned long flags;

		if (cpu_online(cpu))
			continue;
		local_irq_save(flags);
		write_seqcount_begin(&s->seq);
		fw_stats_zero(s);
		write_seqcount_end(&s->seq);
		local_irq_restore(flags);
	}
	cpus_read_unlock();
}
