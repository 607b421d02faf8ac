// SPDX-License-Identifier: GPL-2.0
/* loadbalancer: the NF runtime (nf.h) with the load balancer's parameters
 * and logic. Sessions, backends and rewrites are described in
 * loadbalancer.h. XDP modes keep the sessions in the BPF hash map
 * lb_sessions; AF_XDP modes in a uhash table (uhash.h) built like it.
 */
#include "loadbalancer_table.h"

static struct loadbalancer_cfg cfg = {
	.miss = XDP_DROP,
	.sessions = 1,
	.backends = LB_DEFAULT_BACKENDS,
	.proto = IPPROTO_UDP,
	.base_sport = LB_DEFAULT_BASE_SPORT,
};

/* The AF_XDP modes' session table, which the inlined logic looks up. */
static struct uhash table;

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return uhash_lookup(&table, key);
}

static const struct nf_param lb_params[] = {
	NF_PARAM_INT("sessions", struct loadbalancer_cfg, sessions, 1, LB_MAX_SESSIONS,
		     "sessions in the table"),
	NF_PARAM_INT("backends", struct loadbalancer_cfg, backends, 1, LB_MAX_BACKENDS, "backends"),
	NF_PARAM_CHOICE("proto", struct loadbalancer_cfg, proto, lb_protos,
			"protocol of the sessions"),
	NF_PARAM_ACTION("miss", struct loadbalancer_cfg, miss,
			"what happens to frames of no session"),
	NF_PARAM_INT("base_sport", struct loadbalancer_cfg, base_sport, 1, 65535,
		     "client port of session 0"),
	NF_PARAMS_END,
};

/* Which world's table this run needs (NF_TABLE_*). */
static unsigned int table_where(const struct nf_ctx *ctx)
{
	return ctx->user_logic ? NF_TABLE_USER : NF_TABLE_BPF;
}

/* Check what the parameters need together, before anything is made. */
static void lb_before_load(struct nf_ctx *ctx)
{
	unsigned long long reserved = 0;

	lb_table_prepare(ctx->obj, ctx->cfg, table_where(ctx), &reserved);
}

static void lb_after_load(struct nf_ctx *ctx)
{
	lb_table_fill(ctx->obj, ctx->cfg, table_where(ctx), &table);
}
NF_BATCH(lb_batch, loadbalancer_process, struct loadbalancer_cfg)

static const struct nf_ops lb_ops = {
	.name = "loadbalancer",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = lb_params,
	.before_load = lb_before_load,
	.after_load = lb_after_load,
	.batch = lb_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &lb_ops);
}
