// SPDX-License-Identifier: GPL-2.0
/*
 * One record per connection in FIN-WAIT-2, keyed by the kernel object that
 * holds it: the full socket first, the timewait minisocket after the handoff
 * (fw_track_rekey).
 *
 * Every function here but init, exit, the purge and the readers runs in a
 * hook's handler: with preemption off, in any context, on any kernel,
 * PREEMPT_RT included (fw_track_may_hold() in its filter, before that). So
 * nothing here sleeps or allocates (on RT the slab allocator takes sleeping
 * locks): the records come from a pool of max_tracked records allocated at
 * load, kept on per-CPU free lists (a CPU whose list is empty takes from
 * another's, as BPF's preallocated hash maps do), and every lock is a
 * raw_spinlock_t held with interrupts off for a few list operations. A
 * hook's call here is one section with interrupts off (one save and
 * restore, unless it looks for a free record on other CPUs), in which it
 * takes the locks it needs in turn, never one inside another.
 *
 * The number of records a netns may hold is bounded too (fw_net.limit), so
 * that a netns with many connections in FIN-WAIT-2 cannot leave the others
 * without records. An entry that gets none is counted as untracked.
 *
 * Each record is also on an age list of its netns, one per CPU: the records
 * taken from that CPU's free list, oldest first, linked by pool index (4
 * bytes a link, not 8). A record joins its list when it is taken from the
 * pool and leaves it when it goes back, so the oldest connection of a netns
 * is at the head of one of its lists: read in O(CPUs) (fw_track_oldest()).
 * One lock per CPU covers its free list and its age lists of every netns:
 * taking a record and putting it on its age list is one locked section, and
 * so is giving it back on the CPU it was taken on. Given back on another
 * CPU, it goes to that CPU's free list (a second section), so that the pool
 * follows the CPUs that do the work.
 */
#include <linux/kernel.h>
#include <linux/hash.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/sched.h>

#include <net/inet_timewait_sock.h>
#include <net/tcp_states.h>

#include "finwait_stats.h"
#include "skc.h"

/* The KUnit module compiles this file too: the event is finwait_stats's only. */
#ifndef FW_KUNIT
#include "fw_trace.h"
#else
static inline void trace_lifetime(const void *skc, u64 us, int why, bool tw)
{
}
#endif

#define FW_CONN_TW	BIT(0)	/* held by a timewait minisocket */
#define FW_CONN_HANDOFF	BIT(1)	/* tcp_time_wait() under way, no tw yet */

#define FW_NIL		U32_MAX	/* no record: the end of an age list */

/* 56 bytes on 64-bit; with the table, 60 per record of the pool. */
struct fw_conn {
	struct hlist_node node;	/* in a bucket, or on a free list */
	const void *key;
	struct fw_net *fwn;
	u64 start_ns;
	u32 older, newer;	/* on its age list: pool indices, or FW_NIL */
	unsigned short flags;
	unsigned short epoch;	/* fw_hooks_epoch() at the entry, low bits */
	unsigned short cpu;	/* whose free list it came from, and age list */
};

/*
 * One CPU's age list of a netns: the records taken from that CPU's free
 * list, in order of entry. Under that CPU's fw_cpu lock.
 */
struct fw_age {
	u32 oldest, newest;	/* pool indices, or FW_NIL */
};

/* One CPU's free records; its lock covers its age lists too. */
struct fw_cpu {
	raw_spinlock_t lock;
	struct hlist_head free;
	unsigned int count;
};

#define FW_LOCK_BITS	10

static struct fw_conn *fw_pool;
static unsigned int fw_pool_size;
static unsigned int fw_netns_share;
static struct fw_cpu __percpu *fw_cpu;
struct hlist_head *fw_table;
unsigned int fw_table_bits;
static raw_spinlock_t fw_locks[1 << FW_LOCK_BITS];

static raw_spinlock_t *fw_lock(u32 hash)
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

static struct fw_conn *fw_at(u32 i)
{
	return &fw_pool[i];
}

/*
 * Put @c, which entered at @now_ns, on age list @a, after the newest record
 * that is not younger. The walk back is over records that entered between
 * our clock read and our lock: those of hooks that interrupted ours, or ran
 * on another CPU that took from this list, so a few at most. The list's
 * CPU lock is held.
 */
