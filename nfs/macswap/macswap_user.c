// SPDX-License-Identifier: GPL-2.0
/* macswap: the NF runtime (nf.h) with macswap's parameters and logic. */
#include "nf.h"
#include "macswap.h"

static struct macswap_cfg cfg = { .action = XDP_DROP };

static const struct nf_param macswap_params[] = {
	NF_PARAM_ACTION("action", struct macswap_cfg, action, "what to do after swapping"),
	NF_PARAMS_END,
};

NF_BATCH(macswap_batch, macswap_process, struct macswap_cfg)

static const struct nf_ops macswap_ops = {
	.name = "macswap",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = macswap_params,
	.batch = macswap_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &macswap_ops);
}
