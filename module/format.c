// SPDX-License-Identifier: GPL-2.0
/*
 * The text of /proc/net/finwait_stats, and the commands it accepts.
 * Kept apart from proc.c so that KUnit checks it byte for byte.
 */
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "finwait_stats.h"

void fw_proc_print(struct seq_file *seq, const struct fw_snapshot *s,
		   u64 oldest_ms, unsigned int fin_timeout_ms, unsigned int limit,
		   unsigned long missed)
{
	unsigned int i;

	seq_printf(seq, "fin_timeout_ms %u\n", fin_timeout_ms);
	seq_printf(seq, "current %lld\n", s->cur);
	seq_printf(seq, "current_timewait %lld\n", s->cur_tw);
	seq_printf(seq, "oldest_age_ms %llu\n", oldest_ms);
	seq_printf(seq, "entered %llu\n", s->entered);
	for (i = 0; i < FW_EXIT_MAX; i++)
		seq_printf(seq, "left_%s %llu\n", fw_exit_name(i), s->left[i]);
	seq_printf(seq, "untracked %llu\n", s->untracked);
	seq_printf(seq, "stale %llu\n", s->stale);
	seq_printf(seq, "tracked_limit %u\n", limit);
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

/*
 * "reset" or "limit N" (N decimal digits only), each with an optional
 * trailing newline: 0 and @cmd filled in; -EINVAL for anything else,
 * -ERANGE for an N beyond an unsigned int.
 */
int fw_proc_parse_write(const char *buf, size_t len, struct fw_cmd *cmd)
{
	static const char reset[] = "reset", limit[] = "limit ";
	const size_t nl = sizeof(limit) - 1;
	char num[16];
	size_t i;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len == sizeof(reset) - 1 && !memcmp(buf, reset, len)) {
		cmd->op = FW_CMD_RESET;
		return 0;
	}
	if (len <= nl || memcmp(buf, limit, nl))
		return -EINVAL;
	buf += nl;
	len -= nl;
	for (i = 0; i < len; i++)
		if (!isdigit(buf[i]))
			return -EINVAL;
	if (len >= sizeof(num))
		return -ERANGE;
	memcpy(num, buf, len);
	num[len] = '\0';
	cmd->op = FW_CMD_LIMIT;
	return kstrtouint(num, 10, &cmd->limit);
}
