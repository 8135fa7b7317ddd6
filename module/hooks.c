// SPDX-License-Identifier: GPL-2.0
/*
 * The function-entry hooks that follow a connection through FIN-WAIT-2,
 * whichever object holds it (see README "How it works"):
 *
 *   full socket         sock:inet_sock_set_state (tracepoint, in
 *                       tcp_set_state)     enters; leaves (close, abort)
 *                       tcp_time_wait      peer FIN; handoff to a tw begins
 *                       tcp_reset          RST received / data after close
 *                       tcp_send_active_reset  orphan, from its timer: the
 *                                          FIN-WAIT-2 timeout; else ss -K or
 *                                          keepalive gave up: abort
 *                       tcp_disconnect     SO_LINGER 0, connect(AF_UNSPEC)
 *                       tcp:tcp_destroy_sock (tracepoint, in
 *                       tcp_v4_destroy_sock)  being freed (IPv6's too): a
 *                                          record still there is stale, so
 *                                          none outlives its object
 *   handoff             inet_twsk_hashdance   the record moves sk -> tw
 *   timewait socket     __inet_twsk_schedule  FIN arrived (rearm, TIME_WAIT)
 *                       tw_timer_handler   FIN-WAIT-2 timer expired
 *                       tcp_timewait_state_process  the segment being handled
 *                       inet_twsk_kill     killed by that segment (RST: reset;
 *                                          our RST: abort), else other
 *                       tcp_abort          ss -K: the kill is no segment's
 *                       tcp_twsk_destructor  last chance, always reached: a
 *                                          missed kill, or a stale record
 *
 * The hooks are ftrace callbacks (one ftrace_ops per function, given the
 * arguments: compat.h), not kprobes: a kprobe handler interrupted
 * by a softirq that hits another kprobe on the same CPU makes the kernel
 * drop the second event (kprobe_running(), nmissed), and under load that
 * lost FIN-WAIT-2 entries. ftrace's recursion guard is per context, so a
 * softirq's hook runs inside a process-context one.
 *
 * Each hook is a pair (FW_CALLBACK): a filter that reads the state it
 * cares about and calls nothing (fw_track_may_hold() is inline), so a call
 * that does not concern FIN-WAIT-2 costs a few comparisons and returns
 * before the recursion guard (before 5.11, ftrace's own guard runs first);
 * and a handler for the calls it keeps, which runs with preemption off, in
 * softirq, timer, kthread or process context, and decides from the event
 * (classify.h), never from the context. Both read the hooked function's
 * arguments, which its caller keeps alive (and a full socket locked) for
 * the call.
 */
#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_timewait_sock.h>
#include <trace/events/sock.h>
#include <trace/events/tcp.h>

#include "finwait_stats.h"
#include "classify.h"
#include "compat.h"

static DEFINE_PER_CPU(struct fw_tw_segment, fw_tw_segment);

static void *fw_arg_ptr(FW_ARGS *args, unsigned int n)
{
	return (void *)FW_ARG(args, n);
}

/*
 * A TCP socket enters or leaves FIN-WAIT-2 (@old to @state, not yet
 * stored). Out of line: most state changes are neither, and the probe
 * below returns on them without a stack frame.
 */
static noinline void notrace fw_fin_wait2_change(struct sock *sk, int old,
						 int state)
{
	/*
	 * The tracepoint also fires for MPTCP, SCTP and DCCP sockets;
	 * tcp_close_state() repeats FIN-WAIT-2 on a half-closed socket.
	 */
	if (READ_ONCE(sk->sk_protocol) != IPPROTO_TCP || old == state)
		return;
	/* A socket that left by the handoff has no record left to close. */
	if (state != TCP_FIN_WAIT2 && !fw_track_may_hold(sk))
		return;
	/*
	 * Preemption off, as the hooks' handlers run (fw_hook_read_lock()),
	 * which the tracepoint does not promise (from 7.2 it calls its
	 * probes under SRCU only). fw_net() takes its own RCU read lock.
	 */
	preempt_disable_notrace();
	if (state == TCP_FIN_WAIT2) {
		struct fw_net *fwn;

		fwn = fw_net(sock_net(sk));
		if (!READ_ONCE(fwn->dying))
			fw_track_enter(fwn, sk, ktime_get_ns());
	} else {
		fw_track_close(sk, ktime_get_ns());
	}
	preempt_enable_notrace();
}

