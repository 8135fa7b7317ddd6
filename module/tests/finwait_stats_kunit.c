// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of finwait_stats's logic, without a network: histogram edges,
 * exit classification, the invariant through enter/handoff/leave/reset,
 * stale records, per-CPU aggregation, the record pool and its per-CPU free
 * lists, the per-netns limit, the age lists, the proc text and commands.
 *
 * The units under test are compiled into this module (their own copy of the
 * record table), so the tests never touch a loaded finwait_stats.
 */
#include <kunit/test.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#define FW_KUNIT
#include "../finwait_stats.h"
#include "../classify.h"
#include "../compat.h"
#include "../stats.c"
#include "../track.c"
#include "../format.c"

/* hooks.c is not in this module: its lost-call epoch is the test's. */
static unsigned int fw_test_epoch;

unsigned int fw_hooks_epoch(void)
{
	return fw_test_epoch;
}

struct fw_hist_case {
	u64 us;
	unsigned int bucket;
};

static const struct fw_hist_case fw_hist_cases[] = {
	{ 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 2 }, { 7, 2 }, { 8, 3 },
	{ 1023, 9 }, { 1024, 10 }, { 1000000, 19 },
	{ (1ULL << 31) - 1, 30 }, { 1ULL << 31, 31 }, { U64_MAX, 31 },
};

static void fw_hist_case_desc(const struct fw_hist_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%llu us", c->us);
}

KUNIT_ARRAY_PARAM(fw_hist, fw_hist_cases, fw_hist_case_desc);

static void fw_test_hist_bucket(struct kunit *test)
{
	const struct fw_hist_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, fw_hist_bucket(c->us), c->bucket);
}

static void fw_test_classify(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, fw_classify_reset(true), FW_EXIT_RESET);
	KUNIT_EXPECT_EQ(test, fw_classify_reset(false), FW_EXIT_ABORT);
	/*
	 * Orphaned, from its timer: the FIN-WAIT-2 timeout. Owned (tcp_abort
	 * holds the socket), orphaned or not: ss -K. Held by a process, from
	 * the timer: keepalive gave up.
	 */
	KUNIT_EXPECT_EQ(test, fw_classify_active_reset(true, false), FW_EXIT_TIMEOUT);
	KUNIT_EXPECT_EQ(test, fw_classify_active_reset(true, true), FW_EXIT_ABORT);
	KUNIT_EXPECT_EQ(test, fw_classify_active_reset(false, true), FW_EXIT_ABORT);
	KUNIT_EXPECT_EQ(test, fw_classify_active_reset(false, false), FW_EXIT_ABORT);
	/* Our RST, unless in TCP_REPAIR. */
	KUNIT_EXPECT_EQ(test, fw_classify_disconnect(false), FW_EXIT_ABORT);
	KUNIT_EXPECT_EQ(test, fw_classify_disconnect(true), FW_EXIT_OTHER);
	KUNIT_EXPECT_EQ(test, fw_classify_tw_kill(true, true), FW_EXIT_RESET);
	KUNIT_EXPECT_EQ(test, fw_classify_tw_kill(true, false), FW_EXIT_ABORT);
	KUNIT_EXPECT_EQ(test, fw_classify_tw_kill(false, true), FW_EXIT_OTHER);
	KUNIT_EXPECT_EQ(test, fw_classify_tw_kill(false, false), FW_EXIT_OTHER);
	KUNIT_EXPECT_STREQ(test, fw_exit_name(FW_EXIT_PEER_FIN), "peer_fin");
	KUNIT_EXPECT_STREQ(test, fw_exit_name(FW_EXIT_OTHER), "other");
}

/*
 * A kill belongs to the segment only for the same tw, in the same task, at
 * the same interrupt level (a softirq's segment is not the kill of the
 * task it interrupted).
 */
static void fw_test_tw_segment(struct kunit *test)
{
	int tw, other_tw, task, other_task;
	struct fw_tw_segment seg = {
		.tw = &tw, .task = &task, .level = 1, .rst = true,
	};

	KUNIT_EXPECT_TRUE(test, fw_tw_segment_owns(&seg, &tw, &task, 1));
	KUNIT_EXPECT_FALSE(test, fw_tw_segment_owns(&seg, &other_tw, &task, 1));
	KUNIT_EXPECT_FALSE(test, fw_tw_segment_owns(&seg, &tw, &other_task, 1));
	KUNIT_EXPECT_FALSE(test, fw_tw_segment_owns(&seg, &tw, &task, 0));
	seg.level = 0;
	KUNIT_EXPECT_TRUE(test, fw_tw_segment_owns(&seg, &tw, &task, 0));
	seg.tw = NULL;
	KUNIT_EXPECT_FALSE(test, fw_tw_segment_owns(&seg, &tw, &task, 0));
	KUNIT_EXPECT_FALSE(test, fw_tw_segment_owns(&seg, NULL, &task, 0));
	/* Here, a task: level 0. */
	KUNIT_EXPECT_EQ(test, fw_irq_level(), 0);
}

