// SPDX-License-Identifier: GPL-2.0
/* Built-in traffic generator and receiver; see trafficgen.h. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "trafficgen.h"

/* bpf_loop's limit: one wait spans at most this many clock reads. */
#define MAX_WAIT_LOOPS (1 << 23)
/* The generator waits for its schedule in slices this long and returns in
 * between: PROG_RUN runs a batch with preemption off and reschedules only
 * between batches, so a long wait would hold off the tester's receive NAPI
 * on the same CPU (and add the wait to every latency). */
#define WAIT_SLICE_NS GEN_WAIT_SLICE_NS
#define OFF_MASK 0x7ff /* offsets are below 2048: bounds for the verifier */

/* The only global variable, so .bss is exactly struct gen_state. */
struct gen_state state;

/* The flow table; user space sizes it before loading (nflows entries). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_flow);
} flows SEC(".maps");

/* Receiver: per stream, the last sequence number seen in each slot of a
 * window (seq + 1; 0 = none), to recognise duplicates. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_MAX_STREAMS * GEN_SEQ_WINDOW);
	__type(key, __u32);
	__type(value, __u32);
} seq_window SEC(".maps");

static long wait_until(__u32 index, void *deadline)
{
	return bpf_ktime_get_ns() >= *(__u64 *)deadline;
}

static __always_inline __u32 csum_add_u64(__u32 sum, __u64 v)
{
	return sum + (v & 0xffff) + ((v >> 16) & 0xffff) + ((v >> 32) & 0xffff) + (v >> 48);
}

/* RFC 1624: the checksum of the template with zero stamp fields, plus the
 * stamp's words (the zeros they replace add nothing). */
