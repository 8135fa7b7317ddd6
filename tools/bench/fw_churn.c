// SPDX-License-Identifier: GPL-2.0
/*
 * fw_churn: loopback connection churn for make bench, and mass FIN-WAIT-2.
 *
 *   fw_churn churn SECONDS PAIRS PORT
 *	PAIRS client/server process pairs for SECONDS. A client binds a source
 *	address spread over 127.0.0.0/8 (IP_BIND_ADDRESS_NO_PORT: the port is
 *	picked at connect()), connects, sends a byte and closes first; its
 *	server reads to EOF, acknowledges the client's FIN at once
 *	(TCP_QUICKACK: after a FIN the kernel would delay that ACK and send it
 *	with the server's own FIN, and the client would go from FIN-WAIT-1
 *	through FIN-WAIT-2 to TIME-WAIT on that one segment, its full socket
 *	never handed over), then closes. Every client socket so passes
 *	FIN-WAIT-2 and the timewait handoff and ends by the peer's FIN.
 *	Pair i runs on CPU i (client and server alike): a wakeup across vCPUs
 *	under TCG costs more, and more irregularly, than the work measured.
 *	Prints "connections N seconds S rate R".
 *
 *   fw_churn hold N PORT
 *	N connections whose server never closes (the stopped peer, at scale):
 *	clients close at once, and sit in FIN-WAIT-2 until tcp_fin_timeout.
 *	Prints "held N", then waits for SIGTERM (the server sockets must stay).
 *
 *   fw_churn read N FILE
 *	Reads FILE whole N times (open, read to EOF, close); prints the
 *	median, mean, minimum and 90th percentile of one read in microseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static void die(const char *what)
{
	fprintf(stderr, "fw_churn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(int port, int backlog)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog))
		die("listen");
	return fd;
}

/* Client @i's source: 127.x.y.z, never 127.0.0.0 or a .0/.255 host part. */
static int dial(int port, unsigned long i)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1, fd;

	src.sin_addr.s_addr = htonl(0x7f000000 | (1 + i % 250) << 16 |
				    (1 + i / 250 % 250) << 8 | (1 + i / 62500 % 250));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		die("connect");
	return fd;
}

static void churn_server(int lfd)
{
	char buf[16];
	int fd, one = 1;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		if (setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)))
			die("TCP_QUICKACK");
		close(fd);
	}
}

/* One pair: the client's count goes up the pipe when time is up. */
static void churn_pair(int port, double until, unsigned long base, int cpu, int out)
{
	unsigned long n = 0;
	cpu_set_t set;
	pid_t srv;
	int lfd;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
	lfd = listener(port, 128);
	srv = fork();
	if (srv < 0)
		die("fork");
	if (!srv)
		churn_server(lfd);
	close(lfd);
	while (now_s() < until) {
		int fd = dial(port, base + n);

		if (write(fd, "x", 1) != 1)
			die("write");
		close(fd);
		n++;
	}
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	if (write(out, &n, sizeof(n)) != sizeof(n))
		die("pipe");
	_exit(0);
}

static int churn(double seconds, int pairs, int port)
{
	unsigned long total = 0, n;
	double t0 = now_s(), until = t0 + seconds;
	int p[2], i;

	if (pipe(p))
		die("pipe");
	for (i = 0; i < pairs; i++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (!c)
			churn_pair(port + i, until, (unsigned long)i << 24,
				   i % sysconf(_SC_NPROCESSORS_ONLN), p[1]);
	}
	close(p[1]);
	for (i = 0; i < pairs; i++) {
		if (read(p[0], &n, sizeof(n)) != sizeof(n))
			die("a pair failed");
		total += n;
	}
	while (wait(NULL) > 0)
		;
	seconds = now_s() - t0;
	printf("connections %lu seconds %.3f rate %.1f\n", total, seconds, total / seconds);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * N connections to a server that accepts and holds them: a stopped peer
 * N times. The client closes each at once; its socket goes FIN-WAIT-2.
 */
static int hold(unsigned long n, int port)
{
	struct rlimit rl = { n + 64, n + 64 };
	unsigned long i;
	int lfd, fd, *held;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit RLIMIT_NOFILE");
	held = calloc(n, sizeof(*held));
	if (!held)
		die("calloc");
	signal(SIGTERM, on_term);
	lfd = listener(port, 4096);
	for (i = 0; i < n; i++) {
		fd = dial(port, i);
		held[i] = accept(lfd, NULL, NULL);
		if (held[i] < 0)
			die("accept");
		close(fd);
	}
	printf("held %lu\n", n);
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int read_cost(long n, const char *path)
{
	double *t = calloc(n, sizeof(*t)), sum = 0;
	char buf[8192];
	long i;
	int fd;

	if (!t)
		die("calloc");
	for (i = 0; i < n; i++) {
		t[i] = now_s();
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		t[i] = now_s() - t[i];
		sum += t[i];
	}
	qsort(t, n, sizeof(*t), cmp_double);
	printf("reads %ld median_us %.1f mean_us %.1f min_us %.1f p90_us %.1f\n", n,
	       t[n / 2] * 1e6, sum / n * 1e6, t[0] * 1e6, t[n * 9 / 10] * 1e6);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "read"))
		return read_cost(atol(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "churn"))
		return churn(atof(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(strtoul(argv[2], NULL, 10), atoi(argv[3]));
	fprintf(stderr, "usage: fw_churn churn SECONDS PAIRS PORT | hold N PORT | read N FILE\n");
	return 2;
}
