// SPDX-License-Identifier: GPL-2.0
/* See nf.h. The life of an NF process (nf_main):
 *   parse args -> enter netns -> pin -> open object, set nf_cfg and the mode
 *   -> load -> sockets into xsks_map -> attach with a BPF link -> start the
 *   control thread -> "ready" -> loop (or wait) until stop -> close all.
 * Sockets go into xsks_map before the program is attached, so the first
 * frame already finds its socket. Nothing is pinned: the link, the maps and
 * the sockets are file descriptors and die with the process, even on kill -9.
 *
 * The protocol (xdpperf.h) as the NF speaks it: the ready line (emit_ready)
 * and one command, "stats" (emit_stats); anything else is answered with
 * {"error":...}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "nf_runtime.h"

#define NF_STOP_POLL_MS 50 /* how often a mode without a loop looks at xp_stop */
#define NF_MAX_CPUS_SHOWN 256 /* per-CPU lists have at most this many CPUs */

/* The verdict counters' names in every answer, in enum nf_counter order. */
static const char *const nf_counter_names[NF_COUNTERS] = {
	[NF_RX] = "rx", [NF_DROP] = "drop", [NF_TX] = "tx", [NF_PASS] = "pass",
	[NF_REDIRECT] = "redirect", [NF_ABORTED] = "aborted",
};

/* --- stats --------------------------------------------------------------- */

/* The per-CPU kernel counters (calloc'ed, *ncpus of them; NULL if they
 * cannot be read) and their sum. */
static struct nf_stats *read_kernel_stats(struct nf_state *s, struct nf_stats *sum, int *ncpus)
{
	struct nf_stats *percpu;
	__u32 key = 0;
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0)
		return NULL;
	percpu = calloc(*ncpus, sizeof(*percpu));
	if (!percpu || bpf_map_lookup_elem(s->stats_fd, &key, percpu)) {
		free(percpu);
		return NULL;
	}
	for (cpu = 0; cpu < *ncpus; cpu++) {
		for (i = 0; i < NF_COUNTERS; i++)
			sum->cnt[i] += percpu[cpu].cnt[i];
		sum->xdp_in_nf_task += percpu[cpu].xdp_in_nf_task;
		sum->xdp_elsewhere += percpu[cpu].xdp_elsewhere;
	}
	return percpu;
}

/* "key":{"rx":..,"drop":..,...} of one world's verdicts (key NULL: the
 * members only, into the object already open). */
static void counts_json(struct json *j, const char *key, const __u64 *cnt)
{
	int i;

	if (key)
		json_open(j, key);
	for (i = 0; i < NF_COUNTERS; i++)
		json_u64(j, nf_counter_names[i], cnt[i]);
	if (key)
		json_close(j);
}

