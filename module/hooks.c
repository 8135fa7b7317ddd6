// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobes that follow a connection through FIN-WAIT-2, whichever object
 * holds it (see README "How it works"):
 *
 *   full socket         tcp_set_state      enters; leaves (close, abort)
 *                       tcp_time_wait      peer FIN; handoff to a tw begins
 *                       tcp_reset          RST received / data after close
 *                       tcp_send_active_reset  FIN-WAIT-2 timer (or ss -K)
 *                       tcp_disconnect     SO_LINGER 0, connect(AF_UNSPEC)
 *   handoff             inet_twsk_hashdance   the record moves sk -> tw
 *   timewait socket     __inet_twsk_schedule  FIN arrived (rearm, TIME_WAIT)
 *                       tw_timer_handler   FIN-WAIT-2 timer expired
 *                       tcp_timewait_state_process  the segment being handled
 *                       inet_twsk_kill     killed by RST, our RST, teardown
 *                       tcp_twsk_destructor  last chance, always reached
 *
 * Handlers run with preemption off, in softirq, timer or process context.
 * Each first checks the state it cares about, so transitions that do not
 * involve FIN-WAIT-2 cost a few comparisons.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/timekeeping.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_timewait_sock.h>

#include "finwait_stats.h"
#include "classify.h"
#include "compat.h"

/* The segment tcp_timewait_state_process() is handling on this CPU. */
struct fw_tw_segment {
	const void *tw;
	bool rst;
};

static DEFINE_PER_CPU(struct fw_tw_segment, fw_tw_segment);

static void *fw_arg_ptr(struct pt_regs *regs, unsigned int n)
{
	return (void *)FW_ARG(regs, n);
}

static int fw_set_state(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = fw_arg_ptr(regs, 0);
	int state = (int)FW_ARG(regs, 1);
	int old = READ_ONCE(sk->sk_state);

	if (state == TCP_FIN_WAIT2) {
		struct fw_net *fwn;

		/* tcp_close_state() repeats it on a half-closed socket. */
		if (old == TCP_FIN_WAIT2)
			return 0;
		fwn = fw_net(sock_net(sk));
		if (!READ_ONCE(fwn->dying))
			fw_track_enter(fwn, sk, ktime_get_ns());
	} else if (old == TCP_FIN_WAIT2) {
		fw_track_close(sk, ktime_get_ns());
	}
	return 0;
}

static int fw_time_wait(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = fw_arg_ptr(regs, 0);
	int state = (int)FW_ARG(regs, 1);

	if (READ_ONCE(sk->sk_state) != TCP_FIN_WAIT2)
		return 0;
	if (state == TCP_TIME_WAIT)
		fw_track_leave(sk, FW_EXIT_PEER_FIN, ktime_get_ns());
	else
		fw_track_handoff(sk);
	return 0;
}

static int fw_hashdance(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(regs, 0);

	if (tw->tw_substate == TCP_FIN_WAIT2)
		fw_track_rekey(fw_arg_ptr(regs, 1), tw);
	return 0;
}

static int fw_tw_schedule(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(regs, 0);
	bool rearm = FW_ARG(regs, 2) & 0xff;

	/* tcp_timewait_state_process() took the FIN: substate TIME_WAIT. */
	if (rearm && READ_ONCE(tw->tw_substate) == TCP_TIME_WAIT)
		fw_track_leave(tw, FW_EXIT_PEER_FIN, ktime_get_ns());
	return 0;
}

static int fw_tw_segment_begin(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(regs, 0);
	const struct tcphdr *th = fw_arg_ptr(regs, 2);
	struct fw_tw_segment *seg;

	if (READ_ONCE(tw->tw_substate) != TCP_FIN_WAIT2)
		return 0;
	seg = this_cpu_ptr(&fw_tw_segment);
	seg->tw = tw;
	seg->rst = th->rst;
	return 0;
}

static int fw_tw_timer(struct kprobe *p, struct pt_regs *regs)
{
	struct timer_list *t = fw_arg_ptr(regs, 0);
	struct inet_timewait_sock *tw;

	tw = container_of(t, struct inet_timewait_sock, tw_timer);
	if (READ_ONCE(tw->tw_substate) == TCP_FIN_WAIT2)
		fw_track_leave(tw, FW_EXIT_TIMEOUT, ktime_get_ns());
	return 0;
}