static void fw_test_parse_write(struct kunit *test)
{
	struct fw_cmd cmd = { };

	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("reset", 5, &cmd), 0);
	KUNIT_EXPECT_EQ(test, cmd.op, FW_CMD_RESET);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("reset\n", 6, &cmd), 0);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("reset\n\n", 7, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("reset ", 6, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("rese", 4, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("RESET", 5, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("\n", 1, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("", 0, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("resetx", 6, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 100\n", 10, &cmd), 0);
	KUNIT_EXPECT_EQ(test, cmd.op, FW_CMD_LIMIT);
	KUNIT_EXPECT_EQ(test, cmd.limit, 100);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 0", 7, &cmd), 0);
	KUNIT_EXPECT_EQ(test, cmd.limit, 0);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 4294967295", 16, &cmd), 0);
	KUNIT_EXPECT_EQ(test, cmd.limit, 4294967295U);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 4294967296", 16, &cmd), -ERANGE);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 99999999999999999", 23, &cmd), -ERANGE);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit ", 6, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit", 5, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit -1", 8, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit +1", 8, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 0x10", 10, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit 1 ", 8, &cmd), -EINVAL);
	KUNIT_EXPECT_EQ(test, fw_proc_parse_write("limit  1", 8, &cmd), -EINVAL);
}

/*
 * What every snapshot must show. @fwn, when given, is a netns whose records
 * were all made through track.c: its own count of records held is then an
 * independent measure of "current".
 */
static void fw_expect_invariant(struct kunit *test, struct fw_net *fwn,
				const struct fw_snapshot *s)
{
	u64 left = 0;
	unsigned int i;

	for (i = 0; i < FW_EXIT_MAX; i++)
		left += s->left[i];
	KUNIT_EXPECT_EQ(test, left, s->completed);
	KUNIT_EXPECT_EQ(test, s->entered, s->cur + left + s->stale + s->untracked);
	KUNIT_EXPECT_GE(test, s->cur, 0);
	KUNIT_EXPECT_GE(test, s->cur_tw, 0);
	KUNIT_EXPECT_LE(test, s->cur_tw, s->cur);
	if (fwn)
		KUNIT_EXPECT_EQ(test, s->cur, atomic_read(&fwn->tracked));
}

/* A netns of our own that may use @limit records. */
static struct fw_net *fw_test_net(struct kunit *test, unsigned int limit)
{
	struct fw_net *fwn = kunit_kzalloc(test, sizeof(*fwn), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fwn);
	KUNIT_ASSERT_EQ(test, fw_stats_init(fwn), 0);
	KUNIT_ASSERT_EQ(test, fw_track_net_init(fwn), 0);
	atomic_set(&fwn->tracked, 0);
	fwn->limit = limit;
	return fwn;
}

/* That netns, and a pool of @max records. */
static struct fw_net *fw_test_setup(struct kunit *test, unsigned int max)
{
	KUNIT_ASSERT_EQ(test, fw_track_init(max, max), 0);
	return fw_test_net(test, max);
}

/* A netns with no records (never had any, or purged). */
static void fw_test_net_release(struct fw_net *fwn)
{
	fw_track_net_free(fwn);
	fw_stats_free(fwn);
}

static void fw_test_net_free(struct fw_net *fwn)
{
	WRITE_ONCE(fwn->dying, true);
	fw_track_purge_dying();
	fw_test_net_release(fwn);
}

static void fw_test_teardown(struct fw_net *fwn)
{
	fw_test_net_free(fwn);
	fw_track_exit();
}

/*
 * A full socket in FIN-WAIT-2 of init_net for the copy test, or (@tw) a
 * timewait socket in substate FIN-WAIT-2: IPv4 @saddr:@sport -> @daddr:@dport.
 */
static struct sock_common *fw_test_skc(struct kunit *test, bool tw, __be32 saddr,
				       u16 sport, __be32 daddr, u16 dport)
{
	struct inet_timewait_sock *obj = kunit_kzalloc(test, sizeof(*obj), GFP_KERNEL);
	struct sock_common *skc;

	KUNIT_ASSERT_NOT_NULL(test, obj);
	skc = &obj->__tw_common;
	write_pnet(&skc->skc_net, &init_net);
	skc->skc_state = tw ? TCP_TIME_WAIT : TCP_FIN_WAIT2;
	obj->tw_substate = TCP_FIN_WAIT2;
	skc->skc_family = AF_INET;
	skc->skc_rcv_saddr = saddr;
	skc->skc_num = sport;
	skc->skc_daddr = daddr;
	skc->skc_dport = htons(dport);
	return skc;
}

/* Every record of @fwn, one at a time (skip/max 1), over all buckets. */
static unsigned int fw_test_copy_all(struct fw_net *fwn, struct fw_conn_info *out,
				     unsigned int max)
{
	unsigned int b, skip, n = 0;

	for (b = 0; b < fw_track_buckets(); b++)
		for (skip = 0; n < max && fw_track_copy(fwn, &init_net, b, skip, &out[n], 1);
		     skip++)
			n++;
	return n;
}

/*
 * /proc/net/finwait_conns's copy: only the netns asked for, every record
 * once however it is chunked, ends and ports as the socket has them, the
 * holder after a handoff, the entry time; a record whose object is no
 * longer that connection (its exit missed, the memory reused), or which
 * lived through a lost hook call, left out.
 */
static void fw_test_copy(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 16), *other = fw_test_net(test, 16);
	struct sock_common *a = fw_test_skc(test, false, htonl(0x7f000001), 40000,
					    htonl(0x7f000002), 8080);
	struct sock_common *b = fw_test_skc(test, false, htonl(0x0a000001), 40001,
					    htonl(0x0a000002), 8081);
	struct sock_common *tw = fw_test_skc(test, true, htonl(0x0a000001), 40001,
					     htonl(0x0a000002), 8081);
	struct sock_common *c = fw_test_skc(test, false, htonl(0x7f000001), 40002,
					    htonl(0x7f000001), 8082);
	struct fw_conn_info info[4];
	unsigned int i, n;

	fw_track_enter(fwn, a, 1000);
	fw_track_enter(fwn, b, 2000);
	fw_track_enter(other, c, 3000);
	fw_track_handoff(b);
	fw_track_rekey(b, tw);

	n = fw_test_copy_all(fwn, info, ARRAY_SIZE(info));
	KUNIT_ASSERT_EQ(test, n, 2);
	for (i = 0; i < n; i++) {
		const struct sockaddr_in *l = (void *)&info[i].local;
		const struct sockaddr_in *r = (void *)&info[i].remote;
		bool is_a = ntohs(l->sin_port) == 40000;

		KUNIT_EXPECT_EQ(test, l->sin_family, AF_INET);
		KUNIT_EXPECT_EQ(test, ntohs(l->sin_port), is_a ? 40000 : 40001);
		KUNIT_EXPECT_EQ(test, ntohs(r->sin_port), is_a ? 8080 : 8081);
		KUNIT_EXPECT_EQ(test, l->sin_addr.s_addr, htonl(is_a ? 0x7f000001 : 0x0a000001));
		KUNIT_EXPECT_EQ(test, r->sin_addr.s_addr, htonl(is_a ? 0x7f000002 : 0x0a000002));
		KUNIT_EXPECT_EQ(test, info[i].tw, !is_a);
		KUNIT_EXPECT_EQ(test, info[i].start_ns, is_a ? 1000ULL : 2000ULL);
	}
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(other, info, ARRAY_SIZE(info)), 1);
	KUNIT_EXPECT_EQ(test, fw_track_copy(fwn, &init_net, fw_track_buckets(), 0, info, 4), 0);

	/* Its exit missed and its memory reused: another state, or another netns. */
	a->skc_state = TCP_CLOSE;
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(fwn, info, ARRAY_SIZE(info)), 1);
	a->skc_state = TCP_FIN_WAIT2;
	write_pnet(&a->skc_net, NULL);
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(fwn, info, ARRAY_SIZE(info)), 1);
	write_pnet(&a->skc_net, &init_net);

	/* A hook call lost since they entered: none of them is read. */
	fw_test_epoch++;
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(fwn, info, ARRAY_SIZE(info)), 0);
	fw_test_epoch--;
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(fwn, info, ARRAY_SIZE(info)), 2);

	/* Gone from the table, gone from the copy. */
	KUNIT_EXPECT_TRUE(test, fw_track_leave(tw, FW_EXIT_TIMEOUT, 5000));
	KUNIT_EXPECT_TRUE(test, fw_track_leave(a, FW_EXIT_TIMEOUT, 5000));
	KUNIT_EXPECT_EQ(test, fw_test_copy_all(fwn, info, ARRAY_SIZE(info)), 0);

	WRITE_ONCE(other->dying, true);
	fw_test_teardown(fwn);
	fw_test_net_release(other);
}

