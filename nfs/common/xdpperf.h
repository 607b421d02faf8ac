/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by every xdpperf C program (NFs and the built-in tester):
 * entering the test namespace, CPU pinning, the one-line JSON protocol the
 * Python side speaks over stdin/stdout, and orderly shutdown.
 *
 * Protocol: the program prints one JSON object per line on stdout; the first
 * is {"event":"ready",...} once it is attached and running. It reads one
 * command per line on stdin and answers each with one JSON line. "quit", EOF
 * on stdin (the parent died) or SIGINT/SIGTERM make it detach and exit, so a
 * killed test run never leaves a program attached behind it.
 * Errors go to stderr as "<program>: <problem> (<fix>)" with exit status 2.
 */
#ifndef XDPPERF_H
#define XDPPERF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define XP_EXIT_USAGE 2

extern const char *xp_progname;
/* Set when the program must stop: read it in every loop. */
extern atomic_bool xp_stop;

/* Print "<prog>: <message>" on stderr and exit with status 2. */
void xp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Same, appending strerror(errno_value). */
void xp_die_errno(int errno_value, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Enter a network namespace: a name under /run/netns or an absolute path. */
void xp_enter_netns(const char *name_or_path);
/* Pin the calling thread (and threads it creates later) to one CPU; -1 = leave. */
void xp_pin_cpu(int cpu);
/* SIGINT/SIGTERM set xp_stop; SIGPIPE is ignored (a dead parent shows as EOF). */
void xp_install_signals(void);

/* Print one line on stdout (printf-style; the caller writes valid JSON),
 * serialised across threads and flushed at once. */
void xp_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called from the control thread for each command line (newline stripped).
 * It must answer with exactly one xp_emit(). "quit" never reaches it. */
typedef void (*xp_command_fn)(const char *line, void *ctx);
/* Start the thread that reads commands from stdin. */
void xp_control_start(xp_command_fn fn, void *ctx);

/* Monotonic clock in nanoseconds (same clock as bpf_ktime_get_ns). */
uint64_t xp_now_ns(void);
/* Parse helpers that die with a clear message on bad input. */
long long xp_parse_int(const char *what, const char *text, long long min, long long max);
double xp_parse_double(const char *what, const char *text, double min, double max);
unsigned int xp_ifindex(const char *ifname);
/* Bytes this process may still allocate, 0 if unknown: MemAvailable of
 * /proc/meminfo, or less if its memory cgroup or an ancestor's limit is
 * closer (v2 memory.max - memory.current, v1 memory.limit_in_bytes -
 * memory.usage_in_bytes), since BPF maps and our pages are charged to it.
 * *what (if what is not NULL) names the bound for messages: "available
 * memory" or "memory left under the limit of memory cgroup <path>". NFs
 * check their tables against it to fail with a clear message instead of
 * the OOM killer. */
#define XP_MEM_FIX "free memory or raise the memory cgroup's limit"
unsigned long long xp_mem_available(const char **what);

/* A table of `need` bytes set up by parameter `param`=`value`: die naming the
 * fix if it and the *reserved bytes promised to other tables exceed
 * xp_mem_available(), else add it to *reserved. */
void xp_mem_reserve(unsigned long long *reserved, unsigned long long need, const char *param,
		    unsigned int value, const char *table);

#endif
