/* SPDX-License-Identifier: GPL-2.0 */
/* chain: the reference study's mixed experiment. A firewall (firewall.h:
 * 5-tuple ACL, drop on match) in front of a load balancer (loadbalancer.h:
 * session table, rewrite to a backend and back out), optionally behind an
 * XDP dispatcher that sends local flows to the DUT's stack.
 *
 * Where each stage runs (--mode and --param placement):
 *
 *	mode            placement=hybrid (default)      placement=user
 *	xdp, xdp-sk*    dispatcher, firewall, LB in XDP  (refused)
 *	af_xdp*         dispatcher, firewall in XDP;     dispatcher in XDP;
 *	                survivors to the AF_XDP socket,  firewall and LB in
 *	                LB in user space                 user space ("pure AF_XDP")
 *
 * The dispatcher (dispatch=local) passes UDP/TCP frames whose destination
 * port is in [local_port, local_port + local_ports) to the stack (XDP_PASS)
 * before any other stage; every other frame goes on as above.
 *
 * The flows, so the mixed experiment's "dropped share" is a parameter: the
 * load balancer holds `sessions` sessions (loadbalancer.h: client port
 * base_sport + i to the VIP 198.18.0.2:80) and the firewall's `rules`
 * rules are the first `rules` of those same flows (firewall.h's rule set
 * with dport 80 and the sessions' protocol): rules/sessions of the flows
 * are dropped by the firewall, the rest balanced. While rules and sessions
 * stay within one block of ports (65536 - base_sport) rule i is session i.
 */
#ifndef CHAIN_H
#define CHAIN_H

#include "../firewall/firewall.h"
#include "../loadbalancer/loadbalancer.h"

#define CHAIN_HYBRID 0 /* AF_XDP modes: firewall in XDP, LB in user space */
#define CHAIN_USER   1 /* AF_XDP modes: both in user space */
#define CHAIN_DEFAULT_LOCAL_PORT 11211 /* memcached */

struct chain_cfg {
	struct firewall_cfg fw;   /* fw.action is XDP_PASS: "go on to the LB" */
	struct loadbalancer_cfg lb;
	__u32 placement;          /* CHAIN_HYBRID or CHAIN_USER */
	__u32 dispatch;           /* 1: local flows to the stack first */
	__u32 local_port;         /* first local destination port */
	__u32 local_ports;        /* number of local ports */
};

/* The dispatcher: true for a frame of a local flow. */
static __always_inline bool chain_local(void *data, void *data_end, const struct chain_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);
	struct iphdr *ip;
	struct pkt_l4 l4;
	__u32 port;

	if (!eth)
		return false;
	ip = pkt_ipv4(eth, data_end);
	if (!ip || !pkt_l4(ip, data_end, &l4))
		return false;
	port = bpf_ntohs(l4.ports[1]);
	return port >= cfg->local_port && port - cfg->local_port < cfg->local_ports;
}

/* Firewall, then the load balancer for what it lets through. */
static __always_inline int chain_process(void *data, void *data_end, const struct chain_cfg *cfg)
{
	int action = firewall_process(data, data_end, &cfg->fw);

	if (action != XDP_PASS)
		return action;
	return loadbalancer_process(data, data_end, &cfg->lb);
}

/* What the AF_XDP loop runs: the stages XDP left to it. */
static __always_inline int chain_user_process(void *data, void *data_end,
					      const struct chain_cfg *cfg)
{
	if (cfg->placement == CHAIN_USER)
		return chain_process(data, data_end, cfg);
	return loadbalancer_process(data, data_end, &cfg->lb);
}


/* The parameters' defaults, for the XDP program's rodata and user space alike. */
#define CHAIN_CFG_DEFAULTS { \
	.fw = { \
		.action = XDP_PASS, \
		.rules = 0, \
		.base_sport = LB_DEFAULT_BASE_SPORT, \
		.dport = LB_VIP_PORT, \
		.proto = IPPROTO_UDP, \
	}, \
	.lb = { \
		.miss = XDP_DROP, \
		.sessions = 1, \
		.backends = LB_DEFAULT_BACKENDS, \
		.proto = IPPROTO_UDP, \
		.base_sport = LB_DEFAULT_BASE_SPORT, \
	}, \
	.placement = CHAIN_HYBRID, \
	.local_port = CHAIN_DEFAULT_LOCAL_PORT, \
	.local_ports = 1, \
}

#endif
