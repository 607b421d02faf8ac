// SPDX-License-Identifier: GPL-2.0
/* Built-in traffic generator of xdpperf, run on the tester side.
 *
 * It attaches xdp_rx to the tester's interface (to count returning frames,
 * their order and latency) and offers traffic by running xdp_gen with
 * BPF_PROG_RUN in live-frames mode: the kernel builds real frames from a
 * template and xdp_gen writes flow and stamp, paces and redirects them out
 * of the interface. One PROG_RUN call costs tens of milliseconds to set up,
 * so a trial is one long call per tester CPU, not many short ones; each
 * CPU of --cpus runs one generator thread (stream) with its own schedule.
 *
 * Run on the DUT side with --reflect (and --delay-ns) it is a trivial
 * reflector: a no-op NF for calibration and tests, optionally slow.
 *
 * Commands (one JSON line answers each; see common/xdpperf.h):
 *   packet <hex>                    frame template: IPv4 UDP or TCP
 *   trial <rate_pps> <seconds> [drain_ms] [sender]
 *                                   offer traffic; rate 0 = flat out. sender:
 *                                   batch (default: the clock read where a
 *                                   frame needs it, see trafficgen.h), exact
 *                                   (read for every frame), reference (a
 *                                   fixed frame redirected, nothing else:
 *                                   flat out only, bench/'s yardstick)
 *   stats                           receive counters (cumulative; order and
 *                                   latency since the last trial or clear)
 *   clear                           start order and latency counts afresh
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <pthread.h>
#include <sched.h>
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
/* A frame this far behind schedule counts as late (sent in a catch-up burst). */
#define LATE_NS 100000

struct generator {
	struct bpf_object *obj;
	int gen_fd, ref_fd;        /* xdp_gen, xdp_gen_ref */
	struct gen_state *st;      /* the program's .bss, mmapped */
	struct gen_flow *flows;    /* the flow table, mmapped */
	__u8 (*tuples)[12];        /* flows as given: saddr daddr sport dport */
	__u32 nflows;
	unsigned int ifindex;
	unsigned char frame[MAX_FRAME];
	size_t frame_len;
	int cpus[GEN_MAX_STREAMS];
	int nstreams;
	double flat_rate[GEN_MAX_STREAMS][2]; /* last flat-out rate per stream: xdp_gen, reference */
	/* this trial's sender (see "trial" above) */
	bool exact_clock;          /* exact: a clock reading per frame */
	bool reference;            /* reference: xdp_gen_ref, the core's yardstick */
	bool drop_ref;             /* --reference: xdp_drop_ref receives */
};

struct rx_totals {
	__u64 packets, bytes, stamped;
};

static void read_totals(struct generator *gen, struct rx_totals *t)
{
	t->packets = gen->st->rx.packets;
	t->bytes = gen->st->rx.bytes;
	t->stamped = gen->st->rx.stamped;
}

/* Start a new trial's order, duplicate and latency counts; the sequence
 * state (max_seq, seen, the window) runs on. */
static void clear_trial_rx(struct generator *gen)
{
	struct rx_state *rx = &gen->st->rx;
	int s;

	for (s = 0; s < GEN_MAX_STREAMS; s++) {
		rx->streams[s].received = 0;
		rx->streams[s].reordered = 0;
		rx->streams[s].duplicates = 0;
		rx->streams[s].ts_min = 0;
		rx->streams[s].ts_max = 0;
	}
	rx->lat_min_ns = rx->lat_max_ns = rx->lat_sum_ns = rx->lat_future = 0;
	memset(gen->st->hist, 0, sizeof(gen->st->hist));
}

/* --- checksums: sums of 16-bit words as they lie in memory (RFC 1071) --- */