/* A hook's call on a chosen CPU, for the age lists' per-CPU side. */
struct fw_test_call {
	struct fw_net *fwn;
	const void *key;
	u64 ns;
};

static long fw_test_enter_fn(void *arg)
{
	struct fw_test_call *t = arg;

	preempt_disable();
	fw_track_enter(t->fwn, t->key, t->ns);
	preempt_enable();
	return 0;
}

static long fw_test_leave_fn(void *arg)
{
	struct fw_test_call *t = arg;
	bool ok;

	preempt_disable();
	ok = fw_track_leave(t->key, FW_EXIT_PEER_FIN, t->ns);
	preempt_enable();
	return ok;
}

/*
 * oldest_age_ms's source: the entry time of the oldest record of a netns,
 * whatever the order of entries (at the head, in the middle) and of exits
 * (the head, the middle, the tail), through a handoff (the record keeps its
 * place), a stale end, a purge; another netns's records apart; records
 * entered on two CPUs, one ended from the other.
 */
static void fw_test_oldest(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 16), *other = fw_test_net(test, 16);
	struct fw_test_call call = { .fwn = fwn };
	int objs[8], a, b;

	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), U64_MAX);
	/* On one CPU's list, as in a hook. */
	preempt_disable();
	fw_track_enter(fwn, &objs[0], 2000);
	fw_track_enter(fwn, &objs[1], 3000);
	/* Interrupting hooks' entries read the clock before ours: in order. */
	fw_track_enter(fwn, &objs[2], 1000);
	fw_track_enter(fwn, &objs[6], 2500);
	fw_track_enter(fwn, &objs[3], 4000);
	preempt_enable();
	fw_track_enter(other, &objs[5], 500);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 1000);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(other), 500);

	/* Exits from the middle keep the head; then the head, in age order. */
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[0], FW_EXIT_PEER_FIN, 5000));
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 1000);
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[2], FW_EXIT_TIMEOUT, 5000));
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 2500);
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[6], FW_EXIT_TIMEOUT, 5000));
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 3000);

	/* A handoff keeps the entry time and the place. */
	fw_track_handoff(&objs[1]);
	fw_track_rekey(&objs[1], &objs[4]);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 3000);
	/* Its object freed with the record still there: stale, gone too. */
	KUNIT_EXPECT_TRUE(test, fw_track_stale(&objs[4]));
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 4000);
	/* The last one: none left. */
	KUNIT_EXPECT_TRUE(test, fw_track_close(&objs[3], 5000));
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), U64_MAX);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(other), 500);

	/* Two CPUs: each list's head counts; an exit on the other CPU. */
	a = cpumask_first(cpu_online_mask);
	b = cpumask_next(a, cpu_online_mask);
	if (b < nr_cpu_ids) {
		call.key = &objs[7];
		call.ns = 7000;
		work_on_cpu(b, fw_test_enter_fn, &call);
		call.key = &objs[0];
		call.ns = 8000;
		work_on_cpu(a, fw_test_enter_fn, &call);
		KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 7000);
		call.key = &objs[7];
		call.ns = 9000;
		KUNIT_EXPECT_EQ(test, work_on_cpu(a, fw_test_leave_fn, &call), 1);
		KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 8000);
		call.key = &objs[0];
		KUNIT_EXPECT_EQ(test, work_on_cpu(b, fw_test_leave_fn, &call), 1);
		KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), U64_MAX);
	} else {
		kunit_info(test, "one CPU online: the two-CPU part not run");
	}

	/* Refilled after emptying; the other netns purged on its own. */
	fw_track_enter(fwn, &objs[0], 6000);
	WRITE_ONCE(other->dying, true);
	fw_track_purge_dying();
	KUNIT_EXPECT_EQ(test, fw_track_oldest(other), U64_MAX);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 6000);
	/* An entry into a dying netns leaves no record on a list. */
	WRITE_ONCE(other->dying, true);
	fw_track_enter(other, &objs[5], 9000);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(other), U64_MAX);
	fw_test_net_release(other);
	fw_test_teardown(fwn);
}

