/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the NF runtime (not for NFs, which see only nf.h): the state of one
 * NF process, shared by the files of the runtime. */
#ifndef NF_RUNTIME_H
#define NF_RUNTIME_H

#include <limits.h>
#include <pthread.h>

#include "nf.h"
#include "nf_modes.h"
#include "xsk.h"

struct nf_args {
	const char *netns;
	const char *ifname;
	const char *obj_path;
	const char *pass_ifname;
	const struct nf_mode *mode;
	int cpu;
	__u32 queue;
	unsigned int attach; /* NF_ATTACH_* */
	unsigned int bind;   /* NF_BIND_* */
	bool need_wakeup;
	int busy_poll_usecs;
	int busy_poll_budget;
};

struct nf_state {
	const struct nf_ops *ops;
	struct nf_args args;
	struct nf_ctx ctx; /* what the NF's hooks get */
	char obj_path[PATH_MAX];
	unsigned int ifindex;
	struct bpf_object *obj;
	int prog_fd;
	int link_fd;
	int stats_fd;
	int xsks_fd;
	__u32 prog_id;
	struct xsk_port port;
	bool has_port;
	struct nf_counters counters;
	/* Held by the control thread while it reads, and by teardown. */
	pthread_mutex_t lock;
	bool closed;
};

/* nf_args_lib.c: the command line into s->args and ops->cfg; answers
 * --help, --describe and --describe-modes and exits. */
void nf_parse_args(struct nf_state *s, int argc, char **argv);

/* nf_load_lib.c */
void nf_find_object(struct nf_state *s);
void nf_load_object(struct nf_state *s);
void nf_attach(struct nf_state *s);

#endif