static __u32 sum_words(const void *buf, size_t len)
{
	const __u8 *p = buf;
	__u32 sum = 0;
	__u16 w;

	for (; len >= 2; p += 2, len -= 2) {
		memcpy(&w, p, 2);
		sum += w;
	}
	if (len) {
		__u8 last[2] = { *p, 0 };

		memcpy(&w, last, 2);
		sum += w;
	}
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Find IPv4 and UDP/TCP in the template; the stamp must fit beside them. */
static const char *parse_layout(struct generator *gen, struct gen_layout *l)
{
	const __u8 *f = gen->frame;
	size_t len = gen->frame_len, ihl, tot;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return "the template is not an IPv4 frame";
	ihl = (f[14] & 0x0f) * 4;
	tot = (f[16] << 8) | f[17];
	if ((f[14] >> 4) != 4 || ihl < 20 || 14 + tot != len)
		return "the template's IPv4 header or total length is wrong";
	l->ip_off = 14;
	l->l4_off = 14 + ihl;
	if (f[23] == 17) {
		l->udp = 1;
		l->l4_check_off = l->l4_off + 6;
		if (len < l->l4_off + 8u)
			return "the template's UDP header is cut short";
	} else if (f[23] == 6) {
		l->udp = 0;
		l->l4_check_off = l->l4_off + 16;
		if (len < l->l4_off + 20u)
			return "the template's TCP header is cut short";
	} else {
		return "the template is neither UDP nor TCP";
	}
	if (l->stamp_on) {
		const __u16 offs[3] = { l->ts_off, l->seq_off, l->magic_off }, sizes[3] = { 8, 4, 2 };
		int i;

		for (i = 0; i < 3; i++) {
			if (offs[i] + sizes[i] > len)
				return "the stamp does not fit in the frame (larger frame or other offsets)";
			if (offs[i] < l->l4_off + 4u || (offs[i] & 1) != (l->l4_off & 1) ||
			    (offs[i] < l->l4_check_off + 2u && offs[i] + sizes[i] > l->l4_check_off))
				return "the stamp overlaps the ports or the checksum, or is not 16-bit aligned";
		}
	}
	return NULL;
}

/* The flow table for this template: each flow's addresses and ports and
 * the checksums of the frame with them (stamp fields zero). */
static const char *build_flows(struct generator *gen)
{
	struct gen_layout *l = &gen->st->layout;
	unsigned char scratch[MAX_FRAME];
	const __u8 *ip, *l4;
	__u32 ip_base, l4_base, i, l4len;
	__u8 pseudo[4];
	const char *problem;

	problem = parse_layout(gen, l);
	if (problem)
		return problem;
	memcpy(scratch, gen->frame, gen->frame_len);
	ip = scratch + l->ip_off;
	l4 = scratch + l->l4_off;
	/* zero what varies: IP checksum and addresses, ports, L4 checksum, stamp */
	memset(scratch + l->ip_off + 10, 0, 10);
	memset(scratch + l->l4_off, 0, 4);
	memset(scratch + l->l4_check_off, 0, 2);
	if (l->stamp_on) {
		memset(scratch + l->ts_off, 0, 8);
		memset(scratch + l->seq_off, 0, 4);
		memset(scratch + l->magic_off, 0, 2);
	}
	ip_base = sum_words(ip, l->l4_off - l->ip_off);
	l4len = gen->frame_len - l->l4_off;
	pseudo[0] = 0;
	pseudo[1] = ip[9];
	pseudo[2] = l4len >> 8;
	pseudo[3] = l4len & 0xff;
	l4_base = sum_words(pseudo, 4) + sum_words(l4, l4len);
	for (i = 0; i < gen->nflows; i++) {
		const __u8 *t = gen->tuples ? gen->tuples[i] : NULL;
		struct gen_flow *fl = &gen->flows[i];
		__u32 addrs;

		if (t) {
			memcpy(&fl->saddr, t, 4);
			memcpy(&fl->daddr, t + 4, 4);
			memcpy(&fl->sport, t + 8, 2);
			memcpy(&fl->dport, t + 10, 2);
		} else { /* one flow: the template's own */
			memcpy(&fl->saddr, gen->frame + l->ip_off + 12, 4);
			memcpy(&fl->daddr, gen->frame + l->ip_off + 16, 4);
			memcpy(&fl->sport, gen->frame + l->l4_off, 2);
			memcpy(&fl->dport, gen->frame + l->l4_off + 2, 2);
		}
		addrs = sum_words(&fl->saddr, 4) + sum_words(&fl->daddr, 4);
		fl->ip_check = fold(ip_base + addrs);
		fl->l4_check = fold(l4_base + addrs + sum_words(&fl->sport, 2) +
				    sum_words(&fl->dport, 2));
	}
	if (gen->frame_len < GEN_HEAD_LEN)
		return "the template is shorter than the header the generator rewrites";
	memcpy(gen->st->head, gen->frame, GEN_HEAD_LEN);
	gen->st->head_len = GEN_HEAD_LEN;
	gen->st->nflows = gen->nflows;
	return NULL;
}

/* Batch size trades pacing precision and latency for speed: frames of one
 * batch leave together at its end, and the tester's receive waits for the
 * batch to end, so keep a batch under ~10 us of schedule. */
static __u32 batch_for_rate(double rate)
{
	double frames = rate * 10e-6;

	if (rate <= 0 || frames >= 64)
		return 64;
	return frames < 1 ? 1 : (__u32)frames;
}

/* One PROG_RUN call of at most `repeat` frames; -errno on failure. Each
 * call starts with a fresh batch (see struct gen_ctl), and runs whole
 * batches so that the last frame of each is the one xdp_gen expects. */
static int run_once(struct generator *gen, struct gen_ctl *ctl, __u32 repeat, __u32 batch)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = gen->frame,
		.data_size_in = gen->frame_len,
		.repeat = repeat > 0xffffffffu - batch ? repeat : (repeat + batch - 1) / batch * batch,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = batch,
	);
	int err;

	ctl->batch = batch;
	ctl->batch_left = 0;
	ctl->budget = 0;
	ctl->stale = 0;
	ctl->win_frames = 0;
	ctl->exact_clock = gen->exact_clock;
	if (gen->reference) {
		/* xdp_gen_ref counts nothing: every frame of the call is sent */
		__u64 before = xp_now_ns();

		err = bpf_prog_test_run_opts(gen->ref_fd, &opts);
		if (!err) {
			if (!ctl->start_ns)
				ctl->start_ns = before;
			ctl->sent += opts.repeat;
			ctl->last_ns = xp_now_ns();
		}
		return err ? -errno : 0;
	}
	err = bpf_prog_test_run_opts(gen->gen_fd, &opts);
	return err ? -errno : 0;
}

