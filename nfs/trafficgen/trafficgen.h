/* SPDX-License-Identifier: GPL-2.0 */
/* The built-in tester: an XDP program run with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES that paces frames into the tester's interface,
 * and an XDP program on the same interface that counts what comes back.
 * Shared between trafficgen_kern.c and trafficgen_user.c.
 *
 * Frames. User space gives a template (one IPv4 UDP or TCP frame) and a
 * table of flows (addresses and ports); for each frame xdp_gen writes the
 * next flow (in table order or at random), the stamp, and both checksums.
 *
 * Stamp. Three fields at offsets user space chooses (struct gen_layout),
 * so that even a 64-byte TCP frame carries one:
 *	ts    __u64  bpf_ktime_get_ns() when the frame was handed on
 *	seq   __u32  per-stream sequence number; runs on across trials
 *	magic __u16  GEN_MAGIC | stream (the generator thread that sent it)
 * UDP: ts, seq, magic in the payload right after the header. TCP: ts in the
 * TCP sequence and acknowledgement numbers, seq and magic in the payload.
 *
 * Streams. Each tester CPU runs one generator thread (stream) with its own
 * pacing state; the receiver tracks order, duplicates and latency per
 * stream, i.e. per tester core (not per flow: see xdp_rx).
 */
#ifndef TRAFFICGEN_H
#define TRAFFICGEN_H

#include <linux/types.h>

#define GEN_MAGIC 0x5800      /* high byte of the magic; the low one is the stream */
#define GEN_MAGIC_MASK 0xff00
#define GEN_MAX_STREAMS 16    /* generator threads (tester CPUs) */
#define GEN_MAX_CPUS 256
#define GEN_MAX_FLOWS (1u << 20)
/* Receiver: duplicates are recognised within this many sequence numbers. */
#define GEN_SEQ_WINDOW (1u << 16)
/* Behind schedule, the generator catches up at up to this many times its rate. */
#define GEN_CATCHUP 4
/* Longest busy-wait of one xdp_gen invocation (see trafficgen_kern.c). */
#define GEN_WAIT_SLICE_NS 5000

/* Header bytes xdp_gen rewrites from the template in every frame: Ethernet,
 * IPv4 and TCP (UDP's header plus the start of its payload). A DUT's XDP
 * program changes our frames in place (MAC swap, load-balancer rewrite) and
 * live-frames pages come back to BPF_PROG_RUN's page pool with those changes. */
#define GEN_HEAD_LEN 54
#define GEN_HEAD_WORDS 7 /* GEN_HEAD_LEN rounded up to 8-byte words */

/* Latency histogram, HDR-style log-linear buckets over nanoseconds:
 * values below 2 * HIST_SUB are exact (1 ns buckets); above, each power of
 * two is split into HIST_SUB buckets, so a bucket is at most 1/HIST_SUB
 * (1.6%) of its value wide. Bucket b >= 2 * HIST_SUB covers
 *	[(HIST_SUB + b % HIST_SUB) << e, +(1 << e)),  e = b / HIST_SUB - 1
 * Values from 2^(HIST_MAX_EXP + HIST_SUB_BITS + 1) ns (~73 min) on land in
 * the last bucket. pytest_xdpperf/latency.py mirrors this. */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 35
#define HIST_BUCKETS ((HIST_MAX_EXP + 2) * HIST_SUB)

/* Where things are in the template (byte offsets; user space fills it). */
struct gen_layout {
	__u16 ip_off;       /* IPv4 header */
	__u16 l4_off;       /* UDP or TCP header */
	__u16 l4_check_off; /* UDP or TCP checksum */
	__u16 ts_off;       /* stamp fields; stamp_on = 0: no stamp */
	__u16 seq_off;
	__u16 magic_off;
	__u8 udp;           /* a computed UDP checksum of 0 goes out as 0xffff */
	__u8 stamp_on;
	__u16 pad;
};

/* One flow: what xdp_gen writes into the frame (network byte order), with
 * the frame's checksums for that flow as they lie in memory; l4_check is
 * for stamp fields all zero (xdp_gen adds the stamp to it). */
struct gen_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 ip_check;
	__u16 l4_check;
};

enum gen_order {
	GEN_ORDER_SEQ,    /* flow 0, 1, ..., n-1, 0, ... */
	GEN_ORDER_RANDOM, /* a uniformly random flow per frame */
};

