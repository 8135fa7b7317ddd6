// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: counters, age lists and the proc files,
 * created with the netns and removed with it.
 *
 * Our pernet .exit runs before TCP purges the netns's timewait sockets, so
 * hooks can still see that netns's connections afterwards. .exit marks the
 * netns dying (no new records); .exit_batch waits for the hooks in flight
 * (each runs with preemption off, an RCU read side), drops the records of
 * every netns of the batch in one pass, waits for the hooks that were
 * ending one of them, and frees their counters.
 */
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "finwait_stats.h"

unsigned int fw_net_id __read_mostly;

static int __net_init fw_net_init(struct net *net)
{
	struct fw_net *fwn = fw_net(net);
	int err;

	atomic_set(&fwn->tracked, 0);
	fwn->limit = fw_track_default_limit(net_eq(net, &init_net));
	fwn->ceiling = fwn->limit;
	err = fw_stats_init(fwn);
	if (err)
		return err;
	err = fw_track_net_init(fwn);
	if (err)
		goto err_free_stats;
	err = fw_proc_net_init(net);
	if (err)
		goto err_free_ages;
	return 0;

err_free_ages:
	fw_track_net_free(fwn);
err_free_stats:
	fw_stats_free(fwn);
	return err;
}

static void __net_exit fw_net_exit(struct net *net)
{
	struct fw_net *fwn = fw_net(net);

	fw_proc_net_exit(net);
	/* No new record for it from here; see exit_batch for those in flight. */
	WRITE_ONCE(fwn->dying, true);
}

static void __net_exit fw_net_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	/*
	 * Every hook and probe runs with preemption off, which is an RCU
	 * read side: after this no hook is still inside an enter that read
	 * dying == false, so the purge sees every record.
	 * One pass over the records for the whole batch.
	 */
	synchronize_rcu();
	fw_track_purge_dying();
	/*
	 * A hook that took one of their records out of the table before the
	 * purge may still be counting it (stats, the netns's record count):
	 * wait for it before the counters and fw_net go.
	 */
	synchronize_rcu();
	list_for_each_entry(net, net_exit_list, exit_list) {
		fw_track_net_free(fw_net(net));
		fw_stats_free(fw_net(net));
	}
}

static struct pernet_operations fw_net_ops = {
	.init = fw_net_init,
	.exit = fw_net_exit,
	.exit_batch = fw_net_exit_batch,
	.id = &fw_net_id,
	.size = sizeof(struct fw_net),
};

int fw_netns_init(void)
{
	return register_pernet_subsys(&fw_net_ops);
}

void fw_netns_exit(void)
{
	unregister_pernet_subsys(&fw_net_ops);
}
