// SPDX-License-Identifier: GPL-2.0
/*
 * finwait_stats: how long TCP connections really stay in FIN-WAIT-2, and how
 * they leave it, per network namespace, in /proc/net/finwait_stats.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "finwait_stats.h"

/*
 * The record pool is allocated at load: 56 bytes a record on 64-bit, so the
 * default costs 3.5 MiB (plus a 256 KiB table) whether used or not.
 */
#define FW_MAX_TRACKED_DEFAULT	65536
#define FW_MAX_TRACKED_LIMIT	16777216

static unsigned int max_tracked = FW_MAX_TRACKED_DEFAULT;
static unsigned int netns_max_tracked;

static int fw_set_max_tracked(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err;

	err = kstrtouint(val, 0, &n);
	if (err)
		return err;
	if (n < 1 || n > FW_MAX_TRACKED_LIMIT)
		return -ERANGE;
	*(unsigned int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops fw_max_tracked_ops = {
	.set = fw_set_max_tracked,
	.get = param_get_uint,
};

/* Read-only once loaded: the hash table is sized from it. */
module_param_cb(max_tracked, &fw_max_tracked_ops, &max_tracked, 0444);
MODULE_PARM_DESC(max_tracked,
		 "Connections tracked in FIN-WAIT-2 at once, all netns together (1.."
		 __stringify(FW_MAX_TRACKED_LIMIT) ", default "
		 __stringify(FW_MAX_TRACKED_DEFAULT) "); more are counted as untracked");

/* Each netns but the host's may hold this many records (its "limit"). */
module_param_cb(netns_max_tracked, &fw_max_tracked_ops, &netns_max_tracked, 0444);
MODULE_PARM_DESC(netns_max_tracked,
		 "Connections tracked at once in each network namespace other than the initial one (1..max_tracked, default max_tracked / 4)");

static int __init fw_init(void)
{
	int err;

	if (!netns_max_tracked)
		netns_max_tracked = max(max_tracked / 4, 1U);
	if (netns_max_tracked > max_tracked) {
		pr_err("netns_max_tracked=%u is above max_tracked=%u\n",
		       netns_max_tracked, max_tracked);
		return -ERANGE;
	}
	err = fw_track_init(max_tracked, netns_max_tracked);
	if (err)
		return err;
	err = fw_netns_init();
	if (err)
		goto err_track_exit;
	err = fw_hooks_init();
	if (err)
		goto err_netns_exit;
	pr_info("version " FINWAIT_VERSION " loaded, max_tracked=%u netns_max_tracked=%u\n",
		max_tracked, netns_max_tracked);
	return 0;

err_netns_exit:
	fw_netns_exit();
err_track_exit:
	fw_track_exit();
	return err;
}

static void __exit fw_exit(void)
{
	fw_hooks_exit();
	fw_netns_exit();
	fw_track_exit();
}

module_init(fw_init);
module_exit(fw_exit);

MODULE_DESCRIPTION("True FIN-WAIT-2 lifetimes and exit reasons per network namespace");
MODULE_VERSION(FINWAIT_VERSION);
MODULE_AUTHOR("finwait_stats developers");
MODULE_LICENSE("GPL");
