// SPDX-License-Identifier: GPL-2.0
/*
 * One record per connection in FIN-WAIT-2, keyed by the kernel object that
 * holds it: the full socket first, the timewait minisocket after the handoff
 * (fw_track_rekey). Records live in a fixed hash table with striped locks;
 * their number is bounded by max_tracked, past which entries are counted as
 * untracked and nothing is allocated.
 *
 * Every function here may run in softirq, timer or process context: locks
 * are taken with interrupts off and allocations are GFP_ATOMIC.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/spinlock.h>
#include <linux/percpu_counter.h>
#include <linux/vmalloc.h>
#include <linux/sched.h>

#include "finwait_stats.h"

#define FW_CONN_TW	BIT(0)	/* held by a timewait minisocket */
#define FW_CONN_HANDOFF	BIT(1)	/* tcp_time_wait() under way, no tw yet */

struct fw_conn {
	struct hlist_node node;
	const void *key;
	struct fw_net *fwn;
	u64 start_ns;
	unsigned int flags;
};

#define FW_LOCK_BITS	10

static struct kmem_cache *fw_conn_cache;
static struct hlist_head *fw_table;
static unsigned int fw_table_bits;
static spinlock_t fw_locks[1 << FW_LOCK_BITS];
static struct percpu_counter fw_tracked;
static unsigned int fw_max_tracked;

static u32 fw_hash(const void *key)
{
	return hash_ptr(key, fw_table_bits);
}

static spinlock_t *fw_lock(u32 hash)
{
	return &fw_locks[hash & ((1 << FW_LOCK_BITS) - 1)];
}

static struct fw_conn *fw_find(u32 hash, const void *key)
{
	struct fw_conn *c;

	hlist_for_each_entry(c, &fw_table[hash], node)
		if (c->key == key)
			return c;
	return NULL;
}

static u64 fw_lifetime_us(const struct fw_conn *c, u64 now_ns)
{
	return now_ns > c->start_ns ? div_u64(now_ns - c->start_ns, 1000) : 0;
}

/* Unlink, count and free a record; its bucket lock is held. */
static void fw_end(struct fw_conn *c, enum fw_exit why, u64 now_ns)
{
	hlist_del(&c->node);
	fw_stats_leave(c->fwn, c->flags & FW_CONN_TW, why,
		       fw_lifetime_us(c, now_ns));
	percpu_counter_dec(&fw_tracked);
	kmem_cache_free(fw_conn_cache, c);
}

static bool fw_room(void)
{
	/* Exact only near the bound, per-CPU cheap elsewhere. */
	return percpu_counter_compare(&fw_tracked, fw_max_tracked) < 0;
}

void fw_track_enter(struct fw_net *fwn, const void *key, u64 now_ns)
{
	u32 hash = fw_hash(key);
	struct fw_conn *c, *old;
	unsigned long flags;

	c = fw_room() ? kmem_cache_alloc(fw_conn_cache, GFP_ATOMIC) : NULL;
	if (c) {
		c->key = key;
		c->fwn = fwn;
		c->start_ns = now_ns;
		c->flags = 0;
	}

	spin_lock_irqsave(fw_lock(hash), flags);
	if (READ_ONCE(fwn->dying)) {
		spin_unlock_irqrestore(fw_lock(hash), flags);
		if (c)
			kmem_cache_free(fw_conn_cache, c);
		return;
	}
	/*
	 * A record for the same object means its exit event was lost (a
	 * missed event) and the memory was reused: end it as "other".
	 */
	old = fw_find(hash, key);
	if (old)
		fw_end(old, FW_EXIT_OTHER, now_ns);
	if (c) {
		hlist_add_head(&c->node, &fw_table[hash]);
		percpu_counter_inc(&fw_tracked);
	}
	fw_stats_enter(fwn, c);
	spin_unlock_irqrestore(fw_lock(hash), flags);
}

void fw_track_handoff(const void *sk)
{
	u32 hash = fw_hash(sk);
	struct fw_conn *c;
	unsigned long flags;

	spin_lock_irqsave(fw_lock(hash), flags);
	c = fw_find(hash, sk);
	if (c)
		c->flags |= FW_CONN_HANDOFF;
	spin_unlock_irqrestore(fw_lock(hash), flags);
}

/*
 * The connection moves from the full socket to its timewait minisocket.
 * The tw is not hashed yet, so no event can look for it before we insert.
 */
