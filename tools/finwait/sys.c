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
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
/*
 * Sleep @s seconds, or not at all when @s <= 0 (a loop behind its
 * schedule), but let a pending signal in either way: such a loop would
 * otherwise never unblock them.
 */
void fw_sleep_s(double s)
{
	fw_wait(-1, s);
}

/* Is @fd readable within @s seconds? false on a timeout or a signal. */
bool fw_wait_readable(int fd, double s)
{
	return fw_wait(fd, s) == 1;
}

static int ns_cmp(const void *a, const void *b)
{
	const struct fw_ns *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static int ns_add(struct fw_ns **v, size_t *n, size_t *cap, unsigned long ino,
		  const char *name, int pid)
{
	struct fw_ns *e;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;

		e = realloc(*v, c * sizeof(**v));
		if (!e)
			return -ENOMEM;
		*v = e;
		*cap = c;
	}
	e = &(*v)[(*n)++];
	e->ino = ino;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->pid = pid;
	return 0;
}

/*
 * The host's network namespaces: the named ones (/run/netns) and those of
 * every process (/proc/PID/ns/net), one entry per inode, sorted by inode,
 * each with its name if it has one and the lowest PID found in it.
 * Processes we may not look at are left out (not an error).
 */
int fw_list_netns(struct fw_ns **out, size_t *count, char *err, size_t errlen)
{
	struct fw_ns *v = NULL;
	size_t n = 0, cap = 0, i, k;
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	dev_t nsfs;
	long pid;
	DIR *dir;
	int e = 0;

	/* Namespace files live on nsfs: a stale plain file in /run/netns is no namespace. */
	if (stat("/proc/self/ns/net", &st)) {
		e = -errno;
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(-e));
		return e;
	}
	nsfs = st.st_dev;
	dir = opendir("/run/netns");
	while (dir && !e && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		if (!stat(path, &st) && st.st_dev == nsfs)
			e = ns_add(&v, &n, &cap, st.st_ino, d->d_name, 0);
	}
	if (dir)
		closedir(dir);
	dir = opendir("/proc");
	if (!dir && !e)
		e = -errno;
	while (dir && !e && (d = readdir(dir))) {
		if (fw_parse_long(d->d_name, 1, INT32_MAX, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (!stat(path, &st))
			e = ns_add(&v, &n, &cap, st.st_ino, "", pid);
	}
	if (dir)
		closedir(dir);
	if (e) {
		free(v);
		snprintf(err, errlen, "listing network namespaces: %s", strerror(-e));
		return e;
	}
	/* One per inode: the (lexically first) name of a named entry, the lowest PID. */
	qsort(v, n, sizeof(*v), ns_cmp);
	for (i = 0, k = 0; i < n; i++) {
		if (k && v[k - 1].ino == v[i].ino) {
			struct fw_ns *m = &v[k - 1];

			if (v[i].name[0] && (!m->name[0] || strcmp(v[i].name, m->name) < 0))
				memcpy(m->name, v[i].name, sizeof(m->name));
			if (v[i].pid && (!m->pid || v[i].pid < m->pid))
				m->pid = v[i].pid;
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	*count = k;
	return 0;
}

/*
 * The stats file of namespace @ns: through a process in it (/proc/PID/net),
 * else by joining it for the read (its name; CAP_SYS_ADMIN) and coming back.
 */
int fw_read_netns_stats(const struct fw_ns *ns, struct fw_stats *s, char *err,
			size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	int self, fd, e;

	if (ns->pid) {
		/*
		 * Through the process's directory, opened once: if the PID is
		 * reused meanwhile, ns/net and net/ are still of the process
		 * whose namespace was checked (or gone).
		 */
		snprintf(path, sizeof(path), "/proc/%d", ns->pid);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && !fstatat(fd, "ns/net", &st, 0) && st.st_ino == ns->ino) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d/net/finwait_stats", fd);
			e = fw_read_stats(path, s, err, errlen);
			close(fd);
			if (!e || !ns->name[0])
				return e;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	if (!ns->name[0]) {
		snprintf(err, errlen, "its process %d is gone", ns->pid);
		return -ESRCH;
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", ns->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET)) {
		e = -errno;
		snprintf(err, errlen, "cannot enter it (%s): %s%s", path, strerror(-e),
			 e == -EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	} else {
		e = fw_read_stats("/proc/self/net/finwait_stats", s, err, errlen);
		if (setns(self, CLONE_NEWNET)) {
			/* Cannot happen: we came from there. Do not go on elsewhere. */
			perror("finwait: back to our network namespace");
			exit(EXIT_DISAGREE);
		}
	}
	if (self >= 0)
		close(self);
	if (fd >= 0)
		close(fd);
	return e;
}
