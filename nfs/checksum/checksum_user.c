// SPDX-License-Identifier: GPL-2.0
/* checksum: the NF runtime (nf.h) with checksum's parameters and logic. */
#include "nf.h"
#include "checksum.h"

static struct checksum_cfg cfg = { .action = XDP_DROP, .rounds = 1 };

static const struct nf_param checksum_params[] = {
	NF_PARAM_ACTION("action", struct checksum_cfg, action, "what to do after the work"),
	NF_PARAM_INT("rounds", struct checksum_cfg, rounds, 0, CHECKSUM_MAX_ROUNDS,
		     "checksum recomputations per frame"),
	NF_PARAMS_END,
};

NF_BATCH(checksum_batch, checksum_process, struct checksum_cfg)

static const struct nf_ops checksum_ops = {
	.name = "checksum",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = checksum_params,
	.batch = checksum_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &checksum_ops);
}
