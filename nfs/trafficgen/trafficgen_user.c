// SPDX-License-Identifier: GPL-2.0
/* Built-in traffic generator of xdpperf, run on the tester side.
 *
 * It attaches xdp_rx to the tester's interface (to count returning frames)
 * and offers traffic by running xdp_gen with BPF_PROG_RUN in live-frames
 * mode: the kernel builds real frames from a template and xdp_gen paces
 * and redirects them out of the interface. One PROG_RUN call costs tens of
 * milliseconds to set up, so a trial is one long call, not many short ones.
 *
 * Commands (one JSON line answers each; see common/xdpperf.h):
 *   packet <hex>                    frame template (crafted by the caller)
 *   trial <rate_pps> <seconds> [drain_ms]   offer traffic; rate 0 = flat out
 *   stats                           cumulative receive counters
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trafficgen.h"
#include "xdpperf.h"

#define MAX_FRAME 1518
/* Flat-out trials start with a probe this long to learn the rate. */
#define PROBE_FRAMES (1u << 17)

struct generator {
	struct bpf_object *obj;
	struct bpf_link *rx_link;
	int gen_fd;
	int rx_stats_fd;
	struct gen_ctl *ctl; /* the program's .bss, mmapped by libbpf */
	unsigned int ifindex;
	unsigned char frame[MAX_FRAME];
	size_t frame_len;
	int ncpus;
	__u32 stamp_off;
};

static void read_rx(struct generator *gen, __u64 out[RX_COUNTERS])
{
	__u64 values[gen->ncpus];
	__u32 key;
	int cpu;

	for (key = 0; key < RX_COUNTERS; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(gen->rx_stats_fd, &key, values))
			continue;
		for (cpu = 0; cpu < gen->ncpus; cpu++)
			out[key] += values[cpu];
	}
}

/* Batch size trades pacing precision for speed: frames of one batch leave
 * together at its end, so keep a batch under ~20 us of schedule. */
static __u32 batch_for_rate(double rate)
{
	double frames = rate * 20e-6;

	if (rate <= 0 || frames >= 64)
		return 64;
	return frames < 1 ? 1 : (__u32)frames;
}

/* One PROG_RUN call of at most `repeat` frames; -errno on failure. */
static int run_once(struct generator *gen, __u32 repeat, __u32 batch)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = gen->frame,
		.data_size_in = gen->frame_len,
		.repeat = repeat,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = batch,
	);
	int err = bpf_prog_test_run_opts(gen->gen_fd, &opts);

	return err ? -errno : 0;
}