struct stream_run {
	struct generator *gen;
	int stream;
	double rate;          /* this stream's share */
	double flat_hint;     /* flat out: the rate of this stream's last flat-out trial */
	__u64 target, duration_ns;
	__u32 batch, calls;
	int err;
	pthread_t thread;
};

/* One generator thread: PROG_RUN calls on its CPU until its target is sent
 * or its duration is over. */
static void *run_stream(void *arg)
{
	struct stream_run *r = arg;
	struct gen_ctl *ctl = &r->gen->st->ctl[r->stream];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->gen->cpus[r->stream], &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		r->err = -EINVAL;
		return NULL;
	}
	while (!atomic_load(&xp_stop)) {
		__u64 remaining, elapsed, before, now = xp_now_ns();
		__u32 repeat;

		elapsed = ctl->start_ns ? now - ctl->start_ns : 0;
		/* a paced stream still catching up may run a little over (at most
		 * 1/GEN_CATCHUP of its lag); one that cannot keep up stops here */
		if (ctl->sent >= r->target || ctl->ended || (ctl->start_ns && elapsed >= r->duration_ns +
					       (r->rate > 0 ? r->duration_ns / 10 : 0)))
			break;
		if (r->rate > 0) {
			/* each frame may need interval/slice waiting invocations */
			remaining = (r->target - ctl->sent) *
				    (ctl->interval_ns / GEN_WAIT_SLICE_NS + 2);
		} else if ((!ctl->sent || ctl->last_ns <= ctl->start_ns) && r->flat_hint > 0) {
			/* the rate the last flat-out trial of this stream achieved:
			 * no probe call, whose setup would count against the rate;
			 * 10% more, since xdp_gen stops by itself at the duration */
			remaining = (__u64)(r->flat_hint * (r->gen->reference ? 1.0 : 1.1) *
					    r->duration_ns / 1e9) + 1;
		} else if (!ctl->sent || ctl->last_ns <= ctl->start_ns) {
			remaining = PROBE_FRAMES;
		} else {
			/* Flat out has no schedule: learn the rate, then size
			 * the remaining call to end at the requested duration. */
			double achieved = ctl->sent * 1e9 / (double)(ctl->last_ns - ctl->start_ns);

			remaining = (__u64)(achieved * (r->duration_ns - elapsed) / 1e9) + 1;
		}
		repeat = remaining > 0xffffffffull ? 0xffffffffu : (__u32)remaining;
		before = ctl->sent;
		r->err = run_once(r->gen, ctl, repeat, r->batch);
		r->calls++;
		if (r->err)
			break;
		/* Only a paced call that merely waited, or a flat-out one that
		 * began after the trial's end, may send nothing. */
		if (ctl->sent == before && !ctl->idle && !ctl->ended) {
			r->err = -EIO;
			break;
		}
	}
	return NULL;
}