static void fw_test_lifecycle(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 16);
	int objs[6];
	struct fw_snapshot s;

	/* t = 1 ms .. : times are ours, in ns. */
	fw_track_enter(fwn, &objs[0], 1000000);
	fw_track_enter(fwn, &objs[1], 1000000);
	fw_track_enter(fwn, &objs[2], 1000000);
	fw_track_handoff(&objs[1]);
	fw_track_rekey(&objs[1], &objs[4]);	/* full sk -> tw */
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 3);
	KUNIT_EXPECT_EQ(test, s.cur, 3);
	KUNIT_EXPECT_EQ(test, s.cur_tw, 1);
	fw_expect_invariant(test, fwn, &s);

	/* The old key is gone with the handoff; the tw key ends it. */
	KUNIT_EXPECT_FALSE(test, fw_track_leave(&objs[1], FW_EXIT_TIMEOUT, 2000000));
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[4], FW_EXIT_TIMEOUT, 3001000));
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[0], FW_EXIT_PEER_FIN, 1000500));
	/* Handoff under way but no tw: other; no handoff: abort. */
	fw_track_enter(fwn, &objs[3], 1000000);
	fw_track_handoff(&objs[3]);
	KUNIT_EXPECT_TRUE(test, fw_track_close(&objs[3], 1000000));
	KUNIT_EXPECT_FALSE(test, fw_track_close(&objs[3], 1000000));

	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 4);
	KUNIT_EXPECT_EQ(test, s.cur, 1);
	KUNIT_EXPECT_EQ(test, s.cur_tw, 0);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_TIMEOUT], 1);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_PEER_FIN], 1);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_OTHER], 1);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_ABORT], 0);
	KUNIT_EXPECT_EQ(test, s.min_us, 0);
	KUNIT_EXPECT_EQ(test, s.max_us, 2001);
	KUNIT_EXPECT_EQ(test, s.sum_us, 2001);
	KUNIT_EXPECT_EQ(test, s.hist[0], 2);
	KUNIT_EXPECT_EQ(test, s.hist[10], 1);
	fw_expect_invariant(test, fwn, &s);

	/* Reset: counters zero, the open connection stays, entered = current. */
	fw_stats_reset(fwn);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 1);
	KUNIT_EXPECT_EQ(test, s.cur, 1);
	KUNIT_EXPECT_EQ(test, s.completed, 0);
	KUNIT_EXPECT_EQ(test, s.min_us, 0);
	KUNIT_EXPECT_EQ(test, s.max_us, 0);
	KUNIT_EXPECT_EQ(test, s.sum_us, 0);
	fw_expect_invariant(test, fwn, &s);

	/* It ends after the reset and is counted then. */
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&objs[2], FW_EXIT_RESET, 5000000));
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.cur, 0);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_RESET], 1);
	KUNIT_EXPECT_EQ(test, s.min_us, 4000);
	fw_expect_invariant(test, fwn, &s);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 0);

	fw_test_teardown(fwn);
}

