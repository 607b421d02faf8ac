// SPDX-License-Identifier: GPL-2.0
/* firewall: the NF runtime (nf.h) with firewall's parameters and logic.
 *   --param rules=N              rules in the ACL, 0..16777216 (default 1)
 *   --param action=drop|tx|pass  what happens to frames matching no rule
 *                                (default tx: MACs swapped, sent back)
 *   --param base_sport=P         source port of rule 0, 1..65535 (default 1024)
 * The rule set is described in firewall.h. XDP modes keep it in the BPF hash
 * map fw_rules; AF_XDP modes in a uhash table (uhash.h) built like it.
 */
#include <string.h>

#include "firewall_table.h"

static struct firewall_cfg cfg = {
	.action = XDP_TX,
	.rules = 1,
	.base_sport = FW_DEFAULT_BASE_SPORT,
	.dport = FW_RULE_DPORT,
	.proto = IPPROTO_UDP,
};

/* Which world's table this run needs (NF_TABLE_*), set in before_load. */
static unsigned int where;
static struct uhash table;

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return uhash_lookup(&table, key) != NULL;
}

static bool firewall_param(void *data, const char *key, const char *value)
{
	struct firewall_cfg *c = data;

	if (strcmp(key, "rules") == 0)
		c->rules = xp_parse_int("--param rules", value, 0, FW_MAX_RULES);
	else if (strcmp(key, "action") == 0)
		c->action = nf_parse_action("--param action", value);
	else if (strcmp(key, "base_sport") == 0)
		c->base_sport = xp_parse_int("--param base_sport", value, 1, 65535);
	else
		return false;
	return true;
}

/* Check what the parameters need together, before anything is made. */
static void firewall_before_load(struct bpf_object *obj, void *data)
{
	unsigned long long reserved = 0;

	where = nf_user_logic() ? NF_TABLE_USER : NF_TABLE_BPF;
	fw_table_prepare(obj, data, where, &reserved);
}

static void firewall_after_load(struct bpf_object *obj, const void *data)
{
	fw_table_fill(obj, data, where, &table);
}

NF_BATCH(firewall_batch, firewall_process, struct firewall_cfg)

static const struct nf_ops firewall_ops = {
	.name = "firewall",
	.params_help = "rules=0..16777216 (default 1), action=drop|tx|pass for frames matching "
		       "no rule (default tx), base_sport=1..65535 (default 1024)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = firewall_param,
	.before_load = firewall_before_load,
	.after_load = firewall_after_load,
	.batch = firewall_batch,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &firewall_ops);
}
