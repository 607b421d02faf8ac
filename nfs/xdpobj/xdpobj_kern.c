// SPDX-License-Identifier: GPL-2.0
/* xdpobj's own object: the maps and rodata of nf_kern.h and no program;
 * the program is the foreign one (see xdpobj.h). */
#include "nf_kern.h"
#include "xdpobj.h"

NF_CFG(struct xdpobj_cfg);
