/* SPDX-License-Identifier: GPL-2.0 */
/* xdpobj: measure an XDP program from an object file that knows nothing of
 * xdpperf (built with clang -O2 -g -target bpf). xdpobj_kern.o holds only
 * what the runtime expects of every NF object (nf_stats, xsks_map, the
 * rodata); xdpobj_user.c loads the foreign program, with its verdicts
 * counted into nf_stats, and has the runtime attach it (nf_ops.xdp_prog).
 */
#ifndef XDPOBJ_H
#define XDPOBJ_H

#define XDPOBJ_PATH_MAX 4096
#define XDPOBJ_NAME_MAX 128

struct xdpobj_cfg {
	char obj[XDPOBJ_PATH_MAX];  /* the foreign object file */
	char prog[XDPOBJ_NAME_MAX]; /* its XDP program; "" = the first one */
};

#endif