/*
 * The probe on sock:inet_sock_set_state, which tcp_set_state() fires just
 * before it stores the new state: about ten calls a connection, two of
 * which concern FIN-WAIT-2.
 */
static void notrace fw_state_change(void *data, const struct sock *sk,
				    int old, int state)
{
	if (likely(state != TCP_FIN_WAIT2 && old != TCP_FIN_WAIT2))
		return;
	fw_fin_wait2_change((struct sock *)sk, old, state);
}

static bool fw_sk_in_fin_wait2(FW_ARGS *args)
{
	const struct sock *sk = fw_arg_ptr(args, 0);

	return READ_ONCE(sk->sk_state) == TCP_FIN_WAIT2;
}

static bool fw_tw_in_fin_wait2(FW_ARGS *args)
{
	const struct inet_timewait_sock *tw = fw_arg_ptr(args, 0);

	return READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2;
}

static bool fw_may_hold_arg(FW_ARGS *args)
{
	return fw_track_may_hold(fw_arg_ptr(args, 0));
}

static bool fw_every_call(FW_ARGS *args)
{
	return true;
}

/* tcp_time_wait(sk, state, timeo) of a socket in FIN-WAIT-2. */
static void fw_time_wait(FW_ARGS *args)
{
	struct sock *sk = fw_arg_ptr(args, 0);

	if ((int)FW_ARG(args, 1) == TCP_TIME_WAIT)
		fw_track_leave(sk, FW_EXIT_PEER_FIN, ktime_get_ns());
	else
		fw_track_handoff(sk);
}

/* The hashdance of a timewait socket in substate FIN_WAIT2. */
static void fw_hashdance(FW_ARGS *args)
{
	fw_track_rekey(fw_arg_ptr(args, 1), fw_arg_ptr(args, 0));
}

/* The segment slot of this CPU no longer names @tw. */
static void fw_tw_segment_forget(const struct inet_timewait_sock *tw)
{
	struct fw_tw_segment *seg = this_cpu_ptr(&fw_tw_segment);

	if (seg->tw == tw)
		seg->tw = NULL;
}

/* tcp_timewait_state_process() took the FIN: a rearm in substate TIME_WAIT. */
static bool fw_wants_tw_schedule(FW_ARGS *args)
{
	const struct inet_timewait_sock *tw = fw_arg_ptr(args, 0);

	return (FW_ARG(args, 2) & 0xff) &&
	       READ_ONCE(tw->tw_substate) == TCP_TIME_WAIT;
}

static void fw_tw_schedule(FW_ARGS *args)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(args, 0);

	fw_tw_segment_forget(tw);
	fw_track_leave(tw, FW_EXIT_PEER_FIN, ktime_get_ns());
}

/*
 * Every segment for a timewait socket replaces this CPU's slot, so a slot
 * never outlives the next segment; the task that handles it is part of the
 * slot, so a kill by another task on this CPU is not mistaken for its end.
 */
static void fw_tw_segment_begin(FW_ARGS *args)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(args, 0);
	const struct tcphdr *th = fw_arg_ptr(args, 2);
	struct fw_tw_segment *seg = this_cpu_ptr(&fw_tw_segment);

	if (READ_ONCE(tw->tw_substate) != TCP_FIN_WAIT2) {
		seg->tw = NULL;
		return;
	}
	seg->tw = tw;
	seg->task = current;
	seg->level = fw_irq_level();
	seg->rst = th->rst;
}

/* tw_timer_handler(t) of a timewait socket in substate FIN_WAIT2. */
static bool fw_wants_tw_timer(FW_ARGS *args)
{
	const struct timer_list *t = fw_arg_ptr(args, 0);
	const struct inet_timewait_sock *tw;

	tw = container_of(t, struct inet_timewait_sock, tw_timer);
	return READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2;
}

static void fw_tw_timer(FW_ARGS *args)
{
	struct timer_list *t = fw_arg_ptr(args, 0);
	struct inet_timewait_sock *tw;

	tw = container_of(t, struct inet_timewait_sock, tw_timer);
	fw_tw_segment_forget(tw);
	fw_track_leave(tw, FW_EXIT_TIMEOUT, ktime_get_ns());
}

