// SPDX-License-Identifier: GPL-2.0
/*
 * One TCP socket's state, timer and time left, as "ss -o" shows them, from
 * NETLINK_SOCK_DIAG: an exact lookup by the 4-tuple (no dump), which finds
 * full sockets and timewait minisockets alike.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "finwait.h"

int fw_diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

/*
 * Look up the socket whose local end is @src:@sport and remote end
 * @dst:@dport (ports in host order). st->state is 0 when there is none.
 */
int fw_diag_lookup(int nl, int family, const void *src, uint16_t sport,
		   const void *dst, uint16_t dport, struct fw_sock_state *st)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = ~0U,
			.id = {
				.idiag_sport = htons(sport),
				.idiag_dport = htons(dport),
				.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
			},
		},
	};
	size_t alen = family == AF_INET ? 4 : 16;
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nlh;
		char buf[8192];
	} rsp;
	struct nlmsghdr *h;
	ssize_t n;
	int len;

	memcpy(req.r.id.idiag_src, src, alen);
	memcpy(req.r.id.idiag_dst, dst, alen);
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&nladdr,
		   sizeof(nladdr)) < 0)
		return -errno;
	do
		n = recv(nl, &rsp, sizeof(rsp), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	len = n;
	for (h = &rsp.nlh; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			/* No such socket: gone. */
			return e->error == -ENOENT ? 0 : e->error;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			st->state = m->idiag_state;
			st->timer = m->idiag_timer;
			st->expires_ms = m->idiag_expires;
			st->retrans = m->idiag_retrans;
			return 0;
		}
	}
	return -EPROTO;
}

const char *fw_tcp_state_name(int state)
{
	static const char *const names[] = {
		[0] = "gone",
		[TCP_ESTABLISHED] = "ESTAB",
		[TCP_SYN_SENT] = "SYN-SENT",
		[TCP_SYN_RECV] = "SYN-RECV",
		[TCP_FIN_WAIT1] = "FIN-WAIT-1",
		[TCP_FIN_WAIT2] = "FIN-WAIT-2",
		[TCP_TIME_WAIT] = "TIME-WAIT",
		[TCP_CLOSE] = "UNCONN",
		[TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[TCP_LAST_ACK] = "LAST-ACK",
		[TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || state >= (int)ARRAY_SIZE(names))
		return "?";
	return names[state];
}

/* ss's names for idiag_timer. */
const char *fw_timer_name(int timer)
{
	static const char *const names[] = {
		"off", "on", "keepalive", "timewait", "persist",
	};

	return timer >= 0 && timer < 5 ? names[timer] : "unknown";
}
