// SPDX-License-Identifier: GPL-2.0
/*
 * The text of /proc/net/finwait_stats, and the one command it accepts.
 * Kept apart from proc.c so that KUnit checks it byte for byte.
 */
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "finwait_stats.h"

void fw_proc_print(struct seq_file *seq, const struct fw_snapshot *s,
		   unsigned int fin_timeout_ms, unsigned long missed)
{
	unsigned int i;

	seq_printf(seq, "fin_timeout_ms %u\n", fin_timeout_ms);
	seq_printf(seq, "current %lld\n", s->cur);
	seq_printf(seq, "current_timewait %lld\n", s->cur_tw);
	seq_printf(seq, "entered %llu\n", s->entered);
	for (i = 0; i < FW_EXIT_MAX; i++)
		seq_printf(seq, "left_%s %llu\n", fw_exit_name(i), s->left[i]);
	seq_printf(seq, "untracked %llu\n", s->untracked);
	seq_printf(seq, "lifetime_min_us %llu\n", s->min_us);
	seq_printf(seq, "lifetime_max_us %llu\n", s->max_us);
	seq_printf(seq, "lifetime_sum_us %llu\n", s->sum_us);
	seq_printf(seq, "completed %llu\n", s->completed);
	seq_printf(seq, "probe_missed %lu\n", missed);
	/* Bucket k counts lifetimes in [lower, next lower) us. */
	for (i = 0; i < FW_HIST_BUCKETS; i++)
		seq_printf(seq, "hist_us_%llu %llu\n", i ? 1ULL << i : 0ULL,
			   s->hist[i]);
}

/* 0 for "reset" with an optional trailing newline, -EINVAL otherwise. */
int fw_proc_parse_write(const char *buf, size_t len)
{
	static const char cmd[] = "reset";
	size_t n = sizeof(cmd) - 1;

	if (len == n + 1 && buf[n] == '\n')
		len--;
	if (len != n || memcmp(buf, cmd, n))
		return -EINVAL;
	return 0;
}
