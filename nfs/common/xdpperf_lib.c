// SPDX-License-Identifier: GPL-2.0
/* See xdpperf.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xdpperf.h"

const char *xp_progname = "xdpperf";
atomic_bool xp_stop;

static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;

void xp_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", xp_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(XP_EXIT_USAGE);
}

void xp_die_errno(int errno_value, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", xp_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno_value < 0 ? -errno_value : errno_value));
	exit(XP_EXIT_USAGE);
}

void xp_enter_netns(const char *name_or_path)
{
	char path[512];
	int fd;

	if (!name_or_path || !*name_or_path)
		return;
	if (name_or_path[0] == '/')
		snprintf(path, sizeof(path), "%s", name_or_path);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name_or_path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		xp_die_errno(errno, "network namespace %s not found (create the testbed first)", path);
	if (setns(fd, CLONE_NEWNET) < 0)
		xp_die_errno(errno, "cannot enter network namespace %s (run as root)", path);
	close(fd);
}

void xp_pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		xp_die_errno(errno, "cannot pin to CPU %d (is it online? see nproc)", cpu);
}

static void on_stop_signal(int sig)
{
	(void)sig;
	atomic_store(&xp_stop, true);
}

void xp_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void xp_emit(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&emit_lock);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&emit_lock);
}

struct control {
	xp_command_fn fn;
	void *ctx;
};

static void *control_thread(void *arg)
{
	struct control *control = arg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (strcmp(line, "quit") == 0)
			break;
		control->fn(line, control->ctx);
	}
	free(line);
	/* EOF means the parent went away: stop like on SIGTERM. */
	atomic_store(&xp_stop, true);
	return NULL;
}

void xp_control_start(xp_command_fn fn, void *ctx)
{
	static struct control control;
	pthread_t tid;
	int err;

	control.fn = fn;
	control.ctx = ctx;
	err = pthread_create(&tid, NULL, control_thread, &control);
	if (err)
		xp_die_errno(err, "cannot start the control thread");
	pthread_detach(tid);
}

uint64_t xp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long long xp_parse_int(const char *what, const char *text, long long min, long long max)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 0);
	if (errno || end == text || *end || value < min || value > max)
		xp_die("bad %s '%s' (expected an integer from %lld to %lld)", what, text, min, max);
	return value;
}

double xp_parse_double(const char *what, const char *text, double min, double max)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(value) || value < min || value > max)
		xp_die("bad %s '%s' (expected a number from %g to %g)", what, text, min, max);
	return value;
}

unsigned int xp_ifindex(const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex)
		xp_die("interface %s not found in this network namespace (check --ifname and --netns)",
		       ifname);
	return ifindex;
}

/* Mount point of the hierarchy holding the memory controller, from
 * /proc/self/mountinfo: cgroup v1 with the "memory" option, else cgroup v2
 * (whose root lists "memory" in cgroup.controllers). 0 if found. */
static int memcg_mount(char *mnt, size_t len, bool *v2)
{
	char line[1024], point[512], fstype[64], opts[512], path[600], ctrl[256];
	bool found_v2 = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root point opts [tags] - fstype source superopts */
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", point) != 1 ||
		    sscanf(sep, " - %63s %*s %511s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup") == 0 && strstr(opts, "memory")) {
			snprintf(mnt, len, "%s", point);
			*v2 = false;
			fclose(f);
			return 0;
		}
		if (strcmp(fstype, "cgroup2") == 0 && !found_v2) {
			FILE *c;

			snprintf(path, sizeof(path), "%s/cgroup.controllers", point);
			c = fopen(path, "r");
			if (c && fgets(ctrl, sizeof(ctrl), c) && strstr(ctrl, "memory")) {
				snprintf(mnt, len, "%s", point);
				found_v2 = true;
			}
			if (c)
				fclose(c);
		}
	}
	fclose(f);
	*v2 = found_v2;
	return found_v2 ? 0 : -1;
}

/* This process's cgroup in that hierarchy, from /proc/self/cgroup. */
static int memcg_path(bool v2, char *out, size_t len)
{
	char line[1024], *ctrl, *path;
	FILE *f = fopen("/proc/self/cgroup", "r");
	int err = -1;

	if (!f)
		return -1;
	while (err && fgets(line, sizeof(line), f)) {
		/* hierarchy-id:controllers:path; v2 is "0::path" */
		line[strcspn(line, "\n")] = '\0';
		ctrl = strchr(line, ':');
		path = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctrl++;
		if (v2 ? *ctrl == '\0' : strstr(ctrl, "memory") != NULL) {
			snprintf(out, len, "%s", path);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

static bool read_ull(const char *dir, const char *file, unsigned long long *value)
{
	char path[1200], text[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* "max" (v2) is no limit: sscanf fails on it */
	ok = fgets(text, sizeof(text), f) && sscanf(text, "%llu", value) == 1;
	fclose(f);
	return ok;
}

unsigned long long xp_mem_available(const char **what)
{
	static char cgroup_what[700];
	unsigned long long kib = 0, avail, limit, usage, here, left = ~0ULL;
	char line[128], mnt[512], cg[512], dir[1100], *slash;
	bool v2 = false;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
				break;
		fclose(f);
	}
	avail = kib * 1024;
	if (what)
		*what = "available memory";
	/* BPF maps and our own pages are charged to our memory cgroup: its limit
	 * (and every ancestor's) bounds them too, long before MemAvailable does. */
	if (memcg_mount(mnt, sizeof(mnt), &v2) || memcg_path(v2, cg, sizeof(cg)))
		return avail;
	for (;;) {
		snprintf(dir, sizeof(dir), "%s%s", mnt, strcmp(cg, "/") ? cg : "");
		if (read_ull(dir, v2 ? "memory.max" : "memory.limit_in_bytes", &limit) &&
		    read_ull(dir, v2 ? "memory.current" : "memory.usage_in_bytes", &usage) &&
		    (here = usage < limit ? limit - usage : 0) < left) {
			left = here;
			snprintf(cgroup_what, sizeof(cgroup_what),
				 "memory left under the limit of memory cgroup %s", cg);
		}
		slash = strrchr(cg, '/');
		if (!slash || slash == cg)
			break;
		*slash = '\0';
	}
	if (left < avail || (!avail && left != ~0ULL)) {
		if (what)
			*what = cgroup_what;
		return left ? left : 1; /* 0 would read as "unknown" */
	}
	return avail;
}

void xp_mem_reserve(unsigned long long *reserved, unsigned long long need, const char *param,
		    unsigned int value, const char *table)
{
	const double mib = 1024.0 * 1024.0;
	const char *what;
	unsigned long long avail = xp_mem_available(&what);

	if (avail && need + *reserved > avail)
		xp_die("%s=%u needs %.0f MiB for the %s, more than the %.0f MiB of %s (fix: lower %s, or %s)",
		       param, value, need / mib, table,
		       (avail - (avail < *reserved ? avail : *reserved)) / mib, what, param,
		       XP_MEM_FIX);
	*reserved += need;
}