void fw_track_rekey(const void *sk, const void *tw)
{
	u32 hash = fw_hash(sk), twhash = fw_hash(tw);
	struct fw_conn *c;
	unsigned long flags;

	spin_lock_irqsave(fw_lock(hash), flags);
	c = fw_find(hash, sk);
	if (c)
		hlist_del(&c->node);
	spin_unlock_irqrestore(fw_lock(hash), flags);
	if (!c)
		return;

	spin_lock_irqsave(fw_lock(twhash), flags);
	if (READ_ONCE(c->fwn->dying)) {
		/* The netns was purged while the record was in flight. */
		spin_unlock_irqrestore(fw_lock(twhash), flags);
		percpu_counter_dec(&fw_tracked);
		kmem_cache_free(fw_conn_cache, c);
		return;
	}
	c->key = tw;
	c->flags = FW_CONN_TW;
	hlist_add_head(&c->node, &fw_table[twhash]);
	fw_stats_to_tw(c->fwn);
	spin_unlock_irqrestore(fw_lock(twhash), flags);
}

bool fw_track_leave(const void *key, enum fw_exit why, u64 now_ns)
{
	u32 hash = fw_hash(key);
	struct fw_conn *c;
	unsigned long flags;

	spin_lock_irqsave(fw_lock(hash), flags);
	c = fw_find(hash, key);
	if (c)
		fw_end(c, why, now_ns);
	spin_unlock_irqrestore(fw_lock(hash), flags);
	return c;
}

/*
 * A full socket left FIN-WAIT-2 by a state change no more specific hook
 * explained. If tcp_time_wait() was under way, it could not make a timewait
 * socket (tcp_max_tw_buckets or memory): "other". Otherwise our side closed
 * it with an RST (TCP_LINGER2 < 0, unread data, data after close): "abort".
 */
bool fw_track_close(const void *sk, u64 now_ns)
{
	u32 hash = fw_hash(sk);
	struct fw_conn *c;
	unsigned long flags;

	spin_lock_irqsave(fw_lock(hash), flags);
	c = fw_find(hash, sk);
	if (c)
		fw_end(c, c->flags & FW_CONN_HANDOFF ? FW_EXIT_OTHER :
			  FW_EXIT_ABORT, now_ns);
	spin_unlock_irqrestore(fw_lock(hash), flags);
	return c;
}

/*
 * Drop every record of a netns that is going away (pernet exit_batch,
 * process context). fwn->dying was set and a grace period has passed, so
 * no record of it is being added: a bucket that reads empty holds none of
 * them, whatever other netns do to it meanwhile.
 */
void fw_track_purge_net(struct fw_net *fwn)
{
	unsigned int i, n = 1U << fw_table_bits;
	struct hlist_node *tmp;
	struct fw_conn *c;

	for (i = 0; i < n; i++) {
		unsigned long flags;

		if (hlist_empty(&fw_table[i]))
			continue;
		spin_lock_irqsave(fw_lock(i), flags);
		hlist_for_each_entry_safe(c, tmp, &fw_table[i], node) {
			if (c->fwn != fwn)
				continue;
			hlist_del(&c->node);
			percpu_counter_dec(&fw_tracked);
			kmem_cache_free(fw_conn_cache, c);
		}
		spin_unlock_irqrestore(fw_lock(i), flags);
		cond_resched();
	}
}

unsigned long fw_track_count(void)
{
	return percpu_counter_sum_positive(&fw_tracked);
}

int fw_track_init(unsigned int max_tracked)
{
	unsigned int i;
	int err;

	fw_max_tracked = max_tracked;
	/* About two records per bucket when full. */
	fw_table_bits = max(ilog2(max_tracked | 1) - 1, FW_LOCK_BITS);
	fw_table = vzalloc(sizeof(*fw_table) << fw_table_bits);
	if (!fw_table)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(fw_locks); i++)
		spin_lock_init(&fw_locks[i]);

	fw_conn_cache = kmem_cache_create("finwait_stats_conn",
					  sizeof(struct fw_conn), 0, 0, NULL);
	if (!fw_conn_cache) {
		err = -ENOMEM;
		goto err_free_table;
	}
	err = percpu_counter_init(&fw_tracked, 0, GFP_KERNEL);
	if (err)
		goto err_destroy_cache;
	return 0;

err_destroy_cache:
	kmem_cache_destroy(fw_conn_cache);
err_free_table:
	vfree(fw_table);
	return err;
}

/* After the hooks are gone and every netns was purged: nothing is left. */
void fw_track_exit(void)
{
	WARN_ON(percpu_counter_sum(&fw_tracked));
	percpu_counter_destroy(&fw_tracked);
	kmem_cache_destroy(fw_conn_cache);
	vfree(fw_table);
}