static void fw_age_add(struct fw_age *a, struct fw_conn *c, u64 now_ns)
{
	u32 self = c - fw_pool, prev;

	c->start_ns = now_ns;
	for (prev = a->newest; prev != FW_NIL && fw_at(prev)->start_ns > now_ns;)
		prev = fw_at(prev)->older;
	c->older = prev;
	c->newer = prev == FW_NIL ? a->oldest : fw_at(prev)->newer;
	if (prev == FW_NIL)
		a->oldest = self;
	else
		fw_at(prev)->newer = self;
	if (c->newer == FW_NIL)
		a->newest = self;
	else
		fw_at(c->newer)->older = self;
}

/* The list's CPU lock is held. */
static void fw_age_del(struct fw_age *a, struct fw_conn *c)
{
	if (c->older == FW_NIL)
		a->oldest = c->newer;
	else
		fw_at(c->older)->newer = c->newer;
	if (c->newer == FW_NIL)
		a->newest = c->older;
	else
		fw_at(c->newer)->older = c->older;
}

/*
 * A free record of @cpu's list, for @fwn, on @fwn's age list of that CPU as
 * entered at @now_ns; NULL if that list is empty. Interrupts are off.
 */
static __always_inline struct fw_conn *fw_take(struct fw_net *fwn,
					       int cpu, u64 now_ns)
{
	struct fw_cpu *f = per_cpu_ptr(fw_cpu, cpu);
	struct fw_conn *c = NULL;

	if (hlist_empty(&f->free))
		return NULL;
	raw_spin_lock(&f->lock);
	if (!hlist_empty(&f->free)) {
		c = hlist_entry(f->free.first, struct fw_conn, node);
		hlist_del(&c->node);
		f->count--;
		c->fwn = fwn;
		c->cpu = cpu;
		fw_age_add(per_cpu_ptr(fwn->age, cpu), c, now_ns);
	}
	raw_spin_unlock(&f->lock);
	return c;
}

/*
 * A record for @fwn within its limit and the pool's, or NULL; on an age
 * list as entered at @now_ns. This CPU's free list first, then the
 * others': which CPU is "this" is only a hint for locality (each list has
 * its own lock), so a caller that migrates meanwhile is still correct.
 * Interrupts are off (saved in @flags by the caller, which holds no lock):
 * between two other CPUs' lists they are let on again, so that a walk over
 * every CPU (an empty pool: a lockless read per list) is no long section.
 */
static struct fw_conn *fw_conn_get(struct fw_net *fwn, u64 now_ns,
				   unsigned long *flags)
{
	int self = raw_smp_processor_id(), cpu;
	struct fw_conn *c;

	lockdep_assert_irqs_disabled();
	if (atomic_inc_return(&fwn->tracked) <= (int)READ_ONCE(fwn->limit)) {
		c = fw_take(fwn, self, now_ns);
		if (c)
			return c;
		for_each_possible_cpu(cpu) {
			if (cpu == self)
				continue;
			local_irq_restore(*flags);
			local_irq_save(*flags);
			c = fw_take(fwn, cpu, now_ns);
			if (c)
				return c;
		}
	}
	atomic_dec(&fwn->tracked);
	return NULL;
}

static void fw_free_push(struct fw_cpu *f, struct fw_conn *c)
{
	hlist_add_head(&c->node, &f->free);
	f->count++;
}

/*
 * Off its age list (its CPU's lock) and onto this CPU's free list: the
 * same section when that is its CPU. "This CPU" is a hint, as in
 * fw_conn_get(). Interrupts are off.
 */
static void fw_conn_put(struct fw_conn *c)
{
	struct fw_cpu *home = per_cpu_ptr(fw_cpu, c->cpu);
	struct fw_cpu *f = raw_cpu_ptr(fw_cpu);
	struct fw_net *fwn = c->fwn;

	lockdep_assert_irqs_disabled();
	raw_spin_lock(&home->lock);
	fw_age_del(per_cpu_ptr(fwn->age, c->cpu), c);
	if (f == home)
		fw_free_push(f, c);
	raw_spin_unlock(&home->lock);
	if (f != home) {
		raw_spin_lock(&f->lock);
		fw_free_push(f, c);
		raw_spin_unlock(&f->lock);
	}
	atomic_dec(&fwn->tracked);
}

static u64 fw_lifetime_us(const struct fw_conn *c, u64 now_ns)
{
	return now_ns > c->start_ns ? div_u64(now_ns - c->start_ns, 1000) : 0;
}

/*
 * Unlink and count a completed lifetime; its bucket lock is held, so the
 * object (the key) is the one whose exit hook runs: the trace event may
 * read its addresses.
 */
static void fw_end(struct fw_conn *c, enum fw_exit why, u64 now_ns)
{
	u64 us = fw_lifetime_us(c, now_ns);

	hlist_del(&c->node);
	fw_stats_leave(c->fwn, c->flags & FW_CONN_TW, why, us);
	trace_lifetime(c->key, us, why, c->flags & FW_CONN_TW);
}