static __always_inline __u16 csum_finish(__u16 check, __u32 sum)
{
	sum += (__u16)~check;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The template's first GEN_HEAD_LEN bytes, in word stores: a memcpy into
 * a packet (alignment 1) compiles to a store per byte, which cost more
 * than everything else the generator does for a frame. Unaligned packet
 * stores are fine where the kernel has efficient unaligned access. */
static __always_inline void copy_head(void *data)
{
	__u64 *d = data;

	d[0] = state.head[0];
	d[1] = state.head[1];
	d[2] = state.head[2];
	d[3] = state.head[3];
	d[4] = state.head[4];
	d[5] = state.head[5];
	*(__u32 *)(data + 48) = (__u32)state.head[6];
	*(__u16 *)(data + 52) = (__u16)(state.head[6] >> 32);
}

/* Write flow, stamp and checksums; false if the frame is shorter than the
 * layout (user space checks it, so this does not happen). */
static __always_inline int write_frame(void *data, void *data_end, struct gen_ctl *ctl,
				       __u64 now)
{
	struct gen_layout *l = &state.layout;
	struct gen_flow *flow;
	__u32 index, sum = 0, seq, n = state.nflows;
	__u16 magic, check;
	void *ip, *l4, *p;

	if (!n)
		return 0;
	if (state.order == GEN_ORDER_RANDOM) {
		index = bpf_get_prandom_u32() % n;
	} else {
		index = ctl->flow_next;
		ctl->flow_next = index + 1 >= n ? 0 : index + 1;
	}
	flow = bpf_map_lookup_elem(&flows, &index);
	if (!flow)
		return 0;
	if (state.head_len != GEN_HEAD_LEN || data + GEN_HEAD_LEN > data_end)
		return 0;
	copy_head(data);
	ip = data + (l->ip_off & OFF_MASK);
	if (ip + 20 > data_end)
		return 0;
	*(__be32 *)(ip + 12) = flow->saddr;
	*(__be32 *)(ip + 16) = flow->daddr;
	*(__u16 *)(ip + 10) = flow->ip_check;
	l4 = data + (l->l4_off & OFF_MASK);
	if (l4 + 4 > data_end)
		return 0;
	*(__be16 *)l4 = flow->sport;
	*(__be16 *)(l4 + 2) = flow->dport;
	if (l->stamp_on) {
		seq = ctl->seq++;
		magic = GEN_MAGIC | (ctl->stream & 0xff);
		p = data + (l->ts_off & OFF_MASK);
		if (p + 8 > data_end)
			return 0;
		*(__u64 *)p = now;
		p = data + (l->seq_off & OFF_MASK);
		if (p + 4 > data_end)
			return 0;
		*(__u32 *)p = seq;
		p = data + (l->magic_off & OFF_MASK);
		if (p + 2 > data_end)
			return 0;
		*(__u16 *)p = magic;
		sum = csum_add_u64(0, now);
		sum += (seq & 0xffff) + (seq >> 16) + magic;
	}
	p = data + (l->l4_check_off & OFF_MASK);
	if (p + 2 > data_end)
		return 0;
	check = csum_finish(flow->l4_check, sum);
	/* In UDP 0 means "no checksum": a computed 0 goes out as 0xffff. */
	*(__u16 *)p = (check || !l->udp) ? check : 0xffff;
	return 1;
}

/* The clock, counted; and the lag of the frames that went out with the
 * previous reading, which this one bounds (see struct gen_ctl). */
static __always_inline __u64 read_clock(struct gen_ctl *ctl)
{
	__u64 now = bpf_ktime_get_ns();

	if (ctl->stale && now - ctl->clock_ns > ctl->stamp_lag_max_ns)
		ctl->stamp_lag_max_ns = now - ctl->clock_ns;
	ctl->stale = 0;
	ctl->clock_ns = now;
	ctl->clock_reads++;
	return now;
}

/* A paced frame's time, or 0 if it is not due yet (after waiting up to a
 * slice). Reads the clock only when the frame might be early; otherwise the
 * frame is one of `budget` frames found due at the last reading. Behind
 * schedule (a stall, or the gap between two PROG_RUN calls) the schedule is
 * kept and the generator catches up, so the trial's offered rate is the one
 * asked for - but at most GEN_CATCHUP times the rate over each window
 * between two readings, so a stall does not become one burst into the DUT. */
static __always_inline __u64 paced_now(struct gen_ctl *ctl, int must_read)
{
	__u64 now, deadline, wait, due, limit;

	if (ctl->budget && !must_read) {
		ctl->budget--;
		ctl->stale++;
		return ctl->clock_ns;
	}
	now = read_clock(ctl);
	if (!ctl->start_ns) {
		ctl->start_ns = now;
		ctl->next_ns = now;
	}
	deadline = ctl->next_ns;
	limit = ctl->win_start_ns + ctl->win_frames * (ctl->interval_ns / GEN_CATCHUP);
	if (ctl->win_frames && limit > deadline)
		deadline = limit;
	if (now < deadline) {
		/* Busy-wait a slice here rather than return at once: every
		 * return costs an iteration of the caller's repeat budget
		 * (and ~0.1 us). */
		wait = deadline - now > WAIT_SLICE_NS ? now + WAIT_SLICE_NS : deadline;
		bpf_loop(MAX_WAIT_LOOPS, wait_until, &wait, 0);
		now = read_clock(ctl);
		if (now < deadline)
			return 0;
	}
	/* frames due by now, this one included; those after it may go without
	 * reading the clock, within this batch */
	due = (now - ctl->next_ns) / ctl->interval_ns;
	ctl->budget = due < ctl->batch_left ? due : ctl->batch_left;
	ctl->win_start_ns = now;
	ctl->win_frames = 0;
	return now;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 cpu = bpf_get_smp_processor_id(), stream;
	struct gen_ctl *ctl;
	int batch_edge;
	__u64 now, lag;

	if (cpu >= GEN_MAX_CPUS)
		return XDP_ABORTED;
	stream = state.cpu_stream[cpu];
	if (stream >= GEN_MAX_STREAMS)
		return XDP_ABORTED; /* a CPU user space gave no stream */
	ctl = &state.ctl[stream];
	/* Every invocation is one frame slot of the caller's batch: count them
	 * to know the first and the last frame of each batch. */
	batch_edge = !ctl->batch_left;
	if (batch_edge)
		ctl->batch_left = ctl->batch;
	ctl->batch_left--;
	if (ctl->sent >= ctl->target || ctl->ended)
		return XDP_DROP;
	/* the clock is read for the first and last frame of a batch and of
	 * the trial: so every frame sent with an older reading is followed by
	 * a reading that bounds its lag */
	batch_edge |= !ctl->batch_left || ctl->exact_clock || !ctl->start_ns ||
		      ctl->sent + 1 == ctl->target;
	if (ctl->interval_ns) {
		now = paced_now(ctl, batch_edge);
		if (!now) {
			ctl->idle++;
			return XDP_DROP;
		}
		/* count what went late */
		lag = now - ctl->next_ns; /* >= 0: a frame is never sent early */
		if (lag > ctl->max_lag_ns)
			ctl->max_lag_ns = lag;
		if (lag > ctl->late_ns)
			ctl->late++;
		ctl->next_ns += ctl->interval_ns;
		ctl->win_frames++;
	} else {
		if (batch_edge) {
			now = read_clock(ctl);
		} else {
			now = ctl->clock_ns;
			ctl->stale++;
		}
		if (!ctl->start_ns)
			ctl->start_ns = now;
		/* the call was sized from an earlier rate: end on time even if
		 * this one is slower (the rest of the call only drops) */
		if (now - ctl->start_ns >= ctl->duration_ns) {
			ctl->ended = 1;
			return XDP_DROP;
		}
	}
	if (!write_frame(data, data_end, ctl, now))
		return XDP_ABORTED;
	ctl->sent++;
	ctl->last_ns = now;
	return bpf_redirect(ctl->ifindex, 0);
}

/* Yardsticks for bench/: the most a core can send (redirect a fixed frame,
 * nothing else) and the most a DUT core can take (drop). */
SEC("xdp")
int xdp_gen_ref(struct xdp_md *ctx)
{
	return bpf_redirect(state.ctl[0].ifindex, 0);
}

SEC("xdp")
int xdp_drop_ref(struct xdp_md *ctx)
{
	return XDP_DROP;
}

static __always_inline __u32 hist_bucket(__u64 v)
{
	__u64 x = v;
	__u32 msb = 0, e;

	if (v < 2 * HIST_SUB)
		return v;
	if (x >> 32) { msb += 32; x >>= 32; }
	if (x >> 16) { msb += 16; x >>= 16; }
	if (x >> 8) { msb += 8; x >>= 8; }
	if (x >> 4) { msb += 4; x >>= 4; }
	if (x >> 2) { msb += 2; x >>= 2; }
	if (x >> 1) msb += 1;
	e = msb - HIST_SUB_BITS;
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return (e + 1) * HIST_SUB + ((v >> e) & (HIST_SUB - 1));
}

/* Order, duplicates and latency of one stamped frame. The state is plain
 * (not per-CPU, not atomic): one receive queue, one NAPI context. Order is
 * per stream (tester core), not per flow: a DUT that keeps each flow in
 * order but interleaves flows differently counts as reordering. */
static __always_inline void rx_stamp(struct rx_state *rx, __u32 stream, __u32 seq, __u64 ts,
				     __u64 now)
{
	struct rx_stream *s;
	__u32 slot = stream * GEN_SEQ_WINDOW + (seq & (GEN_SEQ_WINDOW - 1)), *last, bucket;
	__u64 lat;

	if (stream >= GEN_MAX_STREAMS)
		return;
	s = &rx->streams[stream];
	s->received++;
	last = bpf_map_lookup_elem(&seq_window, &slot);
	if (last) {
		if (*last == seq + 1) {
			s->duplicates++;
		} else {
			*last = seq + 1;
			if (s->seen && (__s32)(seq - s->max_seq) < 0) {
				s->reordered++;
			} else {
				s->max_seq = seq;
				s->seen = 1;
			}
		}
	}
	if (!s->ts_min || ts < s->ts_min)
		s->ts_min = ts;
	if (ts > s->ts_max)
		s->ts_max = ts;
	if (ts > now) {
		rx->lat_future++;
		return;
	}
	lat = now - ts;
	bucket = hist_bucket(lat);
	if (bucket < HIST_BUCKETS)
		state.hist[bucket]++;
	if (!rx->lat_min_ns || lat < rx->lat_min_ns)
		rx->lat_min_ns = lat ? lat : 1;
	if (lat > rx->lat_max_ns)
		rx->lat_max_ns = lat;
	rx->lat_sum_ns += lat;
}

SEC("xdp")
int xdp_rx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gen_layout *l = &state.layout;
	struct rx_state *rx = &state.rx;
	__u64 now = state.count_only ? 0 : bpf_ktime_get_ns(), ts, deadline;
	__u8 tmp[ETH_ALEN];
	struct ethhdr *eth;
	void *p;
	__u32 seq;
	__u16 magic;

	rx->packets++;
	rx->bytes += data_end - data;
	if (l->stamp_on) {
		p = data + (l->magic_off & OFF_MASK);
		if (p + 2 > data_end)
			goto out;
		magic = *(__u16 *)p;
		if ((magic & GEN_MAGIC_MASK) != GEN_MAGIC)
			goto out;
		if (state.count_only) {
			rx->stamped++;
			goto out;
		}
		p = data + (l->seq_off & OFF_MASK);
		if (p + 4 > data_end)
			goto out;
		seq = *(__u32 *)p;
		p = data + (l->ts_off & OFF_MASK);
		if (p + 8 > data_end)
			goto out;
		ts = *(__u64 *)p;
		rx->stamped++;
		rx_stamp(rx, magic & 0xff, seq, ts, now);
	}
out:
	/* A slow receiver on purpose: a delayed reflector on the DUT side, a
	 * tester that cannot keep up in tests. */
	if (state.delay_ns) {
		deadline = (now ? now : bpf_ktime_get_ns()) + state.delay_ns;
		bpf_loop(MAX_WAIT_LOOPS, wait_until, &deadline, 0);
	}
	if (!state.reflect)
		return XDP_DROP; /* the tester's stack has no use for returning frames */
	/* A reflector (DUT side, for tests and calibration): back to the sender. */
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