static __u64 load(_Atomic __u64 *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static void emit_stats(struct nf_state *s)
{
	__u64 user[NF_COUNTERS], total[NF_COUNTERS];
	struct nf_stats sum, *percpu;
	int c, i, ncpus, shown;
	__u64 runs;
	struct json j;

	percpu = read_kernel_stats(s, &sum, &ncpus);
	shown = !percpu ? 0 : ncpus < NF_MAX_CPUS_SHOWN ? ncpus : NF_MAX_CPUS_SHOWN;
	for (i = 0; i < NF_COUNTERS; i++) {
		user[i] = load(&s->counters.cnt[i]);
		total[i] = sum.cnt[i] + user[i];
	}
	runs = sum.xdp_in_nf_task + sum.xdp_elsewhere;

	json_init(&j);
	json_open(&j, NULL);
	counts_json(&j, NULL, total);
	if (s->has_port)
		xsk_port_stats_json(&s->port, &j, "xsk");
	else
		json_null(&j, "xsk");
	/* Where the XDP program ran (see nf_shared.h): the share run by the
	 * NF's own syscalls is what tells a *-sysc mode really busy-polls. */
	json_u64(&j, "xdp_in_nf_task", sum.xdp_in_nf_task);
	json_u64(&j, "xdp_elsewhere", sum.xdp_elsewhere);
	json_open_array(&j, "xdp_by_cpu");
	for (c = 0; c < shown; c++)
		json_u64(&j, NULL, percpu[c].xdp_in_nf_task + percpu[c].xdp_elsewhere);
	json_close_array(&j);
	/* Every XDP verdict counter per CPU: where the kernel side did its work. */
	json_open(&j, "xdp_per_cpu");
	for (i = 0; i < NF_COUNTERS; i++) {
		json_open_array(&j, nf_counter_names[i]);
		for (c = 0; c < shown; c++)
			json_u64(&j, NULL, percpu[c].cnt[i]);
		json_close_array(&j);
	}
	json_close(&j);
	if (runs)
		json_double(&j, "driver_by_syscall_share", (double)sum.xdp_in_nf_task / (double)runs);
	else
		json_null(&j, "driver_by_syscall_share");
	json_int(&j, "napi_id", s->has_port ? xsk_port_napi_id(&s->port) : -1);
	counts_json(&j, "xdp", sum.cnt);
	counts_json(&j, "user", user);
	json_u64(&j, "reinjected", load(&s->counters.reinjected));
	json_u64(&j, "reinject_failed", load(&s->counters.reinject_failed));
	json_u64(&j, "handed_back", load(&s->counters.handed_back));
	json_close(&j);
	xp_emit("%s", json_text(&j));
	json_free(&j);
	free(percpu);
}

static void on_command(const char *line, void *ctx)
{
	struct nf_state *s = ctx;
	struct json j;
	char *message;

	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		xp_emit("{\"error\":\"stopping\"}");
	} else if (strcmp(line, "stats") == 0) {
		emit_stats(s);
	} else {
		json_init(&j);
		json_open(&j, NULL);
		if (asprintf(&message, "unknown command '%s'", line) < 0)
			message = NULL;
		json_str(&j, "error", message ? message : "unknown command");
		json_close(&j);
		xp_emit("%s", json_text(&j));
		json_free(&j);
		free(message);
	}
	pthread_mutex_unlock(&s->lock);
}

static void emit_ready(struct nf_state *s)
{
	const struct nf_args *a = &s->args;
	struct json j;

	json_init(&j);
	json_open(&j, NULL);
	json_str(&j, "event", "ready");
	json_str(&j, "nf", s->ops->name);
	json_str(&j, "mode", a->mode->name);
	json_str(&j, "ifname", a->ifname);
	json_u64(&j, "ifindex", s->ifindex);
	json_u64(&j, "prog_id", s->prog_id);
	json_str(&j, "attach", nf_attaches[a->attach].name);
	json_str(&j, "bind", s->has_port ? nf_binds[a->bind].name : NULL);
	if (s->has_port)
		json_bool(&j, "need_wakeup", a->need_wakeup);
	else
		json_null(&j, "need_wakeup");
	json_u64(&j, "queue", a->queue);
	json_int(&j, "pid", getpid());
	json_int(&j, "cpu", a->cpu);
	json_int(&j, "napi_id", s->has_port ? xsk_port_napi_id(&s->port) : -1);
	/* Where XDP_PASS frames go: the stack itself (XDP), a re-injection
	 * interface, or nowhere (AF_XDP without one: counted and dropped). */
	json_str(&j, "pass_to", a->mode->xdp_logic ? "stack" : a->pass_ifname);
	/* The socket's busy-poll options as in force (see xsk.h); -1 = unknown. */
	if (s->has_port)
		xsk_port_busy_poll_json(&s->port, &j, "busy_poll");
	else
		json_null(&j, "busy_poll");
	if (s->ops->ready_info) {
		json_open(&j, "nf_info");
		s->ops->ready_info(&s->ctx, &j);
		json_close(&j);
	} else {
		json_null(&j, "nf_info");
	}
	json_close(&j);
	xp_emit("%s", json_text(&j));
	json_free(&j);
}

/* --- the loop ------------------------------------------------------------ */

