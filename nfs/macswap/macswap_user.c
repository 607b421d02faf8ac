// SPDX-License-Identifier: GPL-2.0
/* macswap: the NF runtime (nf.h) with macswap's parameters and logic.
 *   --param action=drop|tx|pass   what to do after swapping (default drop)
 */
#include <string.h>

#include "nf.h"
#include "macswap.h"

static struct macswap_cfg cfg = { .action = XDP_DROP };

static bool macswap_param(void *data, const char *key, const char *value)
{
	struct macswap_cfg *c = data;

	if (strcmp(key, "action") != 0)
		return false;
	c->action = nf_parse_action("action", value);
	return true;
}

NF_BATCH(macswap_batch, macswap_process, struct macswap_cfg)

static const struct nf_ops macswap_ops = {
	.name = "macswap",
	.params_help = "action=drop|tx|pass (default drop)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = macswap_param,
	.batch = macswap_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &macswap_ops);
}
