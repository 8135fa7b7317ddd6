// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/finwait_stats: one file per netns, "name value" lines.
 * Reading sums per-CPU counters (O(CPUs)); writing "reset" zeroes them,
 * "limit N" sets how many connections of this netns are tracked at once.
 * /proc/net/finwait_conns: the connections themselves, with their age.
 */
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/capability.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/user_namespace.h>
#include <net/net_namespace.h>
#include <net/netns/ipv4.h>

#include "finwait_stats.h"
#include "compat.h"

#define FW_PROC_NAME "finwait_stats"

/* Milliseconds from @start_ns to @now_ns (ktime_get_ns()); 0 if not after. */
static u64 fw_age_ms(u64 start_ns, u64 now_ns)
{
	return now_ns > start_ns ? div_u64(now_ns - start_ns, NSEC_PER_MSEC) : 0;
}

static int fw_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct fw_net *fwn = fw_net(net);
	struct fw_snapshot snap;
	u64 oldest, age_ms = 0;

	fw_stats_snapshot(fwn, &snap);
	oldest = fw_track_oldest(fwn);
	if (oldest != U64_MAX)
		age_ms = fw_age_ms(oldest, ktime_get_ns());
	fw_proc_print(seq, &snap, age_ms, fw_fin_timeout_ms(net),
		      READ_ONCE(fwn->limit), fw_hooks_missed());
	return 0;
}

/*
 * The host's admin (CAP_NET_ADMIN in the initial user namespace) sets a
 * netns's limit, up to the whole pool, and with it the ceiling for that
 * netns's own admin (a container's root), who may set any limit up to it:
 * at first the share every netns gets (netns_max_tracked). So a container
 * can neither take the host's records nor undo a lower limit the host set.
 */
static int fw_proc_set_limit(struct file *file, struct fw_net *fwn,
			     unsigned int limit)
{
	int err = 0;

	if (limit > fw_track_max())
		return -ERANGE;
	mutex_lock(&fwn->lock);
	if (file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN))
		fwn->ceiling = limit;
	else if (limit > fwn->ceiling)
		err = -EPERM;
	if (!err)
		WRITE_ONCE(fwn->limit, limit);
	mutex_unlock(&fwn->lock);
	return err;
}

static int fw_proc_write(struct file *file, char *buf, size_t len)
{
	struct net *net = seq_file_single_net(file->private_data);
	struct fw_cmd cmd;
	int err;

	/* The opener's credentials, as for any netns-scoped knob. */
	if (!file_ns_capable(file, net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	err = fw_proc_parse_write(buf, len, &cmd);
	if (err)
		return err;
	switch (cmd.op) {
	case FW_CMD_RESET:
		fw_stats_reset(fw_net(net));
		return 0;
	case FW_CMD_LIMIT:
		return fw_proc_set_limit(file, fw_net(net), cmd.limit);
	}
	return -EINVAL;
}

/*
 * /proc/net/finwait_conns: a header, then one line per connection of this
 * netns in FIN-WAIT-2 that has a record: its two ends as ss prints them,
 * the object that holds it (sk: the full socket, tw: a timewait socket)
 * and its age in ms. Walked one bucket at a time (track.c); a position is
 * 1 + (bucket << 8 | chunk), a chunk being FW_CONNS_CHUNK records of the
 * bucket, so that a read resumed at any position finds its place.
 */
#define FW_CONNS_NAME	"finwait_conns"
#define FW_CONNS_CHUNK	16

struct fw_conns_iter {
	struct seq_net_private p;	/* first: seq_file_net() */
	unsigned int n;
	struct fw_conn_info info[FW_CONNS_CHUNK];
};

/* Fill @it from position *@pos on: the first non-empty chunk, *@pos moved to it. */
static void *fw_conns_fill(struct seq_file *seq, loff_t *pos)
{
	struct fw_conns_iter *it = seq->private;
	struct net *net = seq_file_net(seq);
	struct fw_net *fwn = fw_net(net);
	unsigned int buckets = fw_track_buckets();
	u64 b = (*pos - 1) >> 8, chunk = (*pos - 1) & 0xff;

	for (; b < buckets; b++, chunk = 0) {
		if (chunk > 0xff)
			continue;
		it->n = fw_track_copy(fwn, net, b, chunk * FW_CONNS_CHUNK, it->info,
				      FW_CONNS_CHUNK);
		if (it->n) {
			*pos = 1 + (b << 8 | chunk);
			return it;
		}
		cond_resched();
	}
	*pos = 1 + ((u64)buckets << 8);
	return NULL;
}

static void *fw_conns_start(struct seq_file *seq, loff_t *pos)
{
	if (!*pos)
		return SEQ_START_TOKEN;
	return fw_conns_fill(seq, pos);
}

static void *fw_conns_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct fw_conns_iter *it = seq->private;

	if (v == SEQ_START_TOKEN)
		*pos = 1;
	else if (it->n == FW_CONNS_CHUNK)	/* the bucket may hold more */
		++*pos;
	else
		*pos = 1 + ((((*pos - 1) >> 8) + 1) << 8);
	return fw_conns_fill(seq, pos);
}

static void fw_conns_stop(struct seq_file *seq, void *v)
{
}

static int fw_conns_show(struct seq_file *seq, void *v)
{
	struct fw_conns_iter *it = seq->private;
	u64 now = ktime_get_ns();
	unsigned int i;

	if (v == SEQ_START_TOKEN) {
		seq_printf(seq, "%-47s %-47s %-6s %s\n", "local", "remote", "holder",
			   "age_ms");
		return 0;
	}
	for (i = 0; i < it->n; i++) {
		const struct fw_conn_info *c = &it->info[i];
		/* "[v6]:port" at most; %pISpc takes no field width of its own. */
		char local[56], remote[56];

		snprintf(local, sizeof(local), "%pISpc", &c->local);
		snprintf(remote, sizeof(remote), "%pISpc", &c->remote);
		seq_printf(seq, "%-47s %-47s %-6s %llu\n", local, remote,
			   c->tw ? "tw" : "sk", fw_age_ms(c->start_ns, now));
	}
	return 0;
}

static const struct seq_operations fw_conns_ops = {
	.start = fw_conns_start,
	.next = fw_conns_next,
	.stop = fw_conns_stop,
	.show = fw_conns_show,
};

int fw_proc_net_init(struct net *net)
{
	/*
	 * World-writable so that the CAP_NET_ADMIN check above decides, with
	 * EPERM, rather than the file owner's mode bits.
	 */
	if (!proc_create_net_single_write(FW_PROC_NAME, 0666, net->proc_net,
					  fw_proc_show, fw_proc_write, NULL))
		return -ENOMEM;
	/* Who may read /proc/net/tcp may read this. */
	if (!proc_create_net(FW_CONNS_NAME, 0444, net->proc_net, &fw_conns_ops,
			     sizeof(struct fw_conns_iter)))
		goto err_remove_stats;
	return 0;

err_remove_stats:
	remove_proc_entry(FW_PROC_NAME, net->proc_net);
	return -ENOMEM;
}

void fw_proc_net_exit(struct net *net)
{
	remove_proc_entry(FW_CONNS_NAME, net->proc_net);
	remove_proc_entry(FW_PROC_NAME, net->proc_net);
}
