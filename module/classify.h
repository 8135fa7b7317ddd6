/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a FIN-WAIT-2 lifetime ended, decided from what the hook saw: the
 * segment being handled, the caller's arguments, the socket's own state.
 * Never from the execution context: receive processing runs in softirq, in
 * a threaded-NAPI or backlog kthread, in a busy-polling task or (on
 * PREEMPT_RT) in a thread, and the same event must give the same answer in
 * each. Pure functions, so that KUnit checks every rule.
 */
#ifndef _FINWAIT_CLASSIFY_H
#define _FINWAIT_CLASSIFY_H

#include "finwait_stats.h"

/* tcp_reset(sk, skb): an RST segment, or data after close (TCPAbortOnData). */
static inline enum fw_exit fw_classify_reset(bool skb_has_rst)
{
	return skb_has_rst ? FW_EXIT_RESET : FW_EXIT_ABORT;
}

/*
 * tcp_send_active_reset() on a full socket in FIN-WAIT-2. Its callers with
 * the socket in that state: tcp_keepalive_timer()'s FIN-WAIT-2 branch, for
 * an orphaned socket whose FIN-WAIT-2 time is over (a timeout; the timer
 * never runs it while a process owns the socket, it tries again later);
 * the same timer when the SO_KEEPALIVE probes of a socket a process still
 * holds ran out; tcp_abort() ("ss -K", SOCK_DESTROY), which owns the socket
 * (lock_sock) and resets orphans too (6.1 and 6.12 read so). Both of the
 * latter are our RST ending it: abort. (tcp_close() and tcp_disconnect() move to CLOSE
 * first or are hooked themselves.)
 */
static inline enum fw_exit fw_classify_active_reset(bool orphaned, bool owned)
{
	return orphaned && !owned ? FW_EXIT_TIMEOUT : FW_EXIT_ABORT;
}

/*
 * tcp_disconnect() in FIN-WAIT-2 (close() with SO_LINGER {1, 0}, or
 * connect(AF_UNSPEC)) sends our RST: abort. Not in TCP_REPAIR mode, where
 * it sends nothing: other.
 */
static inline enum fw_exit fw_classify_disconnect(bool repair)
{
	return repair ? FW_EXIT_OTHER : FW_EXIT_ABORT;
}

/*
 * The segment tcp_timewait_state_process() is handling on this CPU, for a
 * timewait socket in substate FIN_WAIT2: the kill that follows it in the
 * same processing (an RST killing the tw inside that function, or our RST
 * for data or a SYN, sent and killed by its caller) belongs to it. The
 * processing is named by the task and by the interrupt level it runs at
 * (a softirq on top of a task, or the task itself): a kill by another task,
 * or by the interrupted task itself, is not that segment's. A slot lives
 * until the next segment for a timewait socket on this CPU, or until the
 * timer, a FIN or tcp_abort() ends that tw's FIN-WAIT-2.
 */
struct fw_tw_segment {
	const void *tw;
	const void *task;
	unsigned int level;
	bool rst;
};

/* Whether a kill of @tw by @task at @level is the one @seg led to. */
static inline bool fw_tw_segment_owns(const struct fw_tw_segment *seg,
				      const void *tw, const void *task,
				      unsigned int level)
{
	return tw && seg->tw == tw && seg->task == task && seg->level == level;
}

/*
 * A timewait socket in substate FIN_WAIT2 killed outside its timer. By the
 * segment being handled: an RST kills it (reset), anything else that kills
 * it is data or a SYN answered with our RST (abort). Otherwise ("ss -K",
 * a connect() taking over its port on kernels that allow it, TPROXY
 * redirecting a SYN): other.
 */
static inline enum fw_exit fw_classify_tw_kill(bool by_segment, bool rst)
{
	if (!by_segment)
		return FW_EXIT_OTHER;
	return rst ? FW_EXIT_RESET : FW_EXIT_ABORT;
}

#endif /* _FINWAIT_CLASSIFY_H */