/*
 * Unlink a record whose exit was never seen (a missed event, or a hook the
 * kernel bypassed): counted as stale, its "lifetime" in no lifetime figure.
 * Its bucket lock is held.
 */
static void fw_end_stale(struct fw_conn *c)
{
	hlist_del(&c->node);
	fw_stats_stale(c->fwn, c->flags & FW_CONN_TW);
}

void fw_track_enter(struct fw_net *fwn, const void *key, u64 now_ns)
{
	u32 hash = fw_hash(key);
	struct fw_conn *c, *old;
	unsigned long flags;

	local_irq_save(flags);
	c = fw_conn_get(fwn, now_ns, &flags);
	if (c) {
		c->key = key;
		c->flags = 0;
		c->epoch = fw_hooks_epoch();
	}

	raw_spin_lock(fw_lock(hash));
	/*
	 * A record for the same object (of this netns or another): its exit
	 * was missed and the memory reused (sockets are SLAB_TYPESAFE_BY_RCU).
	 */
	old = fw_find(hash, key);
	if (old)
		fw_end_stale(old);
	if (READ_ONCE(fwn->dying)) {
		raw_spin_unlock(fw_lock(hash));
		if (c)
			fw_conn_put(c);
	} else {
		if (c)
			hlist_add_head(&c->node, &fw_table[hash]);
		fw_stats_enter(fwn, c);
		raw_spin_unlock(fw_lock(hash));
	}
	if (old)
		fw_conn_put(old);
	local_irq_restore(flags);
}

void fw_track_handoff(const void *sk)
{
	u32 hash = fw_hash(sk);
	struct fw_conn *c;
	unsigned long flags;

	if (hlist_empty(&fw_table[hash]))
		return;
	raw_spin_lock_irqsave(fw_lock(hash), flags);
	c = fw_find(hash, sk);
	if (c)
		c->flags |= FW_CONN_HANDOFF;
	raw_spin_unlock_irqrestore(fw_lock(hash), flags);
}

/*
 * The connection moves from the full socket to its timewait minisocket.
 * The tw is not hashed yet, so no event can look for it before we insert;
 * a record already under its address is one whose end was missed. One
 * section with interrupts off, the two bucket locks taken in turn.
 */
void fw_track_rekey(const void *sk, const void *tw)
{
	u32 hash = fw_hash(sk), twhash = fw_hash(tw);
	struct fw_conn *c, *old = NULL;
	unsigned long flags;

	if (hlist_empty(&fw_table[hash]))
		return;
	local_irq_save(flags);
	raw_spin_lock(fw_lock(hash));
	c = fw_find(hash, sk);
	if (c)
		hlist_del(&c->node);
	raw_spin_unlock(fw_lock(hash));
	if (!c)
		goto out;

	raw_spin_lock(fw_lock(twhash));
	if (READ_ONCE(c->fwn->dying)) {
		/* The netns was purged while the record was in flight. */
		raw_spin_unlock(fw_lock(twhash));
		old = c;
		goto out;
	}
	old = fw_find(twhash, tw);
	if (old)
		fw_end_stale(old);
	c->key = tw;
	c->flags = FW_CONN_TW;
	hlist_add_head(&c->node, &fw_table[twhash]);
	fw_stats_to_tw(c->fwn);
	raw_spin_unlock(fw_lock(twhash));
out:
	if (old)
		fw_conn_put(old);
	local_irq_restore(flags);
}

/* How fw_track_end() ends the record of a key. */
enum fw_end_how {
	FW_END_EXIT,	/* a completed lifetime, for the reason given */
	FW_END_CLOSE,	/* the full socket closed: reason from the record */
	FW_END_STALE,	/* its object is freed: stale */
};

static bool fw_track_end(const void *key, enum fw_end_how how,
			 enum fw_exit why, u64 now_ns)
{
	u32 hash = fw_hash(key);
	struct fw_conn *c;
	unsigned long flags;

	if (hlist_empty(&fw_table[hash]))
		return false;
	local_irq_save(flags);
	raw_spin_lock(fw_lock(hash));
	c = fw_find(hash, key);
	if (c && how == FW_END_STALE)
		fw_end_stale(c);
	else if (c && how == FW_END_CLOSE)
		fw_end(c, c->flags & FW_CONN_HANDOFF ? FW_EXIT_OTHER :
			  FW_EXIT_ABORT, now_ns);
	else if (c)
		fw_end(c, why, now_ns);
	raw_spin_unlock(fw_lock(hash));
	if (c)
		fw_conn_put(c);
	local_irq_restore(flags);
	return c;
}

