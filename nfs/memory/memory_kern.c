// SPDX-License-Identifier: GPL-2.0
/* memory in XDP; see memory.h and nf_kern.h. */
#include "nf_kern.h"
#include "memory.h"

NF_XDP(struct memory_cfg, memory_process)