/* Pacing state of one generator stream; user space sets the inputs before
 * each trial and reads the outputs after it.
 *
 * Clock. Reading the clock costs as much as the rest of a frame here (a
 * slow rdtsc under a hypervisor), so xdp_gen reads it only where a frame
 * needs it: at the first and the last frame of every PROG_RUN batch, and
 * before any frame that might be early by the schedule (so a paced stream
 * with slack reads it for every frame, and never sends early). The frames
 * in between go out behind schedule (or flat out) and take the time of the
 * last reading: their stamp lags their departure by at most the time the
 * generator spent on the frames before them in their batch. The reading at
 * each batch's last frame measures that lag (stamp_lag_max_ns). With
 * exact_clock every frame reads the clock. */
struct gen_ctl {
	/* inputs */
	__u64 interval_ns; /* 0: as fast as possible */
	__u64 target;      /* stop sending after this many frames */
	__u64 late_ns;     /* a frame further behind schedule than this counts as late */
	__u32 ifindex;     /* interface to send on */
	__u32 stream;      /* this stream's number, in the magic */
	__u64 duration_ns; /* flat out: stop sending this long after the first frame */
	__u32 batch;       /* PROG_RUN batch size (frames per batch) */
	__u32 exact_clock; /* read the clock for every frame */
	/* outputs */
	__u64 start_ns;    /* first frame of the trial */
	__u64 next_ns;     /* schedule of the next frame */
	__u64 last_ns;     /* last frame sent (its clock time, see above) */
	__u64 sent;        /* frames handed to the interface */
	__u64 late;        /* frames sent more than late_ns behind schedule (catching up) */
	__u64 max_lag_ns;  /* furthest behind schedule a frame was sent */
	__u64 idle;        /* invocations that waited a slice and sent nothing */
	__u64 clock_reads; /* clock readings */
	__u64 stamp_lag_max_ns; /* longest a frame went out after the time it carries */
	__u32 ended;       /* flat out: duration_ns was over, the rest of the call dropped */
	__u32 pad;
	/* working state of one PROG_RUN call; user space zeroes it before each */
	__u64 clock_ns;    /* the last clock reading */
	__u64 win_start_ns; /* catch-up window: its first frame's time */
	__u32 win_frames;  /* frames sent in it */
	__u32 budget;      /* due frames that may still go without a clock reading */
	__u32 batch_left;  /* invocations left in this batch (0: a batch starts) */
	__u32 stale;       /* frames sent with the last reading */
	/* persistent across trials */
	__u32 seq;         /* next sequence number */
	__u32 flow_next;   /* next flow in GEN_ORDER_SEQ */
};

/* What the receiver saw of one stream since user space last cleared it. */
struct rx_stream {
	__u64 received;    /* stamped frames of this stream */
	__u64 reordered;   /* arrived after a frame with a higher sequence number */
	__u64 duplicates;  /* a sequence number seen before (within GEN_SEQ_WINDOW) */
	__u64 ts_min;      /* earliest and latest send time among received frames */
	__u64 ts_max;
	__u32 max_seq;     /* highest sequence number seen (valid if seen) */
	__u32 seen;        /* persistent: max_seq is valid */
};

struct rx_state {
	__u64 packets;     /* every frame that reached the tester's interface */
	__u64 bytes;
	__u64 stamped;     /* frames carrying our stamp: the ones we sent */
	__u64 lat_min_ns;  /* exact extremes and sum of the latencies in the histogram */
	__u64 lat_max_ns;
	__u64 lat_sum_ns;
	__u64 lat_future;  /* stamps later than now (clock trouble): not in the histogram */
	struct rx_stream streams[GEN_MAX_STREAMS];
};

/* All of the program's global state: its .bss, mmapped by user space. */
struct gen_state {
	struct gen_layout layout;
	__u64 head[GEN_HEAD_WORDS];           /* the template's first bytes, see GEN_HEAD_LEN */
	__u16 head_len;                       /* GEN_HEAD_LEN, or 0 before a template */
	__u32 nflows;
	__u32 order;                          /* enum gen_order */
	__u32 reflect;                        /* receiver: send frames back (MACs swapped) */
	__u32 count_only;                     /* receiver: count our frames, track nothing
					       * (no clock, order or latency: a no-op NF) */
	__u64 delay_ns;                       /* receiver: busy-wait this long per frame */
	__u8 cpu_stream[GEN_MAX_CPUS];        /* generator CPU -> its stream */
	struct gen_ctl ctl[GEN_MAX_STREAMS];
	struct rx_state rx;
	__u64 hist[HIST_BUCKETS];             /* latency histogram, see above */
};

#endif
