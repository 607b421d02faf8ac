/* SPDX-License-Identifier: GPL-2.0 */
/* The built-in tester: an XDP program run with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES that paces frames into the tester's interface,
 * and an XDP program on the same interface that counts what comes back.
 * Shared between trafficgen_kern.c and trafficgen_user.c.
 */
#ifndef TRAFFICGEN_H
#define TRAFFICGEN_H

#include <linux/types.h>

#define GEN_MAGIC 0x58445050 /* "XDPP": marks frames stamped by this generator */

/* Written into the frame at ctl.stamp_off when stamp_off != 0. */
struct gen_stamp {
	__u32 magic;
	__u32 seq;
	__u64 tx_ns;
} __attribute__((packed));

/* Pacing state of one generator; user space sets the inputs before each
 * BPF_PROG_RUN call and reads the outputs after it. */
struct gen_ctl {
	/* inputs */
	__u64 interval_ns; /* 0: as fast as possible */
	__u64 target;      /* stop sending after this many frames */
	__u64 max_lag_ns;  /* later than this behind schedule: resync, count as late */
	__u32 ifindex;     /* interface to send on */
	__u32 stamp_off;   /* where to write struct gen_stamp; 0 = don't */
	/* outputs */
	__u64 start_ns;    /* first frame of the trial */
	__u64 next_ns;     /* schedule of the next frame */
	__u64 last_ns;     /* last frame sent */
	__u64 sent;        /* frames handed to the interface */
	__u64 late;        /* frames sent after a resync: pacing fell behind */
	__u64 idle;        /* invocations that waited and sent nothing */
};

enum rx_counter {
	RX_PACKETS,   /* every frame that reached the tester's interface */
	RX_BYTES,
	RX_STAMPED,   /* frames carrying our stamp: the ones we sent */
	RX_COUNTERS,
};

#endif