/*
 * A record left behind by a lost exit event is stale when its key returns
 * (enter or rekey: the memory was reused) or its object is freed; a stale
 * record is in no lifetime figure.
 */
static void fw_test_stale(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 16);
	struct fw_snapshot s;
	int obj, sk, tw;

	fw_track_enter(fwn, &obj, 0);
	fw_track_enter(fwn, &obj, 5000000);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 2);
	KUNIT_EXPECT_EQ(test, s.cur, 1);
	KUNIT_EXPECT_EQ(test, s.stale, 1);
	KUNIT_EXPECT_EQ(test, s.completed, 0);
	KUNIT_EXPECT_EQ(test, s.max_us, 0);
	fw_expect_invariant(test, fwn, &s);

	/* A tw address still holding a record when a new handoff lands there. */
	fw_track_enter(fwn, &tw, 0);
	fw_track_enter(fwn, &sk, 0);
	fw_track_rekey(&sk, &tw);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.stale, 2);
	KUNIT_EXPECT_EQ(test, s.cur, 2);
	KUNIT_EXPECT_EQ(test, s.cur_tw, 1);
	fw_expect_invariant(test, fwn, &s);

	/* The tw is freed with its record still there (moved on unseen). */
	KUNIT_EXPECT_TRUE(test, fw_track_stale(&tw));
	KUNIT_EXPECT_FALSE(test, fw_track_stale(&tw));
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.stale, 3);
	KUNIT_EXPECT_EQ(test, s.cur, 1);
	KUNIT_EXPECT_EQ(test, s.cur_tw, 0);
	KUNIT_EXPECT_EQ(test, s.completed, 0);
	KUNIT_EXPECT_EQ(test, s.hist[0], 0);
	fw_expect_invariant(test, fwn, &s);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 1);

	/* A reset keeps the open one, forgets the stale ones. */
	fw_stats_reset(fwn);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 1);
	KUNIT_EXPECT_EQ(test, s.stale, 0);
	fw_expect_invariant(test, fwn, &s);
	fw_test_teardown(fwn);
}

