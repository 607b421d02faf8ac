/* SPDX-License-Identifier: GPL-2.0 */
/* macswap: swap source and destination MAC, then drop, bounce (tx) or pass
 * the frame. The per-packet logic is shared by macswap_kern.c (XDP) and
 * macswap_user.c (AF_XDP), so both modes run exactly the same code.
 */
#ifndef MACSWAP_H
#define MACSWAP_H

#include "pkt.h"

struct macswap_cfg {
	__u32 action; /* XDP_DROP, XDP_TX or XDP_PASS */
};

static __always_inline int macswap_process(void *data, void *data_end,
					   const struct macswap_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);

	/* A runt frame is an error of the test setup: make it visible. */
	if (!eth)
		return XDP_ABORTED;
	pkt_swap_macs(eth);
	return cfg->action;
}

#endif
