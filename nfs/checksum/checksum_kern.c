// SPDX-License-Identifier: GPL-2.0
/* checksum in XDP; see checksum.h and nf_kern.h. */
#include "nf_kern.h"
#include "checksum.h"

const volatile struct checksum_cfg nf_cfg = { .action = XDP_DROP, .rounds = 1 };

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct checksum_cfg cfg = nf_cfg;

	if (nf_xsk_redirect || nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	return nf_verdict(checksum_process(nf_data(ctx), nf_data_end(ctx), &cfg));
}
