// SPDX-License-Identifier: GPL-2.0
/* chain: the NF runtime (nf.h) with the firewall in front of the load
 * balancer, optionally behind a dispatcher; see chain.h for what runs where.
 * The tables are firewall_table.h's and loadbalancer_table.h's.
 */
#include "../firewall/firewall_table.h"
#include "../loadbalancer/loadbalancer_table.h"
#include "chain.h"

static struct chain_cfg cfg = CHAIN_CFG_DEFAULTS;

/* The AF_XDP modes' tables, which the inlined logic looks up. */
static struct uhash fw_table, lb_table;

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return uhash_lookup(&fw_table, key) != NULL;
}

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return uhash_lookup(&lb_table, key);
}

static const struct nf_choice chain_placements[] = {
	{ "hybrid", CHAIN_HYBRID },
	{ "user", CHAIN_USER },
	{ NULL },
};

static const struct nf_choice chain_dispatches[] = {
	{ "none", 0 },
	{ "local", 1 },
	{ NULL },
};

static const struct nf_param chain_params[] = {
	NF_PARAM_INT("sessions", struct chain_cfg, lb.sessions, 1, LB_MAX_SESSIONS,
		     "flows = LB sessions"),
	NF_PARAM_INT("rules", struct chain_cfg, fw.rules, 0, FW_MAX_RULES,
		     "ACL rules = the first flows, dropped by the firewall; at most sessions"),
	NF_PARAM_INT("backends", struct chain_cfg, lb.backends, 1, LB_MAX_BACKENDS, "backends"),
	NF_PARAM_CHOICE("proto", struct chain_cfg, lb.proto, lb_protos, "protocol of the flows"),
	NF_PARAM_INT("base_sport", struct chain_cfg, lb.base_sport, 1, 65535,
		     "client port of flow 0"),
	NF_PARAM_ACTION("miss", struct chain_cfg, lb.miss,
			"frames the firewall lets through that are no session"),
	NF_PARAM_CHOICE("placement", struct chain_cfg, placement, chain_placements,
			"AF_XDP modes: firewall in XDP and LB in user space (hybrid), or both in user space"),
	NF_PARAM_CHOICE("dispatch", struct chain_cfg, dispatch, chain_dispatches,
			"local: an XDP dispatcher sends local flows to the stack first"),
	NF_PARAM_INT("local_port", struct chain_cfg, local_port, 1, 65535,
		     "first local destination port"),
	NF_PARAM_INT("local_ports", struct chain_cfg, local_ports, 1, 65535,
		     "number of local ports"),
	NF_PARAMS_END,
};

/* Where each stage's table lives (NF_TABLE_*): the LB runs where the mode
 * runs the logic, the firewall in user space only with placement=user. */
static unsigned int fw_where(const struct nf_ctx *ctx)
{
	const struct chain_cfg *c = ctx->cfg;

	return ctx->user_logic && c->placement == CHAIN_USER ? NF_TABLE_USER : NF_TABLE_BPF;
}

static unsigned int lb_where(const struct nf_ctx *ctx)
{
	return ctx->user_logic ? NF_TABLE_USER : NF_TABLE_BPF;
}

static void chain_before_load(struct nf_ctx *ctx)
{
	struct chain_cfg *c = ctx->cfg;
	unsigned long long reserved = 0;

	if (!ctx->user_logic && c->placement == CHAIN_USER)
		xp_die("placement=user puts the firewall and LB in user space, which needs an AF_XDP mode (fix: --mode af_xdp, af_xdp-sysc or af_xdp-poll, or placement=hybrid)");
	if (c->local_port + c->local_ports - 1 > 65535)
		xp_die("local ports %u..%u go past 65535 (fix: fewer local_ports or a lower local_port)",
		       c->local_port, c->local_port + c->local_ports - 1);
	if (c->fw.rules > c->lb.sessions)
		xp_die("rules=%u is more than the %u flows (sessions) it drops from (fix: rules at most sessions)",
		       c->fw.rules, c->lb.sessions);
	/* The rules are the first flows: same ports and protocol. */
	c->fw.base_sport = c->lb.base_sport;
	c->fw.proto = c->lb.proto;
	c->fw.dport = LB_VIP_PORT;
	c->fw.action = XDP_PASS;
	fw_table_prepare(ctx->obj, &c->fw, fw_where(ctx), &reserved);
	lb_table_prepare(ctx->obj, &c->lb, lb_where(ctx), &reserved);
}

static void chain_after_load(struct nf_ctx *ctx)
{
	const struct chain_cfg *c = ctx->cfg;

	fw_table_fill(ctx->obj, &c->fw, fw_where(ctx), &fw_table);
	lb_table_fill(ctx->obj, &c->lb, lb_where(ctx), &lb_table);
}

NF_BATCH(chain_batch, chain_user_process, struct chain_cfg)

static const struct nf_ops chain_ops = {
	.name = "chain",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = chain_params,
	.before_load = chain_before_load,
	.after_load = chain_after_load,
	.batch = chain_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &chain_ops);
}
