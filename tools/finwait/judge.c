// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel's rules predict for a scenario, and whether what was seen
 * and what finwait_stats recorded agree with it. No system calls here:
 * tests/test_stats.c checks the agreeing and the disagreeing cases.
 */
#include <netinet/tcp.h>

#include "finwait.h"

/*
 * The FIN-WAIT-2 time an orphan gets for tcp_fin_timeout @tmo (tcp_close(),
 * tcp_keepalive_timer()): above TCP_TIMEWAIT_LEN the full socket waits
 * tmo - 60 s on its keepalive timer, then a timewait socket tmo - 60 s more.
 */
double fw_orphan_lifetime(long tmo)
{
	return tmo > FW_TIMEWAIT_LEN_S ? 2.0 * (tmo - FW_TIMEWAIT_LEN_S) : tmo;
}

/*
 * How long the full socket keeps an orphan in FIN-WAIT-2 before a timewait
 * socket takes over (tcp_close(), tcp_rcv_state_process()): at once when
 * tcp_fin_timeout is at most TCP_TIMEWAIT_LEN, else tmo - 60 s on the
 * keepalive timer. tcp_set_state() sees only this part: the full socket
 * goes FIN_WAIT2 -> CLOSE when it hands over (tcp_time_wait(), tcp_done()).
 */
static double full_part(long tmo)
{
	return tmo > FW_TIMEWAIT_LEN_S ? tmo - FW_TIMEWAIT_LEN_S : 0;
}

void fw_expect(enum fw_ending ending, double at, long tmo, struct fw_expect *e)
{
	double timer = fw_orphan_lifetime(tmo);

	e->lifetime = timer;
	e->reason = FW_TIMEOUT;
	e->state = 0;		/* gone */
	e->full = full_part(tmo);
	if (ending == FW_HALF_CLOSE) {
		/* Not an orphan, no timer, a full socket until close(). */
		e->lifetime += at;
		e->full += at;
	} else if (ending != FW_STOPPED_PEER && at < e->lifetime) {
		e->lifetime = at;
		e->reason = ending == FW_PEER_CLOSE ? FW_PEER_FIN : FW_RESET;
		e->state = ending == FW_PEER_CLOSE ? TCP_TIME_WAIT : 0;
		if (at < e->full)
			e->full = at;
	}
	/*
	 * Never early; a timer fires late by up to 1/8 of its length (the
	 * timer wheel's granularity, kernel/time/timer.c); polling and
	 * scheduling add some.
	 */
	e->lo = e->lifetime - 0.1;
	e->hi = e->lifetime + (e->reason == FW_TIMEOUT ? timer / 8 : 0) + 0.5;
}

/*
 * No handoff: the ACK of our FIN was processed from the backlog while
 * close() owned the socket, which then saw FIN_WAIT1 and armed the
 * keepalive timer instead (tcp_close()); the full socket keeps the
 * connection to the end, and the lifetime is the same.
 */
void fw_expect_no_handoff(struct fw_expect *e)
{
	e->full = e->lifetime;
}

/* The socket was last seen in FIN-WAIT-2 at @last, then in @state at @exit. */
bool fw_seen_agrees(const struct fw_expect *e, double last, double exit, int state)
{
	return exit >= e->lo && last <= e->hi && state == e->state;
}

/*
 * The module's lifetime starts when FIN-WAIT-2 is entered (after close())
 * and ends inside (last, exit]; 0.25 s allows for the entry's delay.
 */
bool fw_record_agrees(const struct fw_expect *e, double lifetime, int reason,
		      double last, double exit)
{
	return reason == e->reason && lifetime <= exit + 0.05 &&
	       lifetime >= last - 0.25;
}