static void emit_trial(struct generator *gen, struct stream_run *runs, double rate,
		       double seconds, __u64 target, const struct rx_totals *rx0,
		       const struct rx_totals *rx1, __u64 wall_start)
{
	struct rx_state *rx = &gen->st->rx;
	__u64 sent = 0, late = 0, idle = 0, max_lag = 0, start = 0, last = 0;
	__u64 clock_reads = 0, stamp_lag = 0;
	__u64 received = 0, reordered = 0, dups = 0, ts_min = 0, ts_max = 0;
	char streams[GEN_MAX_STREAMS * 320], *sp = streams;
	char *hist = malloc(HIST_BUCKETS * 32 + 16), *hp = hist;
	__u32 calls = 0, b;
	int s;

	if (!hist) {
		xp_emit("{\"error\":\"out of memory\"}");
		return;
	}
	*sp = '\0';
	for (s = 0; s < gen->nstreams; s++) {
		struct gen_ctl *c = &gen->st->ctl[s];
		double span = c->last_ns > c->start_ns ? (c->last_ns - c->start_ns) / 1e9 : 0;

		sent += c->sent;
		late += c->late;
		idle += c->idle;
		calls += runs[s].calls;
		clock_reads += c->clock_reads;
		if (c->max_lag_ns > max_lag)
			max_lag = c->max_lag_ns;
		if (c->stamp_lag_max_ns > stamp_lag)
			stamp_lag = c->stamp_lag_max_ns;
		if (c->sent && (!start || c->start_ns < start))
			start = c->start_ns;
		if (c->last_ns > last)
			last = c->last_ns;
		sp += sprintf(sp, "%s{\"cpu\":%d,\"sent\":%llu,\"offered_rate\":%.3f,\"late\":%llu,"
			      "\"calls\":%u,\"clock_reads\":%llu,\"stamp_lag_max_ns\":%llu}",
			      s ? "," : "", gen->cpus[s], (unsigned long long)c->sent,
			      span > 0 ? (c->sent - 1) / span : 0.0,
			      (unsigned long long)c->late, runs[s].calls,
			      (unsigned long long)c->clock_reads,
			      (unsigned long long)c->stamp_lag_max_ns);
	}
	for (s = 0; s < GEN_MAX_STREAMS; s++) {
		struct rx_stream *r = &rx->streams[s];

		received += r->received;
		reordered += r->reordered;
		dups += r->duplicates;
		if (r->ts_min && (!ts_min || r->ts_min < ts_min))
			ts_min = r->ts_min;
		if (r->ts_max > ts_max)
			ts_max = r->ts_max;
	}
	*hp++ = '[';
	for (b = 0; b < HIST_BUCKETS; b++) {
		if (gen->st->hist[b])
			hp += sprintf(hp, "%s[%u,%llu]", hp[-1] == '[' ? "" : ",", b,
				      (unsigned long long)gen->st->hist[b]);
	}
	*hp++ = ']';
	*hp = '\0';
	{
		double span = last > start ? (last - start) / 1e9 : 0;
		/* n frames span n-1 intervals: rate = (n-1)/span, duration = span * n/(n-1) */
		double offered_rate = span > 0 && sent > 1 ? (sent - 1) / span : 0;
		double offered_duration = offered_rate > 0 ? sent / offered_rate : 0;
		double rx_span = ts_max > ts_min ? (ts_max - ts_min) / 1e9 : 0;

		xp_emit("{\"event\":\"trial\",\"intended_rate\":%.3f,\"intended_duration\":%.6f,"
			"\"target\":%llu,\"sent\":%llu,\"offered_duration\":%.9f,\"offered_rate\":%.3f,"
			"\"late\":%llu,\"max_lag_ns\":%llu,\"idle\":%llu,\"calls\":%u,\"batch\":%u,"
			"\"clock\":\"%s\",\"clock_reads\":%llu,\"stamp_lag_max_ns\":%llu,"
			"\"interrupted\":%s,\"wall_seconds\":%.6f,\"start_ns\":%llu,\"last_ns\":%llu,"
			"\"streams\":[%s],"
			"\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_stamped\":%llu,"
			"\"rx_received\":%llu,\"rx_reordered\":%llu,\"rx_duplicates\":%llu,"
			"\"rx_ts_span\":%.9f,\"rx_rate\":%.3f,"
			"\"lat_min_ns\":%llu,\"lat_max_ns\":%llu,\"lat_sum_ns\":%llu,\"lat_future\":%llu,"
			"\"hist_sub_bits\":%d,\"hist\":%s}",
			rate, seconds, (unsigned long long)(rate > 0 ? target : sent),
			(unsigned long long)sent, offered_duration, offered_rate,
			(unsigned long long)late, (unsigned long long)max_lag,
			(unsigned long long)idle, calls, runs[0].batch,
			gen->reference ? "none" : gen->exact_clock ? "exact" : "batch",
			(unsigned long long)clock_reads, (unsigned long long)stamp_lag,
			atomic_load(&xp_stop) ? "true" : "false",
			(xp_now_ns() - wall_start) / 1e9,
			(unsigned long long)start, (unsigned long long)last, streams,
			(unsigned long long)(rx1->packets - rx0->packets),
			(unsigned long long)(rx1->bytes - rx0->bytes),
			(unsigned long long)(rx1->stamped - rx0->stamped),
			(unsigned long long)received, (unsigned long long)reordered,
			(unsigned long long)dups, rx_span,
			rx_span > 0 && received > 1 ? (received - 1) / rx_span : 0.0,
			(unsigned long long)rx->lat_min_ns, (unsigned long long)rx->lat_max_ns,
			(unsigned long long)rx->lat_sum_ns, (unsigned long long)rx->lat_future,
			HIST_SUB_BITS, hist);
	}
	free(hist);
}

