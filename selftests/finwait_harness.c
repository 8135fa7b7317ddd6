// SPDX-License-Identifier: GPL-2.0
/*
 * FIN-WAIT-2 paths over IPv4, IPv6 and v4-mapped IPv6, with the kernel's
 * kselftest harness (taken from the kernel source at build time). Each test
 * runs in a network namespace of its own (unshare in FIXTURE_SETUP, lo up,
 * tcp_fin_timeout 2 s) and asserts that netns's /proc/net/finwait_stats:
 * the exit reason, entered/current, and the lifetime against CLOCK_MONOTONIC
 * within TOL_MS.
 *
 *   this process, netns of its own
 *   client socket --- lo --- accepted "server" socket (never closed unless
 *                            the test says: a stopped peer)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define STATS		"/proc/self/net/finwait_stats"
#define FIN_TIMEOUT_S	2
#define TOL_MS		400
#define PORT		5555

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* One value of this netns's stats file; -1 when missing. */
static long long stat_get(const char *name)
{
	char key[64];
	long long v, found = -1;
	FILE *f = fopen(STATS, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return ret;
}

FIXTURE(fw)
{
	int lfd, cfd, sfd;
};

FIXTURE_VARIANT(fw)
{
	int family;
	const char *client;	/* address the client connects to */
	const char *server;	/* address the listener binds */
};

FIXTURE_VARIANT_ADD(fw, ip4)
{
	.family = AF_INET, .client = "127.0.0.1", .server = "127.0.0.1",
};

FIXTURE_VARIANT_ADD(fw, ip6)
{
	.family = AF_INET6, .client = "::1", .server = "::1",
};

FIXTURE_VARIANT_ADD(fw, v4mapped)
{
	.family = AF_INET6, .client = "::ffff:127.0.0.1", .server = "::",
};

static socklen_t make_addr(int family, const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(PORT);
		inet_pton(AF_INET, ip, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (void *)ss;

	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(PORT);
	inet_pton(AF_INET6, ip, &a6->sin6_addr);
	return sizeof(*a6);
}

FIXTURE_SETUP(fw)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16];

	if (geteuid())
		SKIP(return, "must run as root");
	if (access("/proc/net/finwait_stats", R_OK))
		SKIP(return, "finwait_stats is not loaded");
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, lo_up());
	snprintf(buf, sizeof(buf), "%d", FIN_TIMEOUT_S);
	ASSERT_EQ(0, write_file("/proc/sys/net/ipv4/tcp_fin_timeout", buf));
	ASSERT_EQ(0, stat_get("entered"));

	self->lfd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, self->lfd);
	len = make_addr(variant->family, variant->server, &ss);
	ASSERT_EQ(0, bind(self->lfd, (void *)&ss, len));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->cfd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, self->cfd);
	len = make_addr(variant->family, variant->client, &ss);
	ASSERT_EQ(0, connect(self->cfd, (void *)&ss, len));
	self->sfd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->sfd);
}

FIXTURE_TEARDOWN(fw)
{
	/* The netns goes with this test's process. */
}

/*
 * Wait for the one lifetime to complete; return its length in ms (from the
 * module) and check it against the wall clock since @t0 (ms) and @want.
 */
static long long wait_lifetime(struct __test_metadata *_metadata,
			       long long t0, const char *reason, long long want)
{
	long long deadline = now_ms() + want + 10000, got, seen;
	char name[32];

	while (stat_get("completed") < 1) {
		ASSERT_LT(now_ms(), deadline) TH_LOG("no completed lifetime");
		sleep_ms(20);
	}
	seen = now_ms() - t0;
	snprintf(name, sizeof(name), "left_%s", reason);
	EXPECT_EQ(1, stat_get(name)) TH_LOG("not %s", name);
	EXPECT_EQ(1, stat_get("entered"));
	EXPECT_EQ(0, stat_get("current"));
	got = stat_get("lifetime_max_us") / 1000;
	TH_LOG("%s: module %lld ms, wall clock <= %lld ms, expected %lld ms",
	       reason, got, seen, want);
	EXPECT_LE(got, seen + 50);
	EXPECT_LE(llabs(got - want), TOL_MS);
	return got;
}

/* Older harnesses (6.1) run the test body after a SKIP in FIXTURE_SETUP. */
#define RETURN_IF_SKIPPED() do { if (_metadata->skip) return; } while (0)

static void close_fd(int *fd)
{
	close(*fd);
	*fd = -1;
}

TEST_F(fw, timeout)
{
	long long t0 = now_ms();

	RETURN_IF_SKIPPED();
	close_fd(&self->cfd);
	wait_lifetime(_metadata, t0, "timeout", FIN_TIMEOUT_S * 1000);
}

TEST_F(fw, peer_fin)
{
	long long t0 = now_ms();

	RETURN_IF_SKIPPED();
	close_fd(&self->cfd);
	sleep_ms(500);
	close_fd(&self->sfd);
	wait_lifetime(_metadata, t0, "peer_fin", 500);
}

TEST_F(fw, peer_reset)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	long long t0 = now_ms();

	RETURN_IF_SKIPPED();
	close_fd(&self->cfd);
	sleep_ms(500);
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	close_fd(&self->sfd);
	wait_lifetime(_metadata, t0, "reset", 500);
}

TEST_F(fw, data_after_close)
{
	long long t0 = now_ms();

	RETURN_IF_SKIPPED();
	close_fd(&self->cfd);
	sleep_ms(500);
	ASSERT_EQ(1, send(self->sfd, "x", 1, 0));
	wait_lifetime(_metadata, t0, "abort", 500);
}

TEST_F(fw, linger2_negative)
{
	long long t0 = now_ms();
	int v = -1;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)));
	close_fd(&self->cfd);
	wait_lifetime(_metadata, t0, "abort", 0);
}

TEST_F(fw, linger2_overrides)
{
	long long t0 = now_ms();
	int v = 1;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)));
	close_fd(&self->cfd);
	wait_lifetime(_metadata, t0, "timeout", 1000);
}

TEST_F(fw, half_close_then_close)
{
	long long t0 = now_ms(), t_close;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	sleep_ms(FIN_TIMEOUT_S * 1000 + 500);
	/* No timer while the process holds the socket. */
	EXPECT_EQ(1, stat_get("current"));
	EXPECT_EQ(0, stat_get("completed"));
	t_close = now_ms();
	close_fd(&self->cfd);
	wait_lifetime(_metadata, t0, "timeout",
		      t_close - t0 + FIN_TIMEOUT_S * 1000);
}

TEST_HARNESS_MAIN
