// SPDX-License-Identifier: GPL-2.0
/* Built-in traffic generator and receiver; see trafficgen.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "trafficgen.h"

/* bpf_loop's limit: one wait spans at most this many clock reads. */
#define MAX_WAIT_LOOPS (1 << 23)

struct gen_ctl ctl;

/* Offset of the stamp in returning frames, for the receiver. */
volatile const __u32 rx_stamp_off;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RX_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} rx_stats SEC(".maps");

static long wait_until(__u32 index, void *deadline)
{
	return bpf_ktime_get_ns() >= *(__u64 *)deadline;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gen_stamp *stamp;
	__u64 now, deadline;

	if (ctl.sent >= ctl.target)
		return XDP_DROP;
	now = bpf_ktime_get_ns();
	if (!ctl.start_ns) {
		ctl.start_ns = now;
		ctl.next_ns = now;
	}
	if (ctl.interval_ns) {
		if (now < ctl.next_ns) {
			/* Busy-wait here rather than return: every return
			 * costs a frame of the caller's repeat budget. */
			deadline = ctl.next_ns;
			bpf_loop(MAX_WAIT_LOOPS, wait_until, &deadline, 0);
			now = bpf_ktime_get_ns();
			if (now < ctl.next_ns) {
				ctl.idle++;
				return XDP_DROP;
			}
		}
		if (now - ctl.next_ns > ctl.max_lag_ns) {
			/* Fell behind (e.g. between two PROG_RUN calls):
			 * don't burst to catch up, restart the schedule. */
			ctl.late++;
			ctl.next_ns = now;
		}
		ctl.next_ns += ctl.interval_ns;
	}
	if (ctl.stamp_off) {
		stamp = data + (ctl.stamp_off & 0x7ff);
		if ((void *)(stamp + 1) <= data_end) {
			stamp->magic = GEN_MAGIC;
			stamp->seq = (__u32)ctl.sent;
			stamp->tx_ns = now;
		}
	}
	ctl.sent++;
	ctl.last_ns = now;
	return bpf_redirect(ctl.ifindex, 0);
}

static void count(__u32 key, __u64 value)
{
	__u64 *counter = bpf_map_lookup_elem(&rx_stats, &key);

	if (counter)
		*counter += value;
}

SEC("xdp")
int xdp_rx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gen_stamp *stamp;

	count(RX_PACKETS, 1);
	count(RX_BYTES, data_end - data);
	if (rx_stamp_off) {
		stamp = data + (rx_stamp_off & 0x7ff);
		if ((void *)(stamp + 1) <= data_end && stamp->magic == GEN_MAGIC)
			count(RX_STAMPED, 1);
	}
	/* The tester's stack has no use for returning frames. */
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
