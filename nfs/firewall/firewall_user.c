// SPDX-License-Identifier: GPL-2.0
/* firewall: the NF runtime (nf.h) with firewall's parameters and logic.
 * The rule set is described in firewall.h. XDP modes keep it in the BPF hash
 * map fw_rules; AF_XDP modes in a uhash table (uhash.h) built like it.
 */
#include "firewall_table.h"

static struct firewall_cfg cfg = {
	.action = XDP_TX,
	.rules = 1,
	.base_sport = FW_DEFAULT_BASE_SPORT,
	.dport = FW_RULE_DPORT,
	.proto = IPPROTO_UDP,
};

/* The AF_XDP modes' rule table, which the inlined logic looks up. */
static struct uhash table;

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return uhash_lookup(&table, key) != NULL;
}

static const struct nf_param firewall_params[] = {
	NF_PARAM_INT("rules", struct firewall_cfg, rules, 0, FW_MAX_RULES, "rules in the ACL"),
	NF_PARAM_ACTION("action", struct firewall_cfg, action,
			"what happens to frames matching no rule (tx: MACs swapped, sent back)"),
	NF_PARAM_INT("base_sport", struct firewall_cfg, base_sport, 1, 65535,
		     "source port of rule 0"),
	NF_PARAMS_END,
};

/* Which world's table this run needs (NF_TABLE_*). */
static unsigned int table_where(const struct nf_ctx *ctx)
{
	return ctx->user_logic ? NF_TABLE_USER : NF_TABLE_BPF;
}

/* Check what the parameters need together, before anything is made. */
static void firewall_before_load(struct nf_ctx *ctx)
{
	unsigned long long reserved = 0;

	fw_table_prepare(ctx->obj, ctx->cfg, table_where(ctx), &reserved);
}

static void firewall_after_load(struct nf_ctx *ctx)
{
	fw_table_fill(ctx->obj, ctx->cfg, table_where(ctx), &table);
}
NF_BATCH(firewall_batch, firewall_process, struct firewall_cfg)

static const struct nf_ops firewall_ops = {
	.name = "firewall",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = firewall_params,
	.before_load = firewall_before_load,
	.after_load = firewall_after_load,
	.batch = firewall_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &firewall_ops);
}