static void fw_test_bound(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 4);
	struct fw_snapshot s;
	int objs[10], i;

	for (i = 0; i < 10; i++)
		fw_track_enter(fwn, &objs[i], 0);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 10);
	KUNIT_EXPECT_EQ(test, s.cur, 4);
	KUNIT_EXPECT_EQ(test, s.untracked, 6);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 4);
	fw_expect_invariant(test, fwn, &s);
	/* Untracked ones leave unseen; room again for one. */
	for (i = 0; i < 10; i++)
		fw_track_leave(&objs[i], FW_EXIT_PEER_FIN, 0);
	fw_track_enter(fwn, &objs[0], 0);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 1);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.left[FW_EXIT_PEER_FIN], 4);
	fw_expect_invariant(test, fwn, &s);
	/* A dying netns gets nothing new. */
	WRITE_ONCE(fwn->dying, true);
	fw_track_enter(fwn, &objs[1], 0);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 1);
	fw_test_teardown(fwn);
	KUNIT_EXPECT_LE(test, sizeof(struct fw_conn), 64);
}

/* One netns at its limit leaves the pool to the others; limits move. */
static void fw_test_netns_limit(struct kunit *test)
{
	struct fw_net *a = fw_test_setup(test, 8);
	struct fw_net *b = fw_test_net(test, 8);
	struct fw_snapshot s;
	int objs[20], i;

	WRITE_ONCE(a->limit, 3);
	for (i = 0; i < 10; i++)
		fw_track_enter(a, &objs[i], 0);
	fw_stats_snapshot(a, &s);
	KUNIT_EXPECT_EQ(test, s.cur, 3);
	KUNIT_EXPECT_EQ(test, s.untracked, 7);
	for (i = 10; i < 15; i++)
		fw_track_enter(b, &objs[i], 0);
	fw_stats_snapshot(b, &s);
	KUNIT_EXPECT_EQ(test, s.cur, 5);
	KUNIT_EXPECT_EQ(test, s.untracked, 0);
	/* The pool (8) is now empty: b's next one is untracked too. */
	fw_track_enter(b, &objs[15], 0);
	fw_stats_snapshot(b, &s);
	KUNIT_EXPECT_EQ(test, s.untracked, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->tracked), 5);
	/* A lower limit keeps what is tracked and takes no more. */
	WRITE_ONCE(a->limit, 0);
	fw_track_leave(&objs[10], FW_EXIT_PEER_FIN, 0);
	fw_track_enter(a, &objs[16], 0);
	fw_stats_snapshot(a, &s);
	KUNIT_EXPECT_EQ(test, s.cur, 3);
	KUNIT_EXPECT_EQ(test, s.untracked, 8);
	fw_expect_invariant(test, a, &s);
	/* Both purged at once, one pass: every record back in the pool. */
	WRITE_ONCE(b->dying, true);
	fw_test_net_free(a);
	fw_test_net_release(b);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 0);
	fw_track_exit();
}

/* fw_conn_get() and fw_conn_put() run with interrupts off, as in the hooks. */
static struct fw_conn *fw_test_get(struct fw_net *fwn, u64 now_ns)
{
	struct fw_conn *c;
	unsigned long flags;

	local_irq_save(flags);
	c = fw_conn_get(fwn, now_ns, &flags);
	local_irq_restore(flags);
	return c;
}

static void fw_test_put(struct fw_conn *c)
{
	unsigned long flags;

	local_irq_save(flags);
	fw_conn_put(c);
	local_irq_restore(flags);
}

/*
 * The pool: dealt out to every possible CPU, taken from other CPUs' lists
 * when this one's is empty, exhausted at exactly max_tracked, refilled by
 * the records that end: onto the free list of the CPU that ends them.
 */
