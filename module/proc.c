// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/finwait_stats: one file per netns, "name value" lines.
 * Reading sums per-CPU counters (O(CPUs)); writing "reset" zeroes them,
 * "limit N" sets how many connections of this netns are tracked at once.
 */
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/capability.h>
#include <linux/jiffies.h>
#include <linux/user_namespace.h>
#include <net/net_namespace.h>
#include <net/netns/ipv4.h>

#include "finwait_stats.h"
#include "compat.h"

#define FW_PROC_NAME "finwait_stats"

static int fw_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct fw_net *fwn = fw_net(net);
	struct fw_snapshot snap;

	fw_stats_snapshot(fwn, &snap);
	fw_proc_print(seq, &snap, fw_fin_timeout_ms(net), READ_ONCE(fwn->limit),
		      fw_hooks_missed());
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

int fw_proc_net_init(struct net *net)
{
	/*
	 * World-writable so that the CAP_NET_ADMIN check above decides, with
	 * EPERM, rather than the file owner's mode bits.
	 */
	if (!proc_create_net_single_write(FW_PROC_NAME, 0666, net->proc_net,
					  fw_proc_show, fw_proc_write, NULL))
		return -ENOMEM;
	return 0;
}

void fw_proc_net_exit(struct net *net)
{
	remove_proc_entry(FW_PROC_NAME, net->proc_net);
}
