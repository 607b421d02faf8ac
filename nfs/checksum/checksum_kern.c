// SPDX-License-Identifier: GPL-2.0
/* checksum in XDP; see checksum.h and nf_kern.h. */
#include "nf_kern.h"
#include "checksum.h"

NF_XDP(struct checksum_cfg, checksum_process)