static void fw_test_pool(struct kunit *test)
{
	unsigned int max = 3 * num_possible_cpus() + 1, i, n_here, n_home;
	struct fw_conn **got, *c;
	struct fw_net *fwn;
	int cpu, home;

	/* A pool of max, a netns that may have one more. */
	KUNIT_ASSERT_EQ(test, fw_track_init(max, max), 0);
	fwn = fw_test_net(test, max + 1);
	got = kunit_kcalloc(test, max + 1, sizeof(*got), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_GE(test, per_cpu_ptr(fw_cpu, cpu)->count, 3);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 0);
	for (i = 0; i < max; i++) {
		got[i] = fw_test_get(fwn, 1000 + i);
		KUNIT_ASSERT_NOT_NULL(test, got[i]);
	}
	/* The pool is out before the netns's limit. */
	KUNIT_EXPECT_NULL(test, fw_test_get(fwn, 5000));
	KUNIT_EXPECT_EQ(test, atomic_read(&fwn->tracked), max);
	KUNIT_EXPECT_EQ(test, fw_track_count(), max);
	for_each_possible_cpu(cpu)
		KUNIT_EXPECT_EQ(test, per_cpu_ptr(fw_cpu, cpu)->count, 0);
	/* Every record is from the pool, each one once. */
	for (i = 0; i < max; i++) {
		KUNIT_EXPECT_TRUE(test, got[i] >= fw_pool && got[i] < fw_pool + max);
		got[i]->flags = 0;
	}
	for (i = 0; i < max; i++)
		got[i]->flags++;
	for (i = 0; i < max; i++)
		KUNIT_EXPECT_EQ(test, fw_pool[i].flags, 1);
	/*
	 * The last one came from another CPU's list if there is another CPU:
	 * it goes back to this CPU's, and off its own CPU's age list.
	 */
	c = got[max - 1];
	cpu = get_cpu();
	home = c->cpu;
	fw_test_put(c);
	n_here = per_cpu_ptr(fw_cpu, cpu)->count;
	n_home = per_cpu_ptr(fw_cpu, home)->count;
	put_cpu();
	KUNIT_EXPECT_EQ(test, n_here, 1);
	if (home != cpu)
		KUNIT_EXPECT_EQ(test, n_home, 0);
	KUNIT_EXPECT_EQ(test, fw_track_count(), max - 1);
	KUNIT_EXPECT_PTR_EQ(test, fw_test_get(fwn, 6000), c);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), 1000);
	for (i = 0; i < max; i++)
		fw_test_put(got[i]);
	KUNIT_EXPECT_EQ(test, fw_track_count(), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&fwn->tracked), 0);
	KUNIT_EXPECT_EQ(test, fw_track_oldest(fwn), U64_MAX);
	fw_test_teardown(fwn);
}

/*
 * The hooks' filter: no record can be under a key whose bucket is empty;
 * one entered is seen, and its bucket is empty again once it ends.
 */
static void fw_test_may_hold(struct kunit *test)
{
	struct fw_net *fwn = fw_test_setup(test, 4);
	static int sk, tw;

	KUNIT_EXPECT_FALSE(test, fw_track_may_hold(&sk));
	fw_track_enter(fwn, &sk, 1000);
	KUNIT_EXPECT_TRUE(test, fw_track_may_hold(&sk));
	fw_track_handoff(&sk);
	fw_track_rekey(&sk, &tw);
	KUNIT_EXPECT_TRUE(test, fw_track_may_hold(&tw));
	if (fw_hash(&sk) != fw_hash(&tw))
		KUNIT_EXPECT_FALSE(test, fw_track_may_hold(&sk));
	KUNIT_EXPECT_TRUE(test, fw_track_leave(&tw, FW_EXIT_TIMEOUT, 3000));
	KUNIT_EXPECT_FALSE(test, fw_track_may_hold(&tw));
	KUNIT_EXPECT_FALSE(test, fw_track_may_hold(&sk));
	fw_test_teardown(fwn);
}

/*
 * Blocks of several CPUs add up, whatever CPU an exit is counted on; a
 * reset folds the open connections into each CPU's "entered".
 */