static void do_trial(struct generator *gen, double rate, double seconds, double drain_ms,
		     const char *sender)
{
	struct stream_run runs[GEN_MAX_STREAMS] = {};
	struct rx_totals rx0, rx1;
	__u64 target, wall_start, deadline, now, prev = 0;
	int s, n = gen->nstreams, err = 0;

	if (!gen->frame_len) {
		xp_emit("{\"error\":\"no packet template: send 'packet <hex>' first\"}");
		return;
	}
	gen->exact_clock = strcmp(sender, "exact") == 0;
	gen->reference = strcmp(sender, "reference") == 0;
	if (!gen->exact_clock && !gen->reference && strcmp(sender, "batch") != 0) {
		xp_emit("{\"error\":\"unknown sender '%s' (use batch, exact or reference)\"}", sender);
		return;
	}
	if (gen->reference && rate > 0) {
		xp_emit("{\"error\":\"the reference sender only runs flat out (rate 0)\"}");
		return;
	}
	target = rate > 0 ? (__u64)(rate * seconds + 0.5) : ~0ull;
	clear_trial_rx(gen);
	for (s = 0; s < n; s++) {
		struct gen_ctl *ctl = &gen->st->ctl[s];
		__u32 seq = ctl->seq, flow_next = ctl->flow_next;

		memset(ctl, 0, sizeof(*ctl));
		ctl->seq = seq;
		ctl->flow_next = flow_next;
		ctl->stream = s;
		ctl->ifindex = gen->ifindex;
		runs[s].gen = gen;
		runs[s].stream = s;
		runs[s].rate = rate / n;
		runs[s].duration_ns = (__u64)(seconds * 1e9);
		runs[s].batch = batch_for_rate(rate / n);
		runs[s].flat_hint = gen->flat_rate[s][gen->reference];
		/* the target split evenly, the remainder to the first streams */
		runs[s].target = rate > 0 ? target / n + ((__u64)s < target % n) : ~0ull;
		ctl->target = runs[s].target;
		ctl->interval_ns = rate > 0 ? (__u64)(n * 1e9 / rate) : 0;
		ctl->late_ns = ctl->interval_ns > LATE_NS ? ctl->interval_ns : LATE_NS;
		ctl->duration_ns = runs[s].duration_ns;
	}
	read_totals(gen, &rx0);
	wall_start = xp_now_ns();
	/* Stream 0 runs in this (control) thread, already on the first CPU, so
	 * a one-core trial's CPU time stays on a thread that outlives it. */
	for (s = 1; s < n; s++) {
		if (pthread_create(&runs[s].thread, NULL, run_stream, &runs[s])) {
			runs[s].err = -EAGAIN;
			runs[s].thread = 0;
		}
	}
	run_stream(&runs[0]);
	for (s = 0; s < n; s++) {
		struct gen_ctl *c = &gen->st->ctl[s];

		if (runs[s].thread)
			pthread_join(runs[s].thread, NULL);
		if (runs[s].err && !err)
			err = runs[s].err;
		if (rate <= 0 && !runs[s].err && c->sent > 1 && c->last_ns > c->start_ns)
			gen->flat_rate[s][gen->reference] = (c->sent - 1) * 1e9 / (c->last_ns - c->start_ns);
	}
	/* Wait until returning frames stop arriving, at most drain_ms. */
	deadline = xp_now_ns() + (__u64)(drain_ms * 1e6);
	for (;;) {
		read_totals(gen, &rx1);
		now = xp_now_ns();
		if (now >= deadline || (rx1.packets == prev && now > wall_start + 5000000))
			break;
		prev = rx1.packets;
		usleep(2000);
	}
	if (err && err != -EINTR) {
		xp_emit("{\"error\":\"BPF_PROG_RUN failed: %s (needs Linux >= 5.18 with live frames)\"}",
			err == -EIO ? "the generator sent nothing" : strerror(-err));
		return;
	}
	emit_trial(gen, runs, rate, seconds, target, &rx0, &rx1, wall_start);
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
	char sender[16] = "batch";
	struct rx_state *rx = &gen->st->rx;
	char hex[2 * MAX_FRAME + 2];
	const char *problem;
	int n;

	if (sscanf(line, "packet %3037s", hex) == 1) {
		n = parse_hex(hex, gen->frame, sizeof(gen->frame));
		if (n < 60) {
			xp_emit("{\"error\":\"packet must be 60 to %d bytes of hex\"}", MAX_FRAME);
			return;
		}
		gen->frame_len = n;
		problem = build_flows(gen);
		if (problem) {
			gen->frame_len = 0;
			xp_emit("{\"error\":\"%s\"}", problem);
			return;
		}
		xp_emit("{\"event\":\"packet\",\"length\":%d,\"flows\":%u}", n, gen->nflows);
	} else if ((n = sscanf(line, "trial %lf %lf %lf %15s", &rate, &seconds, &drain_ms,
			      sender)) >= 2) {
		if (rate < 0 || seconds <= 0 || seconds > 3600 || drain_ms < 0)
			xp_emit("{\"error\":\"trial needs rate >= 0 pps and 0 < seconds <= 3600\"}");
		else
			do_trial(gen, rate, seconds, drain_ms, sender);
	} else if (strcmp(line, "stats") == 0) {
		__u64 received = 0, reordered = 0, dups = 0, ts_min = 0, ts_max = 0;
		int s;

		for (s = 0; s < GEN_MAX_STREAMS; s++) {
			struct rx_stream *r = &rx->streams[s];

			received += r->received;
			reordered += r->reordered;
			dups += r->duplicates;
			if (r->ts_min && (!ts_min || r->ts_min < ts_min))
				ts_min = r->ts_min;
			if (r->ts_max > ts_max)
				ts_max = r->ts_max;
		}
		xp_emit("{\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_stamped\":%llu,"
			"\"rx_received\":%llu,\"rx_reordered\":%llu,\"rx_duplicates\":%llu,"
			"\"rx_ts_min\":%llu,\"rx_ts_max\":%llu,\"lat_min_ns\":%llu,"
			"\"lat_max_ns\":%llu}",
			(unsigned long long)rx->packets, (unsigned long long)rx->bytes,
			(unsigned long long)rx->stamped, (unsigned long long)received,
			(unsigned long long)reordered, (unsigned long long)dups,
			(unsigned long long)ts_min, (unsigned long long)ts_max,
			(unsigned long long)rx->lat_min_ns, (unsigned long long)rx->lat_max_ns);
	} else if (strcmp(line, "clear") == 0) {
		clear_trial_rx(gen);
		xp_emit("{\"event\":\"clear\"}");
	} else {
		xp_emit("{\"error\":\"unknown command '%s'\"}", line);
	}
}

