// SPDX-License-Identifier: GPL-2.0
/*
 * What a tcp_set_state-only tracer sees: the kernel's tracepoint
 * sock:inet_sock_set_state (the one bcc's tcpstates and tcplife attach to),
 * read through tracefs for one connection.
 *
 * Nothing global is touched: the event is enabled in a trace instance of
 * our own (instances/finwait-PIDNS-PID), with its own small buffer, the
 * CLOCK_MONOTONIC trace clock and a filter on the connection's family and
 * two ports (tracefs is global: the same ports in another namespace would
 * match too); the instance is removed at the end, and an instance left
 * behind by a run that was killed is removed by the next run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "finwait.h"

#define FW_INSTANCE "finwait-"
#define FW_EVENT "events/sock/inet_sock_set_state"

static const char *const tracefs_roots[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

static int put(const char *dir, const char *file, const char *val)
{
	char path[512];
	ssize_t k, len = strlen(val);
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = write(fd, val, len);
	if (k != len)
		e = k < 0 ? -errno : -EIO;
	close(fd);
	return e;
}

/*
 * Our instance is "finwait-PIDNS-PID": PIDNS the inode of our PID
 * namespace, so that a run in another one (a container) is never taken
 * for a dead one of ours.
 */
static unsigned long pidns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long)st.st_ino;
}

/* Instances of runs in our PID namespace that were killed: their process is gone. */
static void remove_stale(const char *root, unsigned long ns)
{
	char path[512];
	struct dirent *d;
	unsigned long dns;
	DIR *dir;
	int pid, len;

	snprintf(path, sizeof(path), "%s/instances", root);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, FW_INSTANCE "%lu-%d%n", &dns, &pid, &len) != 2 ||
		    d->d_name[len] || dns != ns || pid <= 0 || !kill(pid, 0) || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/instances/%s", root, d->d_name);
		rmdir(path);
	}
	closedir(dir);
}

int fw_trace_start(struct fw_trace *t, int family, uint16_t sport, uint16_t dport)
{
	const char *root = NULL;
	char path[512], filter[96];
	unsigned long ns;
	unsigned int i;
	int e = -ENOENT;

	*t = (struct fw_trace){ 0 };
	for (i = 0; i < ARRAY_SIZE(tracefs_roots) && !root; i++) {
		snprintf(path, sizeof(path), "%s/instances", tracefs_roots[i]);
		if (!access(path, F_OK))
			root = tracefs_roots[i];
		else if (errno == EACCES && e == -ENOENT)
			e = -EACCES;
	}
	if (!root && e == -EACCES) {
		snprintf(t->why, sizeof(t->why),
			 "not permitted to use tracefs (%s: %s; run as root)",
			 tracefs_roots[0], strerror(EACCES));
		return e;
	}
	if (!root) {
		snprintf(t->why, sizeof(t->why),
			 "tracefs is not mounted (mount -t tracefs nodev %s)",
			 tracefs_roots[0]);
		return e;
	}
	ns = pidns_ino();
	remove_stale(root, ns);
	snprintf(t->dir, sizeof(t->dir), "%s/instances/" FW_INSTANCE "%lu-%d", root, ns,
		 (int)getpid());
	e = mkdir(t->dir, 0700) ? -errno : 0;
	/* Left by a killed run whose PID we now have: it is ours to remove. */
	if (e == -EEXIST && !rmdir(t->dir))
		e = mkdir(t->dir, 0700) ? -errno : 0;
	if (e) {
		snprintf(t->why, sizeof(t->why), "cannot create the trace instance %s: %s%s",
			 t->dir, strerror(-e), e == -EACCES || e == -EPERM ? " (run as root)" : "");
		t->dir[0] = '\0';
		return e;
	}
	snprintf(path, sizeof(path), "%s/" FW_EVENT, t->dir);
	if (access(path, F_OK)) {
		snprintf(t->why, sizeof(t->why),
			 "this kernel has no sock:inet_sock_set_state tracepoint (4.16 and later do)");
		e = -ENOENT;
		goto fail;
	}
	/* 16 KiB a CPU: a connection makes a handful of events. */
	put(t->dir, "buffer_size_kb", "16");
	/* Timestamps on the clock of fw_now_s(); without it, deltas only. */
	t->mono = !put(t->dir, "trace_clock", "mono");
	snprintf(filter, sizeof(filter), "family == %d && sport == %u && dport == %u",
		 family, sport, dport);
	e = put(t->dir, FW_EVENT "/filter", filter);
	if (!e)
		e = put(t->dir, FW_EVENT "/enable", "1");
	if (e) {
		snprintf(t->why, sizeof(t->why), "cannot enable sock:inet_sock_set_state in %s: %s",
			 t->dir, strerror(-e));
		goto fail;
	}
	t->on = true;
	return 0;
fail:
	rmdir(t->dir);
	t->dir[0] = '\0';
	return e;
}

int fw_trace_read(struct fw_trace *t, struct fw_tp_event *ev, int max)
{
	char path[512], line[1024];
	int n = 0;
	FILE *f;

	if (!t->on || !t->dir[0])
		return 0;
	snprintf(path, sizeof(path), "%s/trace", t->dir);
	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		snprintf(t->why, sizeof(t->why), "cannot read %s/trace: %s", t->dir,
			 strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && n < max && !fw_trace_parse_line(line, &ev[n]))
			n++;
	fclose(f);
	return n;
}

void fw_trace_stop(struct fw_trace *t)
{
	if (!t->dir[0])
		return;
	put(t->dir, FW_EVENT "/enable", "0");
	rmdir(t->dir);
	t->dir[0] = '\0';
}