static void do_trial(struct generator *gen, double rate, double seconds, double drain_ms)
{
	struct gen_ctl *ctl = gen->ctl;
	__u64 rx_before[RX_COUNTERS], rx_after[RX_COUNTERS], prev = 0;
	__u64 duration_ns = (__u64)(seconds * 1e9), wall_start, deadline, target, now;
	__u32 batch = batch_for_rate(rate), calls = 0;
	int err = 0;

	if (!gen->frame_len) {
		xp_emit("{\"error\":\"no packet template: send 'packet <hex>' first\"}");
		return;
	}
	/* Flat out has no schedule: cap by count, learn the rate, then size
	 * the remaining call to end at the requested duration. */
	target = rate > 0 ? (__u64)(rate * seconds + 0.5) : ~0ull;
	memset(ctl, 0, sizeof(*ctl));
	ctl->interval_ns = rate > 0 ? (__u64)(1e9 / rate) : 0;
	ctl->target = target;
	ctl->max_lag_ns = ctl->interval_ns * 64 > 200000 ? ctl->interval_ns * 64 : 200000;
	ctl->ifindex = gen->ifindex;
	ctl->stamp_off = gen->stamp_off;
	read_rx(gen, rx_before);
	wall_start = xp_now_ns();
	while (!atomic_load(&xp_stop)) {
		__u64 remaining, elapsed, before;
		__u32 repeat;

		now = xp_now_ns();
		elapsed = ctl->start_ns ? now - ctl->start_ns : 0;
		if (ctl->sent >= target || (ctl->start_ns && elapsed >= duration_ns))
			break;
		if (rate > 0) {
			remaining = target - ctl->sent;
		} else if (!ctl->sent || ctl->last_ns <= ctl->start_ns) {
			remaining = PROBE_FRAMES;
		} else {
			double achieved = ctl->sent * 1e9 / (double)(ctl->last_ns - ctl->start_ns);

			remaining = (__u64)(achieved * (duration_ns - elapsed) / 1e9) + 1;
		}
		repeat = remaining > 0xffffffffull ? 0xffffffffu : (__u32)remaining;
		/* The program stops at the deadline by itself only when paced
		 * (target); flat out relies on the count sized above. */
		before = ctl->sent;
		err = run_once(gen, repeat, batch);
		calls++;
		if (err)
			break;
		/* Only a paced wait longer than bpf_loop allows may send nothing. */
		if (ctl->sent == before && !ctl->idle) {
			err = -EIO;
			break;
		}
	}
	/* Wait until returning frames stop arriving, at most drain_ms. */
	deadline = xp_now_ns() + (__u64)(drain_ms * 1e6);
	for (;;) {
		read_rx(gen, rx_after);
		now = xp_now_ns();
		if (now >= deadline || (rx_after[RX_PACKETS] == prev && now > wall_start + 5000000))
			break;
		prev = rx_after[RX_PACKETS];
		usleep(2000);
	}
	if (err && err != -EINTR) {
		xp_emit("{\"error\":\"BPF_PROG_RUN failed: %s (needs Linux >= 5.18 with live frames)\"}",
			err == -EIO ? "the generator sent nothing" : strerror(-err));
		return;
	}
	{
		double span = ctl->last_ns > ctl->start_ns ? (ctl->last_ns - ctl->start_ns) / 1e9 : 0;
		/* n frames span n-1 intervals: rate = (n-1)/span */
		double offered_rate = span > 0 ? (ctl->sent - 1) / span : 0;

		xp_emit("{\"event\":\"trial\",\"intended_rate\":%.3f,\"intended_duration\":%.6f,"
			"\"target\":%llu,\"sent\":%llu,\"offered_duration\":%.9f,\"offered_rate\":%.3f,"
			"\"late\":%llu,\"idle\":%llu,\"calls\":%u,\"batch\":%u,\"interrupted\":%s,"
			"\"wall_seconds\":%.6f,\"start_ns\":%llu,\"last_ns\":%llu,"
			"\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_stamped\":%llu}",
			rate, seconds, (unsigned long long)(rate > 0 ? target : ctl->sent),
			(unsigned long long)ctl->sent,
			span + (rate > 0 ? 1.0 / rate : 0), offered_rate,
			(unsigned long long)ctl->late, (unsigned long long)ctl->idle, calls, batch,
			atomic_load(&xp_stop) ? "true" : "false",
			(xp_now_ns() - wall_start) / 1e9,
			(unsigned long long)ctl->start_ns, (unsigned long long)ctl->last_ns,
			(unsigned long long)(rx_after[RX_PACKETS] - rx_before[RX_PACKETS]),
			(unsigned long long)(rx_after[RX_BYTES] - rx_before[RX_BYTES]),
			(unsigned long long)(rx_after[RX_STAMPED] - rx_before[RX_STAMPED]));
	}
}

static int parse_hex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = 0;
	unsigned int byte;

	while (hex[0] && hex[1]) {
		if (n >= cap || sscanf(hex, "%2x", &byte) != 1)
			return -1;
		out[n++] = (unsigned char)byte;
		hex += 2;
	}
	return hex[0] ? -1 : (int)n;
}

