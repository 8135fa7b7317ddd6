/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How a FIN-WAIT-2 lifetime ended, decided from what the hook saw. Pure
 * functions, so that KUnit can check every rule.
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
 * tcp_send_active_reset() on a full socket in FIN-WAIT-2: from its timer
 * (tcp_keepalive_timer: the FIN-WAIT-2 time is over) it is a timeout; from
 * a process (tcp_abort(), "ss -K") an abort.
 */
static inline enum fw_exit fw_classify_active_reset(bool from_timer)
{
	return from_timer ? FW_EXIT_TIMEOUT : FW_EXIT_ABORT;
}

/*
 * tcp_disconnect() in FIN-WAIT-2: from close() with SO_LINGER {1, 0} (the
 * socket is already shut down both ways) our RST ends it: abort. Otherwise
 * (connect(AF_UNSPEC)): other.
 */
static inline enum fw_exit fw_classify_disconnect(bool closing)
{
	return closing ? FW_EXIT_ABORT : FW_EXIT_OTHER;
}

/*
 * A timewait socket in substate FIN_WAIT2 killed outside its timer. While
 * the segment that tcp_timewait_state_process() is handling on this CPU is
 * for it: an RST kills it (reset), anything else that kills it is data or a
 * SYN answered with our RST (abort). Else: netns teardown, ss -K: other.
 */
static inline enum fw_exit fw_classify_tw_kill(bool same_segment, bool rst)
{
	if (!same_segment)
		return FW_EXIT_OTHER;
	return rst ? FW_EXIT_RESET : FW_EXIT_ABORT;
}

#endif /* _FINWAIT_CLASSIFY_H */