static int fw_tw_kill(struct kprobe *p, struct pt_regs *regs)
{
	struct inet_timewait_sock *tw = fw_arg_ptr(regs, 0);
	struct fw_tw_segment *seg;
	bool same;

	if (READ_ONCE(tw->tw_substate) != TCP_FIN_WAIT2)
		return 0;
	seg = this_cpu_ptr(&fw_tw_segment);
	same = in_serving_softirq() && seg->tw == tw;
	fw_track_leave(tw, fw_classify_tw_kill(same, seg->rst), ktime_get_ns());
	if (same)
		seg->tw = NULL;
	return 0;
}

static int fw_reset(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = fw_arg_ptr(regs, 0);

	if (READ_ONCE(sk->sk_state) == TCP_FIN_WAIT2)
		fw_track_leave(sk, fw_classify_reset(fw_reset_skb_is_rst(regs)),
			       ktime_get_ns());
	return 0;
}

static int fw_active_reset(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = fw_arg_ptr(regs, 0);

	if (READ_ONCE(sk->sk_state) == TCP_FIN_WAIT2)
		fw_track_leave(sk, fw_classify_active_reset(in_serving_softirq()),
			       ktime_get_ns());
	return 0;
}

static int fw_disconnect(struct kprobe *p, struct pt_regs *regs)
{
	struct sock *sk = fw_arg_ptr(regs, 0);
	bool closing;

	if (READ_ONCE(sk->sk_state) != TCP_FIN_WAIT2)
		return 0;
	closing = READ_ONCE(sk->sk_shutdown) == SHUTDOWN_MASK;
	fw_track_leave(sk, fw_classify_disconnect(closing), ktime_get_ns());
	return 0;
}

#define FW_PROBE(sym, fn, opt) \
	{ .kp = { .symbol_name = (sym), .pre_handler = (fn) }, .optional = (opt) }

static struct fw_probe {
	struct kprobe kp;
	bool optional;		/* another hook covers it, later */
	bool registered;
} fw_probes[] = {
	FW_PROBE("tcp_time_wait", fw_time_wait, false),
	FW_PROBE(FW_SYM_HASHDANCE, fw_hashdance, false),
	FW_PROBE("__inet_twsk_schedule", fw_tw_schedule, false),
	FW_PROBE("tcp_timewait_state_process", fw_tw_segment_begin, false),
	FW_PROBE("tw_timer_handler", fw_tw_timer, false),
	FW_PROBE("inet_twsk_kill", fw_tw_kill, true),
	FW_PROBE("tcp_twsk_destructor", fw_tw_kill, false),
	FW_PROBE("tcp_reset", fw_reset, false),
	FW_PROBE("tcp_send_active_reset", fw_active_reset, false),
	FW_PROBE("tcp_disconnect", fw_disconnect, false),
	/* Last: entries start once every way out is watched. */
	FW_PROBE("tcp_set_state", fw_set_state, false),
};

unsigned long fw_hooks_missed(void)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fw_probes); i++)
		if (fw_probes[i].registered)
			n += fw_probes[i].kp.nmissed;
	return n;
}

/* Unregister in one batch (one grace period); returns with no handler running. */
void fw_hooks_exit(void)
{
	struct kprobe *kps[ARRAY_SIZE(fw_probes)];
	unsigned int i, n = 0;

	for (i = ARRAY_SIZE(fw_probes); i-- > 0;) {
		if (!fw_probes[i].registered)
			continue;
		kps[n++] = &fw_probes[i].kp;
		fw_probes[i].registered = false;
	}
	if (n)
		unregister_kprobes(kps, n);
}

int fw_hooks_init(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(fw_probes); i++) {
		struct fw_probe *p = &fw_probes[i];

		err = register_kprobe(&p->kp);
		if (err && p->optional) {
			pr_info("%s not probeable (%d), covered by later hooks\n",
				p->kp.symbol_name, err);
			continue;
		}
		if (err) {
			pr_err("cannot probe %s: %d\n", p->kp.symbol_name, err);
			goto err_unregister;
		}
		p->registered = true;
	}
	return 0;

err_unregister:
	fw_hooks_exit();
	return err;
}
