// SPDX-License-Identifier: GPL-2.0
/* Files, network namespaces and privileges. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "finwait.h"

/* The whole file in one pass of read()s (seq_file: never seek back). */
static int fw_read_file(const char *path, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (!r)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	return n + 1 < len ? (int)n : -EFBIG;
}

/* 0, -ENOENT when the file (the module) is missing, -EINVAL with @err. */
int fw_read_stats(const char *path, struct fw_stats *s, char *err, size_t errlen)
{
	char buf[8192];
	int n;

	n = fw_read_file(path, buf, sizeof(buf));
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-n));
		return n;
	}
	if (fw_parse(buf, s, err, errlen) < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
		return -EINVAL;
	}
	return 0;
}

/*
 * Join the network namespace named by @spec: all digits is a PID
 * (/proc/PID/ns/net), anything else a name from "ip netns" (/run/netns/).
 * Returns 0, or -errno with a message in @err.
 */
int fw_enter_netns(const char *spec, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, e;

	if (!*spec || !strcmp(spec, ".") || !strcmp(spec, "..") || strchr(spec, '/')) {
		snprintf(err, errlen, "bad network namespace name '%s'", spec);
		return -EINVAL;
	}
	if (strspn(spec, "0123456789") == strlen(spec))
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "no network namespace '%s' (%s: %s)", spec,
			 path, strerror(e));
		return -e;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot enter network namespace '%s': %s%s",
			 spec, strerror(e),
			 e == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -e;
	}
	close(fd);
	return 0;
}

/* A fresh network namespace for this process, with lo up. */
int fw_new_netns(char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd, e;

	if (unshare(CLONE_NEWNET) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot create a network namespace: %s",
			 strerror(e));
		return -e;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "cannot bring lo up in the new namespace: %s",
		 strerror(e));
	return -e;
}

/* Is capability @cap in this process's effective set? */
bool fw_has_cap(int cap)
{
	char line[256];
	bool has = false;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long eff;

		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			has = eff >> cap & 1;
			break;
		}
	}
	fclose(f);
	return has;
}

int fw_sysctl_get(const char *path, long *val)
{
	char buf[64], *end;
	int n;

	n = fw_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	errno = 0;
	*val = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

int fw_sysctl_set(const char *path, long val)
{
	char buf[32];
	int fd, n, e = 0;
	ssize_t w;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", val);
	w = write(fd, buf, n);
	if (w != n)
		e = w < 0 ? -errno : -EIO;
	close(fd);
	return e;
}

double fw_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile sig_atomic_t fw_interrupted;
static const int fw_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static sigset_t fw_waitmask;	/* the mask to wait with: fw_sigs let through */
static bool fw_caught;

static void on_signal(int sig)
{
	fw_interrupted = sig;
}

/*
 * Ctrl+C and its kin set fw_interrupted. They stay blocked except inside
 * fw_sleep_s() and fw_wait_readable(), so none can land between a check of
 * the flag and a wait and go unnoticed. SIGPIPE is ignored: an output
 * closed early (| head) must not skip the clean-up.
 */
void fw_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < ARRAY_SIZE(fw_sigs); i++) {
		sigaction(fw_sigs[i], &sa, NULL);
		sigaddset(&block, fw_sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, &fw_waitmask);
	for (i = 0; i < ARRAY_SIZE(fw_sigs); i++)
		sigdelset(&fw_waitmask, fw_sigs[i]);
	fw_caught = true;
}

/* In a child: the terminal's signals are the parent's business. */
void fw_child_signals(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fw_sigs); i++)
		signal(fw_sigs[i], fw_sigs[i] == SIGTERM ? SIG_DFL : SIG_IGN);
	signal(SIGPIPE, SIG_DFL);
	if (fw_caught)
		sigprocmask(SIG_SETMASK, &fw_waitmask, NULL);
}

static int fw_wait(int fd, double s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts;

	if (s < 0)
		s = 0;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (time_t)s) * 1e9);
	return ppoll(&p, fd >= 0, &ts, fw_caught ? &fw_waitmask : NULL);
}

/* Sleep @s seconds; returns early on a signal. */
void fw_sleep_s(double s)
{
	if (s > 0)
		fw_wait(-1, s);
}

/* Is @fd readable within @s seconds? false on a timeout or a signal. */
bool fw_wait_readable(int fd, double s)
{
	return fw_wait(fd, s) == 1;
}