/* A timewait socket in substate FIN_WAIT2 is killed outside its timer. */
static void fw_tw_killed(struct inet_timewait_sock *tw)
{
	struct fw_tw_segment *seg = this_cpu_ptr(&fw_tw_segment);
	bool owned = fw_tw_segment_owns(seg, tw, current, fw_irq_level());

	if (owned)
		seg->tw = NULL;
	fw_track_leave(tw, fw_classify_tw_kill(owned, seg->rst), ktime_get_ns());
}

static void fw_tw_kill(FW_ARGS *args)
{
	fw_tw_killed(fw_arg_ptr(args, 0));
}

/*
 * The timewait socket is being freed. In substate FIN_WAIT2, a kill that
 * inet_twsk_kill's hook did not see (it is static, and may be inlined).
 * Otherwise a record still under it is one whose end was never seen (a
 * move to TIME_WAIT through a path that was not hooked): stale.
 */
static bool fw_wants_tw_destructor(FW_ARGS *args)
{
	return fw_tw_in_fin_wait2(args) || fw_may_hold_arg(args);
}

static void fw_tw_destructor(FW_ARGS *args)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(args, 0);

	if (READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2)
		fw_tw_killed(tw);
	else
		fw_track_stale(tw);
}

static void fw_reset(FW_ARGS *args)
{
	fw_track_leave(fw_arg_ptr(args, 0),
		       fw_classify_reset(fw_reset_skb_is_rst(FW_ARG(args, 1))),
		       ktime_get_ns());
}

static void fw_active_reset(FW_ARGS *args)
{
	struct sock *sk = fw_arg_ptr(args, 0);

	fw_track_leave(sk, fw_classify_active_reset(sock_flag(sk, SOCK_DEAD),
						    READ_ONCE(sk->sk_lock.owned)),
		       ktime_get_ns());
}

static void fw_disconnect(FW_ARGS *args)
{
	struct sock *sk = fw_arg_ptr(args, 0);

	fw_track_leave(sk, fw_classify_disconnect(tcp_sk(sk)->repair),
		       ktime_get_ns());
}

/*
 * tcp_abort() ("ss -K", SOCK_DESTROY) of a timewait socket kills it (from
 * 6.0; before, it refuses) without a segment: the kill must not be taken
 * for the end of a segment this CPU handled for it before. (A full socket
 * goes on to tcp_send_active_reset().)
 */
static bool fw_wants_abort(FW_ARGS *args)
{
	const struct sock *sk = fw_arg_ptr(args, 0);

	return READ_ONCE(sk->sk_state) == TCP_TIME_WAIT;
}

static void fw_abort(FW_ARGS *args)
{
	fw_tw_segment_forget(inet_twsk(fw_arg_ptr(args, 0)));
}

/*
 * The full socket is being freed: the probe on tcp:tcp_destroy_sock, which
 * tcp_v4_destroy_sock() fires first thing (IPv6's destroy calls it too).
 * Its record normally ended at its move to CLOSE; one still there is stale
 * (that call was missed). With this probe and the timewait destructor's
 * hook, a record never names freed memory unless a hook call was lost
 * (fw_epoch; see fw_conn_live() in track.c). Preemption off, as for the
 * hooks' handlers (fw_hook_read_lock()).
 */
static void notrace fw_sk_destroyed(void *data, struct sock *sk)
{
	if (likely(!fw_track_may_hold(sk)))
		return;
	preempt_disable_notrace();
	fw_track_stale(sk);
	preempt_enable_notrace();
}

/*
 * Calls a filter kept that the recursion guard turned away: events lost,
 * shown as probe_missed.
 */
static atomic_long_t fw_missed = ATOMIC_LONG_INIT(0);

/*
 * Moves on with every lost call, and as the hooks go: a record
 * entered at an older epoch may have missed its end, and so may name
 * memory freed since.
 */
static atomic_t fw_epoch = ATOMIC_INIT(0);

unsigned int fw_hooks_epoch(void)
{
	return atomic_read(&fw_epoch);
}

/*
 * The body of every ftrace callback. The filter first; for the calls it
 * keeps, the recursion guard, then the handler with preemption off, which
 * synchronize_rcu() waits for (fw_hook_read_lock()): netns teardown and a
 * reset do. Inlined into one callback per hook (FW_CALLBACK), so that
 * neither the filter nor the handler is called through a pointer.
 *
 * A handler that calls nothing (not a traceable function, not a lock)
 * cannot recurse and needs no guard (FW_CALLBACK_LEAF): it only keeps
 * preemption off for its per-CPU data.
 */