bool fw_track_leave(const void *key, enum fw_exit why, u64 now_ns)
{
	return fw_track_end(key, FW_END_EXIT, why, now_ns);
}

/*
 * A full socket left FIN-WAIT-2 by a state change no more specific hook
 * explained. If tcp_time_wait() was under way, it could not make a timewait
 * socket (tcp_max_tw_buckets or memory): "other". Otherwise our side closed
 * it with an RST (TCP_LINGER2 < 0, unread data, data after close): "abort".
 */
bool fw_track_close(const void *sk, u64 now_ns)
{
	return fw_track_end(sk, FW_END_CLOSE, FW_EXIT_ABORT, now_ns);
}

/* The object @key is being freed: a record it still has is stale. */
bool fw_track_stale(const void *key)
{
	return fw_track_end(key, FW_END_STALE, FW_EXIT_OTHER, 0);
}

/*
 * Drop the records of every netns of the batch going away (pernet
 * exit_batch, process context): one pass over the table, however many netns
 * the batch holds. Their fw_net.dying was set and a grace period has passed,
 * so none of their records is being added; records of live netns are left
 * alone, and no record of a netns freed earlier exists.
 */
void fw_track_purge_dying(void)
{
	unsigned int i, n = 1U << fw_table_bits;
	struct hlist_node *tmp;
	struct fw_conn *c;
	HLIST_HEAD(dead);

	for (i = 0; i < n; i++) {
		unsigned long flags;

		if (hlist_empty(&fw_table[i]))
			continue;
		raw_spin_lock_irqsave(fw_lock(i), flags);
		hlist_for_each_entry_safe(c, tmp, &fw_table[i], node) {
			if (!READ_ONCE(c->fwn->dying))
				continue;
			hlist_del(&c->node);
			hlist_add_head(&c->node, &dead);
		}
		raw_spin_unlock(fw_lock(i));
		hlist_for_each_entry_safe(c, tmp, &dead, node) {
			hlist_del(&c->node);
			fw_conn_put(c);
		}
		local_irq_restore(flags);
		cond_resched();
	}
}

unsigned int fw_track_buckets(void)
{
	return 1U << fw_table_bits;
}

/*
 * Whether the object a record names may be read, and still is that
 * connection. Every path that frees a full or a timewait socket runs a hook
 * that removes its record under the bucket lock we hold (tcp:tcp_destroy_sock,
 * tcp_twsk_destructor), unless that hook call was lost: then the epoch has
 * moved on since the entry, and the object is not read. (16 bits of epoch:
 * 65536 lost calls in one lifetime would wrap; each is counted in
 * probe_missed.) The netns and state checks are for what is left: a record
 * of this netns whose connection changed state by a path no hook follows.
 */
static bool fw_conn_live(const struct fw_conn *c, const struct net *net)
{
	const struct sock_common *skc = c->key;

	if (c->epoch != (unsigned short)fw_hooks_epoch())
		return false;
	if (read_pnet(&skc->skc_net) != net)
		return false;
	if (c->flags & FW_CONN_TW)
		return READ_ONCE(skc->skc_state) == TCP_TIME_WAIT &&
		       READ_ONCE(((const struct inet_timewait_sock *)c->key)->tw_substate) ==
		       TCP_FIN_WAIT2;
	return READ_ONCE(skc->skc_state) == TCP_FIN_WAIT2;
}

/*
 * For /proc/net/finwait_conns: copy the records of @net's @fwn in bucket
 * @bucket, from its @skip-th on, at most @max, with the ends of the
 * connections their objects hold (see fw_conn_live()). One bucket at a
 * time, under its lock, so the hooks wait for a few records at most.
 * Returns how many were copied. Process context.
 */
unsigned int fw_track_copy(struct fw_net *fwn, const struct net *net,
			   unsigned int bucket, unsigned int skip,
			   struct fw_conn_info *out, unsigned int max)
{
	unsigned int n = 0;
	unsigned long flags;
	struct fw_conn *c;

	if (bucket >= fw_track_buckets() || hlist_empty(&fw_table[bucket]))
		return 0;
	raw_spin_lock_irqsave(fw_lock(bucket), flags);
	hlist_for_each_entry(c, &fw_table[bucket], node) {
		if (c->fwn != fwn || !fw_conn_live(c, net))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		if (n == max)
			break;
		fw_skc_addrs(c->key, (u8 *)&out[n].local, (u8 *)&out[n].remote);
		out[n].start_ns = c->start_ns;
		out[n].tw = c->flags & FW_CONN_TW;
		n++;
	}
	raw_spin_unlock_irqrestore(fw_lock(bucket), flags);
	return n;
}