static int parse_cpus(const char *text, int *cpus)
{
	char *copy = strdup(text), *tok, *save = NULL;
	int n = 0, i;

	if (!copy)
		xp_die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n >= GEN_MAX_STREAMS)
			xp_die("--cpus lists more than %d CPUs (fix: fewer generator CPUs)",
			       GEN_MAX_STREAMS);
		cpus[n] = xp_parse_int("--cpus", tok, 0, GEN_MAX_CPUS - 1);
		for (i = 0; i < n; i++)
			if (cpus[i] == cpus[n])
				xp_die("--cpus lists CPU %d twice (fix: one generator thread per CPU)",
				       cpus[n]);
		n++;
	}
	free(copy);
	return n;
}

/* The flows file: records of saddr, daddr (4 bytes each), sport, dport
 * (2 bytes each), all in network byte order. */
static __u32 read_flows(const char *path, __u8 (**tuples)[12])
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		xp_die_errno(errno, "cannot open the flows file %s", path);
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		xp_die_errno(errno, "cannot read the flows file %s", path);
	if (size == 0 || size % 12 || size / 12 > GEN_MAX_FLOWS)
		xp_die("flows file %s must hold 1 to %u records of 12 bytes (fix: fewer flows)",
		       path, GEN_MAX_FLOWS);
	*tuples = malloc(size);
	if (!*tuples || fread(*tuples, 1, size, f) != (size_t)size)
		xp_die("cannot read the flows file %s", path);
	fclose(f);
	return size / 12;
}

