/* SPDX-License-Identifier: GPL-2.0 */
/* BPF side of every NF: included once by each <nf>_kern.c, which then
 * declares its maps (if any) and, with NF_XDP, its config and program:
 *
 *	#include "nf_kern.h"
 *	#include "foo.h"
 *
 *	NF_XDP(struct foo_cfg, foo_process)
 *
 * The per-packet logic foo_process(data, data_end, &cfg) lives in foo.h and
 * is also what the AF_XDP modes run in user space (NF_BATCH in nf.h). An NF
 * whose program does more (chain) declares NF_CFG(struct foo_cfg) and its
 * own xdp_nf. Names and layouts: nf_shared.h. This header also provides the
 * license section, so the _kern.c must not define _license again.
 */
#ifndef NF_KERN_H
#define NF_KERN_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "nf_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nf_stats);
} nf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, NF_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Set by user space before load; the verifier then prunes the unused path,
 * so each mode runs only the code it needs. */
const volatile __u32 nf_xsk_redirect;
/* The NF process's tgid (set by user space before load); see nf_shared.h. */
const volatile __u32 nf_owner_tgid;
/* xdp-sk modes (set by user space before load): hand the first frame of
 * each queue that has a socket to that socket, then finish every frame in
 * XDP. See nf_shared.h. */
const volatile __u32 nf_xsk_first;
/* Queues whose first frame went to their socket. */
__u32 nf_xsk_first_done[NF_MAX_QUEUES];

static __always_inline void *nf_data(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *nf_data_end(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data_end;
}

/* One lookup per frame: all counters of this CPU are in one value. */
static __always_inline struct nf_stats *nf_stats_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&nf_stats, &key);
}

/* Count where this run of the program happens: in the NF's task or not. */
static __always_inline void nf_count_where(struct nf_stats *stats)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == nf_owner_tgid)
		stats->xdp_in_nf_task++;
	else
		stats->xdp_elsewhere++;
}

/* Count the NF's decision and return it as the program's verdict. */
static __always_inline int nf_verdict(int action)
{
	struct nf_stats *stats = nf_stats_get();
	enum nf_counter counter;

	switch (action) {
	case XDP_DROP:
		counter = NF_DROP;
		break;
	case XDP_TX:
		counter = NF_TX;
		break;
	case XDP_PASS:
		counter = NF_PASS;
		break;
	case XDP_REDIRECT:
		counter = NF_REDIRECT;
		break;
	default:
		counter = NF_ABORTED;
		action = XDP_ABORTED;
		break;
	}
	if (stats) {
		stats->cnt[NF_RX]++;
		stats->cnt[counter]++;
		nf_count_where(stats);
	}
	return action;
}

/* True for the one frame per queue that goes to the socket in the xdp-sk
 * modes; the caller then returns nf_to_xsk(ctx). Only one NAPI context
 * runs a queue at a time, so the flag needs no atomic. */
static __always_inline bool nf_xsk_first_frame(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;

	if (!nf_xsk_first || q >= NF_MAX_QUEUES || nf_xsk_first_done[q])
		return false;
	/* No socket on this queue: nothing to prime, XDP finishes the frame. */
	if (!bpf_map_lookup_elem(&xsks_map, &q))
		return false;
	nf_xsk_first_done[q] = 1;
	return true;
}

/* Hand the frame to the AF_XDP socket bound to its RX queue. A queue
 * without a socket falls back to the stack; that counts as rx + pass so
 * such frames are not lost from the totals. */
static __always_inline int nf_to_xsk(struct xdp_md *ctx)
{
	struct nf_stats *stats = nf_stats_get();
	int action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);

	if (stats) {
		nf_count_where(stats);
		if (action == XDP_REDIRECT) {
			stats->cnt[NF_REDIRECT]++;
		} else {
			stats->cnt[NF_RX]++;
			stats->cnt[NF_PASS]++;
		}
	}
	return action;
}

/* The NF's config, set by user space before load from the same struct the
 * user-space logic reads (no initial value here: user space always sets it). */
#define NF_CFG(cfg_type) const volatile cfg_type nf_cfg

/* The NF's config and its XDP program xdp_nf: in the AF_XDP modes (and for
 * the first frame of each queue in the xdp-sk ones) hand the frame to the
 * socket, else run process() on it and count its verdict. */
#define NF_XDP(cfg_type, process)                                                \
	NF_CFG(cfg_type);                                                         \
                                                                                  \
	SEC("xdp")                                                                \
	int xdp_nf(struct xdp_md *ctx)                                            \
	{                                                                         \
		cfg_type cfg = nf_cfg;                                            \
                                                                                  \
		if (nf_xsk_redirect || nf_xsk_first_frame(ctx))                   \
			return nf_to_xsk(ctx);                                    \
		return nf_verdict(process(nf_data(ctx), nf_data_end(ctx), &cfg)); \
	}

char _license[] SEC("license") = "GPL";

#endif
