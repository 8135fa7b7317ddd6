/* SPDX-License-Identifier: GPL-2.0 */
/*
 * finwait_stats:lifetime, one event per completed FIN-WAIT-2 lifetime
 * (track.c), for tracefs, perf, trace-cmd and bpftrace. A static key keeps
 * it free while disabled. Addresses are sockaddrs, as the kernel's tcp
 * events keep them (skc.h), printed with %pISc.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM finwait_stats

#include "skc.h"

#if !defined(_FINWAIT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FINWAIT_TRACE_H

#include <linux/tracepoint.h>

#include "finwait_stats.h"
#include "compat.h"

TRACE_DEFINE_ENUM(FW_EXIT_PEER_FIN);
TRACE_DEFINE_ENUM(FW_EXIT_TIMEOUT);
TRACE_DEFINE_ENUM(FW_EXIT_RESET);
TRACE_DEFINE_ENUM(FW_EXIT_ABORT);
TRACE_DEFINE_ENUM(FW_EXIT_OTHER);

#define fw_show_exit(r)						\
	__print_symbolic(r, { FW_EXIT_PEER_FIN, "peer_fin" },	\
			    { FW_EXIT_TIMEOUT, "timeout" },	\
			    { FW_EXIT_RESET, "reset" },		\
			    { FW_EXIT_ABORT, "abort" },		\
			    { FW_EXIT_OTHER, "other" })

/*
 * @skc: the object that holds the connection at its end (the full socket,
 * or the timewait socket: both start with a struct sock_common); @tw: a
 * timewait socket took over from the full one on the way.
 */
TRACE_EVENT(lifetime,
	    TP_PROTO(const struct sock_common *skc, u64 lifetime_us, int reason,
		     bool tw),
	    TP_ARGS(skc, lifetime_us, reason, tw),
	    TP_STRUCT__entry(__field(u32, netns)
			     __field(u64, netns_cookie)
			     __field(u16, family)
			     __field(u16, sport)
			     __field(u16, dport)
			     __array(u8, saddr, FW_SKC_ADDR_LEN)
			     __array(u8, daddr, FW_SKC_ADDR_LEN)
			     __field(u64, lifetime_us)
			     __field(int, reason)
			     __field(bool, tw)),
	    TP_fast_assign(const struct net *net = read_pnet(&skc->skc_net);

			   __entry->netns = net->ns.inum;
			   __entry->netns_cookie = fw_net_cookie(net);
			   __entry->family = skc->skc_family;
			   __entry->sport = skc->skc_num;
			   __entry->dport = ntohs(skc->skc_dport);
			   fw_skc_addrs(skc, __entry->saddr, __entry->daddr);
			   __entry->lifetime_us = lifetime_us;
			   __entry->reason = reason;
			   __entry->tw = tw;),
	    TP_printk("netns=%u cookie=%llu family=%s saddr=%pISc daddr=%pISc sport=%u dport=%u lifetime_us=%llu reason=%s holders=%s",
		      __entry->netns, __entry->netns_cookie,
		      __entry->family == AF_INET6 ? "AF_INET6" : "AF_INET",
		      __entry->saddr, __entry->daddr, __entry->sport,
		      __entry->dport, __entry->lifetime_us,
		      fw_show_exit(__entry->reason),
		      __entry->tw ? "sk,tw" : "sk")
);

#endif /* _FINWAIT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fw_trace
#include <trace/define_trace.h>