static void on_command(const char *line, void *ctx)
{
	struct generator *gen = ctx;
	double rate, seconds, drain_ms = 100;
	__u64 rx[RX_COUNTERS];
	char hex[2 * MAX_FRAME + 2];
	int n;

	if (sscanf(line, "packet %3037s", hex) == 1) {
		n = parse_hex(hex, gen->frame, sizeof(gen->frame));
		if (n < 60) {
			xp_emit("{\"error\":\"packet must be 60 to %d bytes of hex\"}", MAX_FRAME);
			return;
		}
		gen->frame_len = n;
		xp_emit("{\"event\":\"packet\",\"length\":%d}", n);
	} else if ((n = sscanf(line, "trial %lf %lf %lf", &rate, &seconds, &drain_ms)) >= 2) {
		if (rate < 0 || seconds <= 0 || seconds > 3600 || drain_ms < 0)
			xp_emit("{\"error\":\"trial needs rate >= 0 pps and 0 < seconds <= 3600\"}");
		else
			do_trial(gen, rate, seconds, drain_ms);
	} else if (strcmp(line, "stats") == 0) {
		read_rx(gen, rx);
		xp_emit("{\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_stamped\":%llu}",
			(unsigned long long)rx[RX_PACKETS], (unsigned long long)rx[RX_BYTES],
			(unsigned long long)rx[RX_STAMPED]);
	} else {
		xp_emit("{\"error\":\"unknown command '%s'\"}", line);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: trafficgen --netns NS --ifname IF [--cpu N] [--obj FILE] [--stamp-offset N]\n");
	exit(XP_EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "obj", required_argument, NULL, 'o' },
		{ "stamp-offset", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *netns = NULL, *ifname = NULL;
	char obj_path[4096] = "";
	struct generator gen = {};
	struct bpf_program *gen_prog, *rx_prog;
	struct bpf_map *bss, *rodata;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info), rx_prog_id;
	__u32 stamp_off = 0;
	size_t bss_size;
	int cpu = -1, opt, err, rx_fd;

	xp_progname = "trafficgen";
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'n': netns = optarg; break;
		case 'i': ifname = optarg; break;
		case 'c': cpu = xp_parse_int("--cpu", optarg, 0, 4095); break;
		case 'o': snprintf(obj_path, sizeof(obj_path), "%s", optarg); break;
		case 's': stamp_off = xp_parse_int("--stamp-offset", optarg, 0, MAX_FRAME - 16); break;
		default: usage();
		}
	}
	if (!ifname)
		usage();
	if (!obj_path[0]) {
		/* Default: the BPF object built next to this executable. */
		ssize_t len = readlink("/proc/self/exe", obj_path, sizeof(obj_path) - 32);

		if (len < 0)
			xp_die("cannot find myself (pass --obj)");
		obj_path[len] = '\0';
		strcpy(strrchr(obj_path, '/'), "/trafficgen_kern.o");
	}
	if (geteuid() != 0)
		xp_die("must run as root (loading BPF programs needs CAP_BPF and CAP_NET_ADMIN)");
	xp_install_signals();
	xp_enter_netns(netns);
	xp_pin_cpu(cpu);
	gen.ifindex = xp_ifindex(ifname);
	gen.ncpus = libbpf_num_possible_cpus();
	gen.stamp_off = stamp_off;

	gen.obj = bpf_object__open_file(obj_path, NULL);
	if (!gen.obj)
		xp_die_errno(errno, "cannot open %s (build the C programs: make -C nfs)", obj_path);
	rodata = bpf_object__find_map_by_name(gen.obj, ".rodata");
	if (rodata && bpf_map__set_initial_value(rodata, &stamp_off, sizeof(stamp_off)))
		xp_die("cannot set the receiver's stamp offset");
	err = bpf_object__load(gen.obj);
	if (err)
		xp_die_errno(err, "cannot load %s (is BPF enabled and are you root?)", obj_path);
	gen_prog = bpf_object__find_program_by_name(gen.obj, "xdp_gen");
	rx_prog = bpf_object__find_program_by_name(gen.obj, "xdp_rx");
	bss = bpf_object__find_map_by_name(gen.obj, ".bss");
	if (!gen_prog || !rx_prog || !bss)
		xp_die("%s lacks xdp_gen, xdp_rx or .bss (rebuild it)", obj_path);
	gen.gen_fd = bpf_program__fd(gen_prog);
	gen.rx_stats_fd = bpf_object__find_map_fd_by_name(gen.obj, "rx_stats");
	/* Map the program's .bss ourselves: libbpf before 1.3 remaps global
	 * data only for skeletons, so its initial_value would be a stale copy. */
	bss_size = bpf_map__value_size(bss);
	gen.ctl = mmap(NULL, bss_size, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
	if (gen.ctl == MAP_FAILED || bss_size < sizeof(struct gen_ctl))
		xp_die("cannot map the generator's state (kernel lacks mmapable global data?)");

	/* A BPF link detaches by itself when this process dies. */
	rx_fd = bpf_program__fd(rx_prog);
	{
		LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
		int link_fd = bpf_link_create(rx_fd, gen.ifindex, BPF_XDP, &link_opts);

		if (link_fd < 0)
			xp_die_errno(errno, "cannot attach the receiver to %s (another XDP program attached?)",
				     ifname);
		(void)link_fd; /* closed at exit, which detaches */
	}
	bpf_obj_get_info_by_fd(rx_fd, &info, &info_len);
	rx_prog_id = info.id;

	xp_control_start(on_command, &gen);
	xp_emit("{\"event\":\"ready\",\"program\":\"trafficgen\",\"ifname\":\"%s\",\"ifindex\":%u,"
		"\"rx_prog_id\":%u,\"pid\":%d,\"cpu\":%d}",
		ifname, gen.ifindex, rx_prog_id, getpid(), cpu);
	while (!atomic_load(&xp_stop))
		usleep(50000);
	bpf_object__close(gen.obj);
	return 0;
}