static void open_port(struct nf_state *s)
{
	struct xsk_opts opts = {
		.ifname = s->args.ifname,
		.queue = s->args.queue,
		.bind_flags = nf_bind_flags(s->args.bind, s->args.need_wakeup),
		.wait = s->args.mode->wait,
		.busy_poll_prefer = NF_BUSY_POLL_PREFER,
		.busy_poll_usecs = s->args.busy_poll_usecs,
		.busy_poll_budget = s->args.busy_poll_budget,
	};

	xsk_port_open(&s->port, &opts, s->xsks_fd);
	s->has_port = true;
}

/* xdp-sk modes: the one frame per queue the XDP program handed to the
 * socket goes through the same program again (see nf_shared.h), which now
 * finishes it like every other frame: BPF_PROG_RUN with live frames sends
 * XDP_TX out of the interface and XDP_PASS into its stack, as the driver
 * would. A failed run leaves the frame to user space, counted aborted. */
static void hand_back(struct nf_pkt *pkt, unsigned int n, const void *data)
{
	const struct nf_state *s = data;
	static bool warned;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct xdp_md ctx = {
			.data_end = pkt[i].len,
			.ingress_ifindex = s->ifindex,
			.rx_queue_index = s->args.queue,
		};
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			    .data_in = pkt[i].data,
			    .data_size_in = pkt[i].len,
			    .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx),
			    .repeat = 1,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = 1);

		if (bpf_prog_test_run_opts(s->prog_fd, &opts) == 0) {
			pkt[i].action = NF_HANDED_BACK;
			continue;
		}
		if (!warned)
			fprintf(stderr, "%s: cannot hand a frame back to XDP (BPF_PROG_RUN: %s); counted aborted\n",
				xp_progname, strerror(errno));
		warned = true;
		pkt[i].action = XDP_ABORTED;
	}
}

/* Modes without a socket loop: the XDP program does the work. */
static void wait_for_stop(void)
{
	struct timespec ts = { .tv_nsec = NF_STOP_POLL_MS * 1000000L };

	while (!atomic_load(&xp_stop))
		nanosleep(&ts, NULL);
}

static void teardown(struct nf_state *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	/* Detach first, so no frame is redirected to a closing socket. */
	close(s->link_fd);
	if (s->has_port)
		xsk_port_close(&s->port);
	bpf_object__close(s->obj);
	pthread_mutex_unlock(&s->lock);
}

int nf_main(int argc, char **argv, const struct nf_ops *ops)
{
	static struct nf_state state = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct nf_state *s = &state;
	const struct nf_mode *mode;
	cpu_set_t all_cpus;

	xp_progname = ops->name;
	s->ops = ops;
	nf_parse_args(s, argc, argv);
	mode = s->args.mode;
	s->ctx = (struct nf_ctx){
		.cfg = ops->cfg,
		.mode = mode->name,
		.user_logic = !mode->xdp_logic,
		.ifname = s->args.ifname,
	};
	nf_find_object(s);
	xp_install_signals();
	xp_enter_netns(s->args.netns);
	s->ifindex = xp_ifindex(s->args.ifname);

	/* Pin before allocating, so the UMEM lands on the loop's NUMA node. */
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus))
		xp_die_errno(errno, "cannot read the CPU affinity");
	xp_pin_cpu(s->args.cpu);

	nf_load_object(s);
	if (mode->sockets)
		open_port(s);
	/* Only user-space logic needs help to pass a frame; XDP has XDP_PASS. */
	if (s->has_port && !mode->xdp_logic && s->args.pass_ifname)
		xsk_port_reinject_to(&s->port, s->args.pass_ifname);
	nf_attach(s);

	/* The control thread inherits our affinity: let it run anywhere, so
	 * answering a command never takes the loop's CPU. */
	sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
	xp_control_start(on_command, s);
	xp_pin_cpu(s->args.cpu);

	emit_ready(s);
	if (s->has_port && mode->xdp_logic)
		xsk_port_run(&s->port, mode->wait, hand_back, s, &s->counters);
	else if (s->has_port)
		xsk_port_run(&s->port, mode->wait, ops->batch, ops->cfg, &s->counters);
	else
		wait_for_stop();
	teardown(s);
	return 0;
}
