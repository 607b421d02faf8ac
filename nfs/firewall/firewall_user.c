// SPDX-License-Identifier: GPL-2.0
/* firewall: the NF runtime (nf.h) with firewall's parameters and logic.
 *   --param rules=N              rules in the ACL, 0..16777216 (default 1)
 *   --param action=drop|tx|pass  what happens to frames matching no rule
 *                                (default tx: MACs swapped, sent back)
 *   --param base_sport=P         source port of rule 0, 1..65535 (default 1024)
 * The rule set is described in firewall.h. XDP modes keep it in the BPF hash
 * map fw_rules; AF_XDP modes in a uhash table (uhash.h) built like it.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "nf.h"
#include "uhash.h"
#include "firewall.h"

#define FW_MAP "fw_rules"
#define MIB (1024.0 * 1024.0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

static struct firewall_cfg cfg = {
	.action = XDP_TX,
	.rules = 1,
	.base_sport = FW_DEFAULT_BASE_SPORT,
};

/* Which world's table this run needs: set from nf_user_logic() in
 * before_load (1 = user space, 0 = the XDP program). */
static int user_logic = -1;
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
	struct firewall_cfg *c = data;
	__u32 per_block = 65536 - c->base_sport;
	__u32 slots = c->rules ? c->rules : 1;
	unsigned long long need = 0, avail;
	struct bpf_map *map;

	user_logic = nf_user_logic();
	/* Blocks of per_block rules take dports 9, 10, ... up to 65535. */
	if (c->rules && FW_RULE_DPORT + (c->rules - 1) / per_block > 65535)
		xp_die("rules=%u do not fit in the ports from base_sport=%u (fix: base_sport at most %u, or fewer rules)",
		       c->rules, c->base_sport, 65536 - DIV_ROUND_UP(c->rules, 65536 - FW_RULE_DPORT));
	if (user_logic != 1)
		need += uhash_bpf_htab_bytes(sizeof(struct pkt_tuple), sizeof(__u32), slots,
					     libbpf_num_possible_cpus());
	if (user_logic != 0)
		need += uhash_mem_bytes(sizeof(struct pkt_tuple), sizeof(__u32), slots);
	avail = xp_mem_available();
	if (avail && need > avail)
		xp_die("rules=%u needs %.0f MiB for the rule table, %.0f MiB available (fix: lower rules or free memory)",
		       c->rules, need / MIB, avail / MIB);

	map = bpf_object__find_map_by_name(obj, FW_MAP);
	if (!map)
		xp_die("%s has no map %s (rebuild: make -C nfs firewall)", bpf_object__name(obj), FW_MAP);
	/* An AF_XDP mode never looks at the map: keep it at one element. */
	if (bpf_map__set_max_entries(map, user_logic == 1 ? 1 : slots))
		xp_die("cannot size map %s to %u rules (is the object already loaded?)", FW_MAP, slots);
}

static void make_rule(__u32 i, void *key, void *value, const void *ctx)
{
	fw_rule(ctx, i, key);
	*(__u32 *)value = i;
}

static void firewall_after_load(struct bpf_object *obj, const void *data)
{
	const struct firewall_cfg *c = data;
	int map_fd = -1, err;

	if (user_logic != 0) {
		err = uhash_init(&table, sizeof(struct pkt_tuple), sizeof(__u32),
				 c->rules ? c->rules : 1, 0);
		if (err)
			xp_die_errno(-err, "cannot allocate the table for rules=%u (fix: lower rules or free memory)",
				     c->rules);
	}
	if (user_logic != 1)
		map_fd = bpf_object__find_map_fd_by_name(obj, FW_MAP);
	err = uhash_fill(user_logic != 0 ? &table : NULL, map_fd, sizeof(struct pkt_tuple),
			 sizeof(__u32), c->rules, make_rule, c);
	if (err)
		xp_die_errno(-err, "cannot install %u rules (fix: lower rules or free memory)", c->rules);
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
