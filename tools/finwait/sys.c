// SPDX-License-Identifier: GPL-2.0
/* Files, network namespaces and privileges. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "finwait.h"

/* The whole file in one pass of read()s (seq_file: never seek back). */
int fw_read_file(const char *path, char *buf, size_t len)
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

void fw_sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	if (s > 0)
		nanosleep(&ts, NULL);
}
