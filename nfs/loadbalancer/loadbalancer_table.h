/* SPDX-License-Identifier: GPL-2.0 */
/* The load balancer's session table in user space (not for BPF): sized and
 * checked before the object loads, filled after, in the BPF hash map and/or
 * a uhash table, whichever world runs the load balancer. Shared by
 * loadbalancer_user.c and chain_user.c. The includer defines lb_lookup()
 * on its struct uhash. NF_TABLE_BPF / NF_TABLE_USER as in firewall_table.h.
 */
#ifndef LOADBALANCER_TABLE_H
#define LOADBALANCER_TABLE_H

#include <errno.h>
#include <bpf/libbpf.h>

#include "nf.h"
#include "uhash.h"
#include "loadbalancer.h"

#define LB_MAP "lb_sessions"

/* The values of --param proto. */
static const struct nf_choice lb_protos[] = {
	{ "udp", IPPROTO_UDP },
	{ "tcp", IPPROTO_TCP },
	{ NULL },
};

#ifndef NF_TABLE_BPF
#define NF_TABLE_BPF  (1u << 0)
#define NF_TABLE_USER (1u << 1)
#endif

/* Check sessions/base_sport and the memory the table needs (with *reserved
 * bytes promised to other tables, then added to it), and size the map: one
 * element when XDP never looks at it. Dies with the fix. */
static void lb_table_prepare(struct bpf_object *obj, const struct loadbalancer_cfg *c,
			     unsigned int where, unsigned long long *reserved)
{
	__u32 per_block = 65536 - c->base_sport;
	unsigned long long need = 0;
	struct bpf_map *map;

	/* Blocks of per_block sessions take clients 198.19.0.1 .. 198.19.255.255. */
	if ((c->sessions - 1) / per_block > 0xffff)
		xp_die("sessions=%u need more clients than 198.19.0.0/16 holds with base_sport=%u (fix: a lower base_sport, or fewer sessions)",
		       c->sessions, c->base_sport);
	if (where & NF_TABLE_BPF)
		need += uhash_bpf_htab_bytes(sizeof(struct pkt_tuple), sizeof(struct lb_backend),
					     c->sessions, libbpf_num_possible_cpus());
	if (where & NF_TABLE_USER)
		need += uhash_mem_bytes(sizeof(struct pkt_tuple), sizeof(struct lb_backend),
					c->sessions);
	xp_mem_reserve(reserved, need, "sessions", c->sessions, "session table");

	map = bpf_object__find_map_by_name(obj, LB_MAP);
	if (!map)
		xp_die("%s has no map %s (rebuild it: make -C nfs)", bpf_object__name(obj), LB_MAP);
	if (bpf_map__set_max_entries(map, (where & NF_TABLE_BPF) ? c->sessions : 1))
		xp_die("cannot size map %s to %u sessions (is the object already loaded?)", LB_MAP,
		       c->sessions);
}

static void lb_make_session(__u32 i, void *key, void *value, const void *ctx)
{
	lb_session_of(ctx, i, key, value);
}

/* Install the sessions where the load balancer runs: the map and/or *table. */
static void lb_table_fill(struct bpf_object *obj, const struct loadbalancer_cfg *c,
			  unsigned int where, struct uhash *table)
{
	int map_fd = -1, err;

	if (where & NF_TABLE_USER) {
		err = uhash_init(table, sizeof(struct pkt_tuple), sizeof(struct lb_backend),
				 c->sessions, 0);
		if (err)
			xp_die_errno(-err, "cannot allocate the table for sessions=%u (fix: lower sessions or free memory)",
				     c->sessions);
	}
	if (where & NF_TABLE_BPF)
		map_fd = bpf_object__find_map_fd_by_name(obj, LB_MAP);
	err = uhash_fill((where & NF_TABLE_USER) ? table : NULL, map_fd, sizeof(struct pkt_tuple),
			 sizeof(struct lb_backend), c->sessions, lb_make_session, c);
	if (err)
		xp_die_errno(-err, "cannot install %u sessions (fix: lower sessions or free memory)",
			     c->sessions);
}

#endif
