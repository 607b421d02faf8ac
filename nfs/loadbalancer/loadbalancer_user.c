// SPDX-License-Identifier: GPL-2.0
/* loadbalancer: the NF runtime (nf.h) with the load balancer's parameters
 * and logic.
 *   --param sessions=N          sessions in the table, 1..16777216 (default 1)
 *   --param backends=B          backends, 1..254 (default 4)
 *   --param proto=udp|tcp       protocol of the sessions (default udp)
 *   --param miss=drop|tx|pass   what happens to frames of no session (default drop)
 *   --param base_sport=P        client port of session 0, 1..65535 (default 1024)
 * Sessions, backends and rewrites are described in loadbalancer.h. XDP modes
 * keep the sessions in the BPF hash map lb_sessions; AF_XDP modes in a uhash
 * table (uhash.h) built like it.
 */
#include <string.h>

#include "loadbalancer_table.h"

static struct loadbalancer_cfg cfg = {
	.miss = XDP_DROP,
	.sessions = 1,
	.backends = LB_DEFAULT_BACKENDS,
	.proto = IPPROTO_UDP,
	.base_sport = LB_DEFAULT_BASE_SPORT,
};

/* Which world's table this run needs (NF_TABLE_*), set in before_load. */
static unsigned int where;
static struct uhash table;

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return uhash_lookup(&table, key);
}

static bool lb_param(void *data, const char *key, const char *value)
{
	struct loadbalancer_cfg *c = data;

	if (strcmp(key, "sessions") == 0) {
		c->sessions = xp_parse_int("--param sessions", value, 1, LB_MAX_SESSIONS);
	} else if (strcmp(key, "backends") == 0) {
		c->backends = xp_parse_int("--param backends", value, 1, LB_MAX_BACKENDS);
	} else if (strcmp(key, "proto") == 0) {
		if (strcmp(value, "udp") == 0)
			c->proto = IPPROTO_UDP;
		else if (strcmp(value, "tcp") == 0)
			c->proto = IPPROTO_TCP;
		else
			xp_die("bad --param proto '%s' (use udp or tcp)", value);
	} else if (strcmp(key, "miss") == 0) {
		c->miss = nf_parse_action("--param miss", value);
	} else if (strcmp(key, "base_sport") == 0) {
		c->base_sport = xp_parse_int("--param base_sport", value, 1, 65535);
	} else {
		return false;
	}
	return true;
}

/* Check what the parameters need together, before anything is made. */
static void lb_before_load(struct bpf_object *obj, void *data)
{
	unsigned long long reserved = 0;

	where = nf_user_logic() ? NF_TABLE_USER : NF_TABLE_BPF;
	lb_table_prepare(obj, data, where, &reserved);
}

static void lb_after_load(struct bpf_object *obj, const void *data)
{
	lb_table_fill(obj, data, where, &table);
}

NF_BATCH(lb_batch, loadbalancer_process, struct loadbalancer_cfg)

static const struct nf_ops lb_ops = {
	.name = "loadbalancer",
	.params_help = "sessions=1..16777216 (default 1), backends=1..254 (default 4), "
		       "proto=udp|tcp (default udp), miss=drop|tx|pass for frames of no session "
		       "(default drop), base_sport=1..65535 (default 1024)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = lb_param,
	.before_load = lb_before_load,
	.after_load = lb_after_load,
	.batch = lb_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &lb_ops);
}