static __always_inline void fw_hook_run(unsigned long ip, unsigned long parent_ip,
					FW_FTRACE_REGS *fregs,
					bool (*wants)(FW_ARGS *args),
					void (*handler)(FW_ARGS *args),
					bool guarded)
{
	FW_ARGS *args = fw_ftrace_args(fregs);
	int bit;

	if (unlikely(!args) || !wants(args))
		return;
	if (!guarded) {
		preempt_disable_notrace();
		handler(args);
		preempt_enable_notrace();
		return;
	}
	bit = fw_recursion_trylock(ip, parent_ip);
	if (bit < 0) {
		atomic_long_inc(&fw_missed);
		atomic_inc(&fw_epoch);
		return;
	}
	fw_hook_read_lock();
	handler(args);
	fw_hook_read_unlock();
	fw_recursion_unlock(bit);
}

#define FW_CALLBACK_RUN(wants, handler, guarded)			\
static void notrace fw_call_##handler(unsigned long ip,			\
				      unsigned long parent_ip,		\
				      struct ftrace_ops *ops,		\
				      FW_FTRACE_REGS *fregs)		\
{									\
	fw_hook_run(ip, parent_ip, fregs, wants, handler, guarded);	\
}

#define FW_CALLBACK(wants, handler)	FW_CALLBACK_RUN(wants, handler, true)
#define FW_CALLBACK_LEAF(wants, handler) FW_CALLBACK_RUN(wants, handler, false)

FW_CALLBACK(fw_sk_in_fin_wait2, fw_time_wait)
FW_CALLBACK(fw_tw_in_fin_wait2, fw_hashdance)
FW_CALLBACK(fw_wants_tw_schedule, fw_tw_schedule)
FW_CALLBACK_LEAF(fw_every_call, fw_tw_segment_begin)
FW_CALLBACK(fw_wants_tw_timer, fw_tw_timer)
FW_CALLBACK(fw_tw_in_fin_wait2, fw_tw_kill)
FW_CALLBACK(fw_wants_tw_destructor, fw_tw_destructor)
FW_CALLBACK(fw_sk_in_fin_wait2, fw_reset)
FW_CALLBACK(fw_sk_in_fin_wait2, fw_active_reset)
FW_CALLBACK(fw_sk_in_fin_wait2, fw_disconnect)
FW_CALLBACK_LEAF(fw_wants_abort, fw_abort)

#define FW_HOOK(sym, fn, opt) { .name = (sym), .func = fw_call_##fn, .optional = (opt) }

static struct fw_hook {
	const char *name;
	void (*func)(unsigned long ip, unsigned long parent_ip,
		     struct ftrace_ops *ops, FW_FTRACE_REGS *fregs);
	bool optional;		/* another hook covers it, later */
	bool registered;
	struct ftrace_ops ops;
} fw_hooks[] = {
	FW_HOOK("tcp_time_wait", fw_time_wait, false),
	FW_HOOK(FW_SYM_HASHDANCE, fw_hashdance, false),
	FW_HOOK("__inet_twsk_schedule", fw_tw_schedule, false),
	FW_HOOK("tcp_timewait_state_process", fw_tw_segment_begin, false),
	FW_HOOK("tw_timer_handler", fw_tw_timer, false),
	FW_HOOK("inet_twsk_kill", fw_tw_kill, true),
	FW_HOOK("tcp_twsk_destructor", fw_tw_destructor, false),
	FW_HOOK("tcp_reset", fw_reset, false),
	FW_HOOK("tcp_send_active_reset", fw_active_reset, false),
	FW_HOOK("tcp_disconnect", fw_disconnect, false),
	FW_HOOK("tcp_abort", fw_abort, false),
};

/*
 * Entries into FIN-WAIT-2, the exits of full sockets by a state change
 * (close, abort), and their destruction come from tracepoints rather than
 * from hooks on tcp_set_state() (the most called of the functions followed)
 * and tcp_v4_destroy_sock() (called twice a connection): a tracepoint calls
 * its probe directly (a static call from 5.10), with no trampoline and no
 * registers saved. In this order, after the ftrace hooks, so that entries
 * start once every way out is watched.
 */
static struct fw_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
} fw_tps[] = {
	{ .name = "tcp_destroy_sock", .probe = fw_sk_destroyed },
	{ .name = "inet_sock_set_state", .probe = fw_state_change },
};

static void fw_tp_find(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fw_tps); i++)
		if (!strcmp(tp->name, fw_tps[i].name))
			fw_tps[i].tp = tp;
}

