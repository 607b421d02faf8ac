// SPDX-License-Identifier: GPL-2.0
/* macswap in XDP; see macswap.h and nf_kern.h. */
#include "nf_kern.h"
#include "macswap.h"

NF_XDP(struct macswap_cfg, macswap_process)
