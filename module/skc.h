/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A connection's two ends from the sock_common its full socket and its
 * timewait socket both start with: for the trace event and
 * /proc/net/finwait_conns. The caller guarantees the object is alive.
 */
#ifndef _FINWAIT_SKC_H
#define _FINWAIT_SKC_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/string.h>
#include <net/sock.h>

/* As sockaddr_in or sockaddr_in6 (ports included), for %pISpc. */
#define FW_SKC_ADDR_LEN	sizeof(struct sockaddr_in6)

static inline void fw_skc_addrs(const struct sock_common *skc, u8 *saddr,
				u8 *daddr)
{
	memset(saddr, 0, FW_SKC_ADDR_LEN);
	memset(daddr, 0, FW_SKC_ADDR_LEN);
#if IS_ENABLED(CONFIG_IPV6)
	if (skc->skc_family == AF_INET6) {
		struct sockaddr_in6 *s = (void *)saddr, *d = (void *)daddr;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(skc->skc_num);
		s->sin6_addr = skc->skc_v6_rcv_saddr;
		d->sin6_family = AF_INET6;
		d->sin6_port = skc->skc_dport;
		d->sin6_addr = skc->skc_v6_daddr;
		return;
	}
#endif
	{
		struct sockaddr_in *s = (void *)saddr, *d = (void *)daddr;

		s->sin_family = AF_INET;
		s->sin_port = htons(skc->skc_num);
		s->sin_addr.s_addr = skc->skc_rcv_saddr;
		d->sin_family = AF_INET;
		d->sin_port = skc->skc_dport;
		d->sin_addr.s_addr = skc->skc_daddr;
	}
}

#endif /* _FINWAIT_SKC_H */