/*
 * When the oldest connection of @fwn that has a record entered FIN-WAIT-2
 * (its ktime_get_ns()), U64_MAX when it has none: the heads of its age
 * lists, O(CPUs). A record whose end was lost (probe_missed) stays until its
 * object is freed, and counts meanwhile. Any context.
 */
u64 fw_track_oldest(struct fw_net *fwn)
{
	u64 oldest = U64_MAX;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct fw_age *a = per_cpu_ptr(fwn->age, cpu);
		struct fw_cpu *f = per_cpu_ptr(fw_cpu, cpu);
		unsigned long flags;

		if (READ_ONCE(a->oldest) == FW_NIL)
			continue;
		raw_spin_lock_irqsave(&f->lock, flags);
		if (a->oldest != FW_NIL)
			oldest = min(oldest, fw_at(a->oldest)->start_ns);
		raw_spin_unlock_irqrestore(&f->lock, flags);
	}
	return oldest;
}

/* The age lists of a new netns. Process context. */
int fw_track_net_init(struct fw_net *fwn)
{
	int cpu;

	fwn->age = alloc_percpu(struct fw_age);
	if (!fwn->age)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct fw_age *a = per_cpu_ptr(fwn->age, cpu);

		a->oldest = FW_NIL;
		a->newest = FW_NIL;
	}
	return 0;
}

/* After its records went back to the pool (fw_track_purge_dying()). */
void fw_track_net_free(struct fw_net *fwn)
{
	free_percpu(fwn->age);
	fwn->age = NULL;
}

/* Records in use, all netns together. */
unsigned long fw_track_count(void)
{
	unsigned long n = fw_pool_size;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct fw_cpu *f = per_cpu_ptr(fw_cpu, cpu);
		unsigned long flags;

		raw_spin_lock_irqsave(&f->lock, flags);
		n -= f->count;
		raw_spin_unlock_irqrestore(&f->lock, flags);
	}
	return n;
}

unsigned int fw_track_max(void)
{
	return fw_pool_size;
}

/* The host's own netns may use the whole pool; any other one its share. */
unsigned int fw_track_default_limit(bool init_net)
{
	return init_net ? fw_pool_size : fw_netns_share;
}

/*
 * Allocate the pool (@max_tracked records) and the table, and deal the
 * records out to the CPUs' free lists. Process context.
 */
int fw_track_init(unsigned int max_tracked, unsigned int netns_share)
{
	unsigned int i, ncpus = num_possible_cpus(), k = 0, next = 0;
	int cpu, err = -ENOMEM;

	/* Pool indices and CPU numbers fit their fields. */
	if (nr_cpu_ids > USHRT_MAX + 1) {
		pr_err("%u CPUs: more than an age list can name\n", nr_cpu_ids);
		return -EOPNOTSUPP;
	}
	if (max_tracked >= FW_NIL)
		return -EINVAL;
	fw_pool_size = max_tracked;
	fw_netns_share = min(netns_share, max_tracked);
	/* About two records per bucket when full. */
	fw_table_bits = max(ilog2(max_tracked | 1) - 1, FW_LOCK_BITS);
	fw_table = vzalloc(sizeof(*fw_table) << fw_table_bits);
	if (!fw_table)
		return -ENOMEM;
	fw_pool = vzalloc(array_size(max_tracked, sizeof(*fw_pool)));
	if (!fw_pool)
		goto err_free_table;
	fw_cpu = alloc_percpu(struct fw_cpu);
	if (!fw_cpu)
		goto err_free_pool;
	for (i = 0; i < ARRAY_SIZE(fw_locks); i++)
		raw_spin_lock_init(&fw_locks[i]);

	for_each_possible_cpu(cpu) {
		struct fw_cpu *f = per_cpu_ptr(fw_cpu, cpu);
		/* An even share, the first CPUs one more. */
		unsigned int n = max_tracked / ncpus + (k < max_tracked % ncpus);

		raw_spin_lock_init(&f->lock);
		INIT_HLIST_HEAD(&f->free);
		f->count = 0;
		while (n--)
			fw_free_push(f, &fw_pool[next++]);
		k++;
	}
	return 0;

err_free_pool:
	vfree(fw_pool);
err_free_table:
	vfree(fw_table);
	return err;
}

/* After the hooks are gone and every netns was purged: nothing is left. */
void fw_track_exit(void)
{
	WARN_ON(fw_track_count());
	free_percpu(fw_cpu);
	vfree(fw_pool);
	vfree(fw_table);
}
