// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/finwait_stats: one file per netns, "name value" lines.
 * Reading sums per-CPU counters (O(CPUs)); writing "reset" zeroes them.
 */
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/capability.h>
#include <linux/jiffies.h>
#include <net/net_namespace.h>
#include <net/netns/ipv4.h>

#include "finwait_stats.h"
#include "compat.h"

#define FW_PROC_NAME "finwait_stats"

static int fw_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct fw_snapshot snap;

	fw_stats_snapshot(fw_net(net), &snap);
	fw_proc_print(seq, &snap, fw_fin_timeout_ms(net), fw_hooks_missed());
	return 0;
}

static int fw_proc_write(struct file *file, char *buf, size_t len)
{
	struct net *net = seq_file_single_net(file->private_data);
	int err;

	/* The opener's credentials, as for any netns-scoped knob. */
	if (!file_ns_capable(file, net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	err = fw_proc_parse_write(buf, len);
	if (err)
		return err;
	fw_stats_reset(fw_net(net));
	return 0;
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
