// SPDX-License-Identifier: GPL-2.0
/*
 * fw_conn: drive one TCP connection over loopback through the steps given
 * on the command line, so that a test can put its client side in
 * FIN-WAIT-2 and end it in a chosen way. The "server" is an accepted socket
 * in this same process that never calls close() unless told to: for the
 * kernel that is exactly a stopped peer.
 *
 *   fw_conn [-4|-6|-m] [-p PORT] [-a ADDR] STEP...
 *
 *   -a ADDR        the server's address (default loopback), for listen and dial
 *   connect        listen, connect, accept
 *   listen         listen only (a server in another netns)
 *   accept         accept one connection and hold it
 *   dial           connect only (the client of a server in another netns)
 *   linger2 N      TCP_LINGER2 = N on the client (seconds, may be negative)
 *   unread         the server sends a byte the client never reads
 *   shutdown       client shutdown(SHUT_WR)
 *   sport          print "client_port N", the client's local port
 *   close          client close()
 *   sleep S        sleep S seconds (decimal)
 *   peer-close     server close()
 *   peer-reset     server close() with SO_LINGER {1, 0}: an RST
 *   peer-send      server sends a byte
 *   churn N        N more connections, each ended by the server's close
 *   keepalive N    SO_KEEPALIVE on the client: first probe after N s idle,
 *                  then every second, 2 probes unanswered end it
 *   disconnect     client connect(AF_UNSPEC)
 *   wait PATH      wait until PATH exists (a test's go-ahead)
 *
 * Every step prints "<step> <CLOCK_REALTIME seconds>" when done, to match
 * bash's $EPOCHREALTIME. Exit: 0, or 1 with a message on the first failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int family = AF_INET, mapped, port = 5000;
static const char *server_addr;
static int lfd = -1, cfd = -1, sfd = -1;

static void die(const char *what)
{
	fprintf(stderr, "fw_conn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void stamp(const char *step)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%s %ld.%06ld\n", step, (long)ts.tv_sec, ts.tv_nsec / 1000);
	fflush(stdout);
}

static socklen_t addr(struct sockaddr_storage *ss, int server)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (server_addr && inet_pton(AF_INET, server_addr, &a->sin_addr) != 1)
			die("bad -a address");
		return sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	if (server_addr) {
		if (inet_pton(AF_INET6, server_addr, &a6->sin6_addr) != 1)
			die("bad -a address");
	} else if (mapped && !server)
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6->sin6_addr);
	else if (mapped)
		a6->sin6_addr = in6addr_any;
	else
		a6->sin6_addr = in6addr_loopback;
	return sizeof(*a6);
}

static void do_listen(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, 1);
	int one = 1;

	lfd = socket(family, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 4096))
		die("bind/listen");
}

static void do_dial(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, 0);

	cfd = socket(family, SOCK_STREAM, 0);
	if (cfd < 0)
		die("socket");
	if (connect(cfd, (struct sockaddr *)&ss, len))
		die("connect");
}

static void do_accept(void)
{
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0)
		die("accept");
}

static void do_connect(void)
{
	do_dial();
	do_accept();
}

static void send_byte(int fd)
{
	if (send(fd, "x", 1, 0) != 1)
		die("send");
}

static void peer_reset(void)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(sfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		die("SO_LINGER");
	close(sfd);
	sfd = -1;
}

static void keepalive(int idle)
{
	int one = 1, intvl = 1, cnt = 2;

	if (setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(cfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(cfd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ||
	    setsockopt(cfd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)))
		die("keepalive");
}

static void disconnect(void)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (connect(cfd, &sa, sizeof(sa)))
		die("connect(AF_UNSPEC)");
}

static void wait_for(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct stat st;

	while (stat(path, &st))
		nanosleep(&ts, NULL);
}

static void churn(long n)
{
	char c;

	while (n-- > 0) {
		do_connect();
		if (close(cfd))
			die("close");
		/* The server sees EOF, then closes: the client ends by peer FIN. */
		if (recv(sfd, &c, 1, 0) != 0)
			die("recv EOF");
		close(sfd);
	}
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-4"))
			family = AF_INET;
		else if (!strcmp(argv[i], "-6"))
			family = AF_INET6;
		else if (!strcmp(argv[i], "-m"))
			family = AF_INET6, mapped = 1;
		else if (!strcmp(argv[i], "-p") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-a") && i + 1 < argc)
			server_addr = argv[++i];
		else
			goto usage;
	}
	for (; i < argc; i++) {
		const char *s = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(s, "connect")) {
			do_listen();
			do_connect();
		} else if (!strcmp(s, "listen")) {
			do_listen();
		} else if (!strcmp(s, "accept")) {
			do_accept();
		} else if (!strcmp(s, "dial")) {
			do_dial();
		} else if (!strcmp(s, "linger2") && arg) {
			int v = atoi(arg);

			if (setsockopt(cfd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)))
				die("TCP_LINGER2");
			i++;
		} else if (!strcmp(s, "unread") || !strcmp(s, "peer-send")) {
			send_byte(sfd);
		} else if (!strcmp(s, "sport")) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);

			if (getsockname(cfd, (struct sockaddr *)&ss, &len))
				die("getsockname");
			/* The port is at the same place in both families. */
			printf("client_port %u\n",
			       ntohs(((struct sockaddr_in *)&ss)->sin_port));
		} else if (!strcmp(s, "shutdown")) {
			if (shutdown(cfd, SHUT_WR))
				die("shutdown");
		} else if (!strcmp(s, "close")) {
			if (close(cfd))
				die("close");
			cfd = -1;
		} else if (!strcmp(s, "sleep") && arg) {
			double d = atof(arg);
			struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

			nanosleep(&ts, NULL);
			i++;
		} else if (!strcmp(s, "peer-close")) {
			close(sfd);
			sfd = -1;
		} else if (!strcmp(s, "peer-reset")) {
			peer_reset();
		} else if (!strcmp(s, "keepalive") && arg) {
			keepalive(atoi(arg));
			i++;
		} else if (!strcmp(s, "disconnect")) {
			disconnect();
		} else if (!strcmp(s, "wait") && arg) {
			wait_for(arg);
			i++;
		} else if (!strcmp(s, "churn") && arg) {
			if (lfd < 0)
				do_listen();
			churn(atol(arg));
			i++;
		} else {
			goto usage;
		}
		stamp(s);
	}
	return 0;
usage:
	fprintf(stderr, "usage: fw_conn [-4|-6|-m] [-p PORT] STEP...\n");
	return 2;
}
