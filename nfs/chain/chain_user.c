// SPDX-License-Identifier: GPL-2.0
/* chain: the NF runtime (nf.h) with the firewall in front of the load
 * balancer, optionally behind a dispatcher; see chain.h for what runs where.
 *   --param sessions=N            flows = LB sessions, 1..16777216 (default 1)
 *   --param rules=N               ACL rules = the first N flows, 0..16777216 (default 0)
 *   --param backends=B            backends, 1..254 (default 4)
 *   --param proto=udp|tcp         protocol of the flows (default udp)
 *   --param base_sport=P          client port of flow 0, 1..65535 (default 1024)
 *   --param miss=drop|tx|pass     frames the firewall lets through that are no
 *                                 session (default drop)
 *   --param placement=hybrid|user AF_XDP modes: firewall in XDP and LB in user
 *                                 space (default), or both in user space
 *   --param dispatch=none|local   local: an XDP dispatcher sends local flows to
 *                                 the stack first (default none)
 *   --param local_port=P          first local destination port (default 11211)
 *   --param local_ports=N         number of local ports, 1..65535 (default 1)
 * The tables are firewall_table.h's and loadbalancer_table.h's.
 */
#include <string.h>

#include "../firewall/firewall_table.h"
#include "../loadbalancer/loadbalancer_table.h"
#include "chain.h"

static struct chain_cfg cfg = CHAIN_CFG_DEFAULTS;

/* Where each stage's table lives (NF_TABLE_*), set in before_load. */
static unsigned int fw_where, lb_where;
static struct uhash fw_table, lb_table;

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return uhash_lookup(&fw_table, key) != NULL;
}

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return uhash_lookup(&lb_table, key);
}

static bool chain_param(void *data, const char *key, const char *value)
{
	struct chain_cfg *c = data;

	if (strcmp(key, "sessions") == 0) {
		c->lb.sessions = xp_parse_int("--param sessions", value, 1, LB_MAX_SESSIONS);
	} else if (strcmp(key, "rules") == 0) {
		c->fw.rules = xp_parse_int("--param rules", value, 0, FW_MAX_RULES);
	} else if (strcmp(key, "backends") == 0) {
		c->lb.backends = xp_parse_int("--param backends", value, 1, LB_MAX_BACKENDS);
	} else if (strcmp(key, "proto") == 0) {
		if (strcmp(value, "udp") == 0)
			c->lb.proto = IPPROTO_UDP;
		else if (strcmp(value, "tcp") == 0)
			c->lb.proto = IPPROTO_TCP;
		else
			xp_die("bad --param proto '%s' (use udp or tcp)", value);
	} else if (strcmp(key, "base_sport") == 0) {
		c->lb.base_sport = xp_parse_int("--param base_sport", value, 1, 65535);
	} else if (strcmp(key, "miss") == 0) {
		c->lb.miss = nf_parse_action("--param miss", value);
	} else if (strcmp(key, "placement") == 0) {
		if (strcmp(value, "hybrid") == 0)
			c->placement = CHAIN_HYBRID;
		else if (strcmp(value, "user") == 0)
			c->placement = CHAIN_USER;
		else
			xp_die("bad --param placement '%s' (use hybrid or user)", value);
	} else if (strcmp(key, "dispatch") == 0) {
		if (strcmp(value, "none") == 0)
			c->dispatch = 0;
		else if (strcmp(value, "local") == 0)
			c->dispatch = 1;
		else
			xp_die("bad --param dispatch '%s' (use none or local)", value);
	} else if (strcmp(key, "local_port") == 0) {
		c->local_port = xp_parse_int("--param local_port", value, 1, 65535);
	} else if (strcmp(key, "local_ports") == 0) {
		c->local_ports = xp_parse_int("--param local_ports", value, 1, 65535);
	} else {
		return false;
	}
	return true;
}

static void chain_before_load(struct bpf_object *obj, void *data)
{
	struct chain_cfg *c = data;
	unsigned long long reserved = 0;
	bool user = nf_user_logic();

	if (!user && c->placement == CHAIN_USER)
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
	fw_where = user && c->placement == CHAIN_USER ? NF_TABLE_USER : NF_TABLE_BPF;
	lb_where = user ? NF_TABLE_USER : NF_TABLE_BPF;
	fw_table_prepare(obj, &c->fw, fw_where, &reserved);
	lb_table_prepare(obj, &c->lb, lb_where, &reserved);
}

static void chain_after_load(struct bpf_object *obj, const void *data)
{
	const struct chain_cfg *c = data;

	fw_table_fill(obj, &c->fw, fw_where, &fw_table);
	lb_table_fill(obj, &c->lb, lb_where, &lb_table);
}

NF_BATCH(chain_batch, chain_user_process, struct chain_cfg)

static const struct nf_ops chain_ops = {
	.name = "chain",
	.params_help = "sessions=1..16777216 (default 1), rules=0..sessions: the first flows "
		       "dropped by the firewall (default 0), backends=1..254 (default 4), "
		       "proto=udp|tcp, base_sport=1..65535 (default 1024), miss=drop|tx|pass "
		       "(default drop), placement=hybrid|user (AF_XDP modes; default hybrid), "
		       "dispatch=none|local, local_port=1..65535 (default 11211), "
		       "local_ports=1..65535 (default 1)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = chain_param,
	.before_load = chain_before_load,
	.after_load = chain_after_load,
	.batch = chain_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &chain_ops);
}
