// SPDX-License-Identifier: GPL-2.0
/* memory in XDP; see memory.h and nf_kern.h. */
#include "nf_kern.h"
#include "memory.h"

const volatile struct memory_cfg nf_cfg = {
	.size = MEMORY_DEFAULT_SIZE,
	.slots = MEMORY_DEFAULT_SIZE / sizeof(__u64),
	.action = XDP_DROP,
};

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct memory_cfg cfg = nf_cfg;

	if (nf_xsk_redirect || nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	return nf_verdict(memory_process(nf_data(ctx), nf_data_end(ctx), &cfg));
}