static void parse_stamp(const char *text, struct gen_layout *l)
{
	unsigned int ts, seq, magic;

	if (sscanf(text, "%u,%u,%u", &ts, &seq, &magic) != 3 || ts > MAX_FRAME ||
	    seq > MAX_FRAME || magic > MAX_FRAME)
		xp_die("--stamp wants TS,SEQ,MAGIC byte offsets, e.g. 42,50,54");
	l->ts_off = ts;
	l->seq_off = seq;
	l->magic_off = magic;
	l->stamp_on = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: trafficgen --netns NS --ifname IF [--cpus N[,N...]] [--obj FILE]\n"
		"                  [--stamp TS,SEQ,MAGIC | --stamp-offset N] [--flows FILE]\n"
		"                  [--order seq|random] [--reflect] [--delay-ns N]\n"
		"                  [--reference] [--count-only]\n"
		"  --count-only    the receiver counts our frames and tracks nothing else\n"
		"                  (no clock, order, duplicates or latency): a no-op NF\n"
		"  --reference     receive with xdp_drop_ref: drop and nothing else, bench/'s\n"
		"                  yardstick of a DUT core\n");
	exit(XP_EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "obj", required_argument, NULL, 'o' },
		{ "stamp", required_argument, NULL, 'S' },
		{ "stamp-offset", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "order", required_argument, NULL, 'r' },
		{ "reflect", no_argument, NULL, 'R' },
		{ "delay-ns", required_argument, NULL, 'd' },
		{ "reference", no_argument, NULL, 'F' },
		{ "count-only", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *netns = NULL, *ifname = NULL, *flows_path = NULL;
	char obj_path[4096] = "";
	struct generator gen = {};
	struct gen_layout layout = {};
	struct bpf_program *gen_prog, *ref_prog, *rx_prog;
	struct bpf_map *bss, *flows_map;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info), rx_prog_id, order = GEN_ORDER_SEQ, reflect = 0, count_only = 0;
	__u64 delay_ns = 0;
	size_t bss_size;
	int opt, err, rx_fd, s;
	long long off;

	xp_progname = "trafficgen";
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'n': netns = optarg; break;
		case 'i': ifname = optarg; break;
		case 'c':
		case 'C': gen.nstreams = parse_cpus(optarg, gen.cpus); break;
		case 'o': snprintf(obj_path, sizeof(obj_path), "%s", optarg); break;
		case 'S': parse_stamp(optarg, &layout); break;
		case 's':
			/* the stamp in one piece: ts, seq, magic */
			off = xp_parse_int("--stamp-offset", optarg, 0, MAX_FRAME - 14);
			layout.ts_off = off;
			layout.seq_off = off + 8;
			layout.magic_off = off + 12;
			layout.stamp_on = off != 0;
			break;
		case 'f': flows_path = optarg; break;
		case 'r':
			if (strcmp(optarg, "seq") == 0)
				order = GEN_ORDER_SEQ;
			else if (strcmp(optarg, "random") == 0)
				order = GEN_ORDER_RANDOM;
			else
				xp_die("--order is seq or random, not '%s'", optarg);
			break;
		case 'R': reflect = 1; break;
		case 'd': delay_ns = xp_parse_int("--delay-ns", optarg, 0, 100000000); break;
		case 'F': gen.drop_ref = true; break;
		case 'O': count_only = 1; break;
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
	if (!gen.nstreams) {
		gen.cpus[0] = sched_getcpu();
		gen.nstreams = 1;
	} else {
		/* the control thread stays on the first generator CPU */
		xp_pin_cpu(gen.cpus[0]);
	}
	gen.ifindex = xp_ifindex(ifname);
	gen.nflows = flows_path ? read_flows(flows_path, &gen.tuples) : 1;

	gen.obj = bpf_object__open_file(obj_path, NULL);
	if (!gen.obj)
		xp_die_errno(errno, "cannot open %s (build the C programs: make -C nfs)", obj_path);
	flows_map = bpf_object__find_map_by_name(gen.obj, "flows");
	if (!flows_map || bpf_map__set_max_entries(flows_map, gen.nflows))
		xp_die("cannot size the flow table of %s (rebuild it)", obj_path);
	err = bpf_object__load(gen.obj);
	if (err)
		xp_die_errno(err, "cannot load %s (is BPF enabled and are you root?)", obj_path);
	gen_prog = bpf_object__find_program_by_name(gen.obj, "xdp_gen");
	ref_prog = bpf_object__find_program_by_name(gen.obj, "xdp_gen_ref");
	rx_prog = bpf_object__find_program_by_name(gen.obj, gen.drop_ref ? "xdp_drop_ref" : "xdp_rx");
	bss = bpf_object__find_map_by_name(gen.obj, ".bss");
	if (!gen_prog || !ref_prog || !rx_prog || !bss)
		xp_die("%s lacks xdp_gen, xdp_rx, their references or .bss (rebuild it)", obj_path);
	gen.gen_fd = bpf_program__fd(gen_prog);
	gen.ref_fd = bpf_program__fd(ref_prog);
	/* Map the program's .bss ourselves: libbpf before 1.3 remaps global
	 * data only for skeletons, so its initial_value would be a stale copy. */
	bss_size = bpf_map__value_size(bss);
	gen.st = mmap(NULL, bss_size, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
	if (gen.st == MAP_FAILED || bss_size < sizeof(struct gen_state))
		xp_die("cannot map the generator's state (kernel lacks mmapable global data?)");
	gen.flows = mmap(NULL, (size_t)gen.nflows * sizeof(struct gen_flow),
			 PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(flows_map), 0);
	if (gen.flows == MAP_FAILED)
		xp_die_errno(errno, "cannot map the flow table");
	gen.st->layout = layout;
	gen.st->order = order;
	gen.st->reflect = reflect;
	gen.st->count_only = count_only;
	gen.st->delay_ns = delay_ns;
	memset(gen.st->cpu_stream, 0xff, sizeof(gen.st->cpu_stream));
	for (s = 0; s < gen.nstreams; s++)
		gen.st->cpu_stream[gen.cpus[s]] = s;

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
	{
		char cpus[GEN_MAX_STREAMS * 6] = "", *p = cpus;

		for (s = 0; s < gen.nstreams; s++)
			p += sprintf(p, "%s%d", s ? "," : "", gen.cpus[s]);
		xp_emit("{\"event\":\"ready\",\"program\":\"trafficgen\",\"ifname\":\"%s\",\"ifindex\":%u,"
			"\"rx_prog_id\":%u,\"pid\":%d,\"cpu\":%d,\"cpus\":[%s],\"flows\":%u,"
			"\"reflect\":%s,\"delay_ns\":%llu,\"reference\":%s}",
			ifname, gen.ifindex, rx_prog_id, getpid(), gen.cpus[0], cpus, gen.nflows,
			reflect ? "true" : "false", (unsigned long long)delay_ns,
			gen.drop_ref ? "true" : "false");
	}
	while (!atomic_load(&xp_stop))
		usleep(50000);
	bpf_object__close(gen.obj);
	return 0;
}
