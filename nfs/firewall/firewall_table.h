/* SPDX-License-Identifier: GPL-2.0 */
/* The firewall's rule table in user space (not for BPF): sized and checked
 * before the object loads, filled after, in the BPF hash map and/or a uhash
 * table, whichever world runs the firewall. Shared by firewall_user.c and
 * the NFs that put the firewall in front of something (chain_user.c).
 * The includer defines firewall_match() on its struct uhash.
 */
#ifndef FIREWALL_TABLE_H
#define FIREWALL_TABLE_H

#include <errno.h>
#include <bpf/libbpf.h>

#include "nf.h"
#include "uhash.h"
#include "firewall.h"

#define FW_MAP "fw_rules"

/* Where a table lives: bits of `where` below. */
#define NF_TABLE_BPF  (1u << 0) /* the BPF hash map: the XDP program runs this stage */
#define NF_TABLE_USER (1u << 1) /* a uhash table: the AF_XDP loop runs this stage */

/* Check rules/base_sport/dport and the memory the table needs (with
 * *reserved bytes already promised to other tables, then added to it), and
 * size the map: one element when XDP never looks at it. Dies with the fix. */
static void fw_table_prepare(struct bpf_object *obj, const struct firewall_cfg *c,
			     unsigned int where, unsigned long long *reserved)
{
	__u32 per_block = 65536 - c->base_sport;
	__u32 slots = c->rules ? c->rules : 1;
	unsigned long long need = 0;
	struct bpf_map *map;

	/* Blocks of per_block rules take dports dport, dport + 1, ... up to 65535. */
	if (c->rules && c->dport + (c->rules - 1) / per_block > 65535)
		xp_die("rules=%u do not fit in the ports from base_sport=%u (fix: base_sport at most %u, or fewer rules)",
		       c->rules, c->base_sport,
		       65536 - (c->rules + (65536 - c->dport) - 1) / (65536 - c->dport));
	if (where & NF_TABLE_BPF)
		need += uhash_bpf_htab_bytes(sizeof(struct pkt_tuple), sizeof(__u32), slots,
					     libbpf_num_possible_cpus());
	if (where & NF_TABLE_USER)
		need += uhash_mem_bytes(sizeof(struct pkt_tuple), sizeof(__u32), slots);
	xp_mem_reserve(reserved, need, "rules", c->rules, "rule table");

	map = bpf_object__find_map_by_name(obj, FW_MAP);
	if (!map)
		xp_die("%s has no map %s (rebuild it: make -C nfs)", bpf_object__name(obj), FW_MAP);
	if (bpf_map__set_max_entries(map, (where & NF_TABLE_BPF) ? slots : 1))
		xp_die("cannot size map %s to %u rules (is the object already loaded?)", FW_MAP, slots);
}

static void fw_make_rule(__u32 i, void *key, void *value, const void *ctx)
{
	fw_rule(ctx, i, key);
	*(__u32 *)value = i;
}

/* Install the rules where the firewall runs: the loaded object's map and/or *table. */
static void fw_table_fill(struct bpf_object *obj, const struct firewall_cfg *c,
			  unsigned int where, struct uhash *table)
{
	int map_fd = -1, err;

	if (where & NF_TABLE_USER) {
		err = uhash_init(table, sizeof(struct pkt_tuple), sizeof(__u32),
				 c->rules ? c->rules : 1, 0);
		if (err)
			xp_die_errno(-err, "cannot allocate the table for rules=%u (fix: lower rules or free memory)",
				     c->rules);
	}
	if (where & NF_TABLE_BPF)
		map_fd = bpf_object__find_map_fd_by_name(obj, FW_MAP);
	err = uhash_fill((where & NF_TABLE_USER) ? table : NULL, map_fd, sizeof(struct pkt_tuple),
			 sizeof(__u32), c->rules, fw_make_rule, c);
	if (err)
		xp_die_errno(-err, "cannot install %u rules (fix: lower rules or free memory)", c->rules);
}

#endif