static void fw_test_percpu_sum(struct kunit *test)
{
	struct fw_net *fwn = fw_test_net(test, 1);
	struct fw_snapshot s;
	int cpu, n = 0;

	for_each_possible_cpu(cpu) {
		struct fw_stats *p = per_cpu_ptr(fwn->stats, cpu);

		/* Two entered here, one left here. */
		p->entered = 2;
		p->to_tw = 1;
		p->left[FW_EXIT_TIMEOUT] = 1;
		p->left_tw = 1;
		p->min_us = 100 + cpu;
		p->max_us = 1000 + cpu;
		p->sum_us = 10;
		p->hist[3] = 1;
		n++;
	}
	if (n > 1)	/* CPU 0 counted two exits of connections of others */
		per_cpu_ptr(fwn->stats, 0)->left[FW_EXIT_TIMEOUT] = 3;
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, 2 * n);
	KUNIT_EXPECT_EQ(test, s.completed, n > 1 ? n + 2 : 1);
	KUNIT_EXPECT_EQ(test, s.cur, n > 1 ? n - 2 : 1);
	KUNIT_EXPECT_EQ(test, s.cur_tw, 0);
	KUNIT_EXPECT_EQ(test, s.min_us, 100);
	KUNIT_EXPECT_EQ(test, s.max_us, 1000 + n - 1);
	KUNIT_EXPECT_EQ(test, s.sum_us, 10 * n);
	KUNIT_EXPECT_EQ(test, s.hist[3], n);
	fw_expect_invariant(test, NULL, &s);

	fw_stats_reset(fwn);
	fw_stats_snapshot(fwn, &s);
	KUNIT_EXPECT_EQ(test, s.entered, n > 1 ? n - 2 : 1);
	KUNIT_EXPECT_EQ(test, s.cur, n > 1 ? n - 2 : 1);
	KUNIT_EXPECT_EQ(test, s.completed, 0);
	fw_expect_invariant(test, NULL, &s);
	fw_test_net_release(fwn);
}

static void fw_test_format(struct kunit *test)
{
	struct fw_snapshot s = {
		.entered = 7, .untracked = 1, .cur = 2, .cur_tw = 1,
		.left = { 1, 2, 1, 0, 0 }, .completed = 4,
		.sum_us = 6000123, .min_us = 3, .max_us = 3000000,
	};
	static const char head[] =
		"fin_timeout_ms 60000\n"
		"current 2\n"
		"current_timewait 1\n"
		"oldest_age_ms 86400000\n"
		"entered 7\n"
		"left_peer_fin 1\n"
		"left_timeout 2\n"
		"left_reset 1\n"
		"left_abort 0\n"
		"left_other 0\n"
		"untracked 1\n"
		"stale 0\n"
		"tracked_limit 16384\n"
		"lifetime_min_us 3\n"
		"lifetime_max_us 3000000\n"
		"lifetime_sum_us 6000123\n"
		"completed 4\n"
		"probe_missed 5\n"
		"hist_us_0 0\n"
		"hist_us_2 1\n"
		"hist_us_4 0\n";
	struct seq_file m = { };
	char *buf;

	s.hist[1] = 1;
	s.hist[21] = 3;
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	m.buf = buf;
	m.size = PAGE_SIZE;
	fw_proc_print(&m, &s, 86400000, 60000, 16384, 5);
	KUNIT_ASSERT_FALSE(test, seq_has_overflowed(&m));
	buf[m.count] = '\0';
	KUNIT_EXPECT_EQ(test, strncmp(buf, head, sizeof(head) - 1), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "\nhist_us_2097152 3\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "\nhist_us_2147483648 0\n"));
	KUNIT_EXPECT_EQ(test, buf[m.count - 1], '\n');
}

static struct kunit_case fw_test_cases[] = {
	KUNIT_CASE_PARAM(fw_test_hist_bucket, fw_hist_gen_params),
	KUNIT_CASE(fw_test_classify),
	KUNIT_CASE(fw_test_tw_segment),
	KUNIT_CASE(fw_test_parse_write),
	KUNIT_CASE(fw_test_lifecycle),
	KUNIT_CASE(fw_test_stale),
	KUNIT_CASE(fw_test_bound),
	KUNIT_CASE(fw_test_netns_limit),
	KUNIT_CASE(fw_test_pool),
	KUNIT_CASE(fw_test_may_hold),
	KUNIT_CASE(fw_test_percpu_sum),
	KUNIT_CASE(fw_test_format),
	KUNIT_CASE(fw_test_copy),
	KUNIT_CASE(fw_test_oldest),
	{}
};

static struct kunit_suite fw_test_suite = {
	.name = "finwait_stats",
	.test_cases = fw_test_cases,
};

kunit_test_suite(fw_test_suite);

MODULE_DESCRIPTION("KUnit tests for finwait_stats");
MODULE_LICENSE("GPL");