unsigned long fw_hooks_missed(void)
{
	return atomic_long_read(&fw_missed);
}

/*
 * Free the filter's hash. An empty filter with reset, not
 * ftrace_free_filter(): that is exported only since 6.2.
 */
static void fw_hook_clear_filter(struct fw_hook *h)
{
	ftrace_set_filter(&h->ops, NULL, 0, 1);
}

/*
 * Unregister in reverse; returns with no handler running. First a new
 * epoch: from here sockets may be freed unseen, so no record's object is
 * read again (a reader already past the check holds interrupts off, and
 * unregistering waits for that).
 */
void fw_hooks_exit(void)
{
	unsigned int i;

	atomic_inc(&fw_epoch);

	for (i = ARRAY_SIZE(fw_tps); i-- > 0;) {
		struct fw_tp *t = &fw_tps[i];

		if (t->registered) {
			tracepoint_probe_unregister(t->tp, t->probe, NULL);
			tracepoint_synchronize_unregister();
			t->registered = false;
			/*
			 * A probe that ran meanwhile may have entered a
			 * record at the new epoch; none runs now.
			 */
			atomic_inc(&fw_epoch);
		}
		t->tp = NULL;
	}
	for (i = ARRAY_SIZE(fw_hooks); i-- > 0;) {
		struct fw_hook *h = &fw_hooks[i];

		if (!h->registered)
			continue;
		unregister_ftrace_function(&h->ops);
		fw_hook_clear_filter(h);
		h->registered = false;
	}
}

static int fw_hook_register(struct fw_hook *h)
{
	char name[KSYM_NAME_LEN];
	int err;

	/* ftrace_set_filter() parses, and so writes to, its buffer. */
	strscpy(name, h->name, sizeof(name));
	h->ops.func = h->func;
	h->ops.flags = FW_OPS_FLAGS;
	err = ftrace_set_filter(&h->ops, name, strlen(name), 0);
	if (err)
		return err;
	err = register_ftrace_function(&h->ops);
	if (err)
		fw_hook_clear_filter(h);
	return err;
}

/*
 * The self-check: every function in the table is hooked at its own entry,
 * or the load fails naming it. ftrace_set_filter() finds only functions
 * ftrace can patch (available_filter_functions): -EINVAL means this kernel
 * has no such function, inlined it everywhere, or renamed it (.isra, .part).
 */
static void fw_hook_report(const struct fw_hook *h, int err)
{
	if (h->optional)
		pr_info("%s not traceable (%d), tcp_twsk_destructor covers it\n",
			h->name, err);
	else if (err == -EINVAL)
		pr_err("cannot hook %s: not a traceable function in this kernel (inlined, renamed or missing)\n",
		       h->name);
	else
		pr_err("cannot hook %s: %d\n", h->name, err);
}

int fw_hooks_init(void)
{
	unsigned int i, n = 0;
	int err;

	for (i = 0; i < ARRAY_SIZE(fw_hooks); i++) {
		struct fw_hook *h = &fw_hooks[i];

		err = fw_hook_register(h);
		if (err)
			fw_hook_report(h, err);
		if (err && h->optional)
			continue;
		if (err)
			goto err_unregister;
		h->registered = true;
		n++;
	}
	/* The probes' prototypes are the tracepoints' (a build-time check). */
	check_trace_callback_type_tcp_destroy_sock(fw_sk_destroyed);
	check_trace_callback_type_inet_sock_set_state(fw_state_change);
	for_each_kernel_tracepoint(fw_tp_find, NULL);
	for (i = 0; i < ARRAY_SIZE(fw_tps); i++) {
		struct fw_tp *t = &fw_tps[i];

		if (!t->tp) {
			pr_err("no tracepoint %s in this kernel\n", t->name);
			err = -EOPNOTSUPP;
			goto err_unregister;
		}
		err = tracepoint_probe_register(t->tp, t->probe, NULL);
		if (err) {
			pr_err("cannot attach to tracepoint %s: %d\n", t->name, err);
			goto err_unregister;
		}
		t->registered = true;
	}
	pr_info("following %u functions with ftrace (%s) and the tracepoints tcp_destroy_sock, inet_sock_set_state\n",
		n, FW_OPS_FLAGS ? "saved registers" : "arguments only");
	return 0;

err_unregister:
	fw_hooks_exit();
	return err;
}
