// SPDX-License-Identifier: GPL-2.0
/* macswap in XDP; see macswap.h and nf_kern.h. */
#include "nf_kern.h"
#include "macswap.h"

const volatile struct macswap_cfg nf_cfg = { .action = XDP_DROP };

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct macswap_cfg cfg = nf_cfg;

	if (nf_xsk_redirect || nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	return nf_verdict(macswap_process(nf_data(ctx), nf_data_end(ctx), &cfg));
}
