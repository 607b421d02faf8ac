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
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "nf.h"
#include "uhash.h"
#include "loadbalancer.h"

#define LB_MAP "lb_sessions"
#define MIB (1024.0 * 1024.0)

static struct loadbalancer_cfg cfg = {
	.miss = XDP_DROP,
	.sessions = 1,
	.backends = LB_DEFAULT_BACKENDS,
	.proto = IPPROTO_UDP,
	.base_sport = LB_DEFAULT_BASE_SPORT,
};

/* Which world's table this run needs: set from nf_user_logic() in
 * before_load (1 = user space, 0 = the XDP program). */
static int user_logic = -1;
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
	struct loadbalancer_cfg *c = data;
	__u32 per_block = 65536 - c->base_sport;
	unsigned long long need = 0, avail;
	struct bpf_map *map;

	user_logic = nf_user_logic();
	/* Blocks of per_block sessions take clients 198.19.0.1 .. 198.19.255.255. */
	if ((c->sessions - 1) / per_block > 0xffff)
		xp_die("sessions=%u need more clients than 198.19.0.0/16 holds with base_sport=%u (fix: a lower base_sport, or fewer sessions)",
		       c->sessions, c->base_sport);
	if (user_logic != 1)
		need += uhash_bpf_htab_bytes(sizeof(struct pkt_tuple), sizeof(struct lb_backend),
					     c->sessions, libbpf_num_possible_cpus());
	if (user_logic != 0)
		need += uhash_mem_bytes(sizeof(struct pkt_tuple), sizeof(struct lb_backend),
					c->sessions);
	avail = xp_mem_available();
	if (avail && need > avail)
		xp_die("sessions=%u needs %.0f MiB for the session table, %.0f MiB available (fix: lower sessions or free memory)",
		       c->sessions, need / MIB, avail / MIB);

	map = bpf_object__find_map_by_name(obj, LB_MAP);
	if (!map)
		xp_die("%s has no map %s (rebuild: make -C nfs loadbalancer)", bpf_object__name(obj),
		       LB_MAP);
	/* An AF_XDP mode never looks at the map: keep it at one element. */
	if (bpf_map__set_max_entries(map, user_logic == 1 ? 1 : c->sessions))
		xp_die("cannot size map %s to %u sessions (is the object already loaded?)", LB_MAP,
		       c->sessions);
}

static void make_session(__u32 i, void *key, void *value, const void *ctx)
{
	lb_session_of(ctx, i, key, value);
}

static void lb_after_load(struct bpf_object *obj, const void *data)
{
	const struct loadbalancer_cfg *c = data;
	int map_fd = -1, err;

	if (user_logic != 0) {
		err = uhash_init(&table, sizeof(struct pkt_tuple), sizeof(struct lb_backend),
				 c->sessions, 0);
		if (err)
			xp_die_errno(-err, "cannot allocate the table for sessions=%u (fix: lower sessions or free memory)",
				     c->sessions);
	}
	if (user_logic != 1)
		map_fd = bpf_object__find_map_fd_by_name(obj, LB_MAP);
	err = uhash_fill(user_logic != 0 ? &table : NULL, map_fd, sizeof(struct pkt_tuple),
			 sizeof(struct lb_backend), c->sessions, make_session, c);
	if (err)
		xp_die_errno(-err, "cannot install %u sessions (fix: lower sessions or free memory)",
			     c->sessions);
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
