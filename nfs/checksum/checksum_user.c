// SPDX-License-Identifier: GPL-2.0
/* checksum: the NF runtime (nf.h) with checksum's parameters and logic.
 *   --param action=drop|tx|pass   what to do after the work (default drop)
 *   --param rounds=N              checksum recomputations per frame,
 *                                 0 to 1000000 (default 1)
 */
#include <string.h>

#include "nf.h"
#include "checksum.h"

static struct checksum_cfg cfg = { .action = XDP_DROP, .rounds = 1 };

static bool checksum_param(void *data, const char *key, const char *value)
{
	struct checksum_cfg *c = data;

	if (strcmp(key, "action") == 0)
		c->action = nf_parse_action("action", value);
	else if (strcmp(key, "rounds") == 0)
		c->rounds = xp_parse_int("rounds", value, 0, CHECKSUM_MAX_ROUNDS);
	else
		return false;
	return true;
}

NF_BATCH(checksum_batch, checksum_process, struct checksum_cfg)

static const struct nf_ops checksum_ops = {
	.name = "checksum",
	.params_help = "action=drop|tx|pass (default drop), rounds=0..1000000 (default 1)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = checksum_param,
	.batch = checksum_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &checksum_ops);
}
