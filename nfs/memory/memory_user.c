// SPDX-License-Identifier: GPL-2.0
/* memory: the NF runtime (nf.h) with memory's parameters and logic.
 *
 * The array is allocated once, where the logic runs: as the BPF map
 * memory_array in the modes that run the NF in XDP, in this process in the
 * AF_XDP modes. Either way it is all allocated and zeroed before the first
 * frame, so no page fault falls into a measurement.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "nf.h"
#include "memory.h"

static struct memory_cfg cfg = {
	.size = MEMORY_DEFAULT_SIZE,
	.slots = MEMORY_DEFAULT_SIZE / sizeof(__u64),
	.action = XDP_DROP,
};

static const struct nf_param memory_params[] = {
	NF_PARAM_ACTION("action", struct memory_cfg, action, "what to do after the work"),
	NF_PARAM_SIZE("size", struct memory_cfg, size, MEMORY_MIN_SIZE, MEMORY_MAX_SIZE,
		      sizeof(__u64), "bytes of the array each frame reads and writes"),
	NF_PARAMS_END,
};

/* Size the map (a single slot if XDP only redirects) and, for AF_XDP,
 * allocate the process's array. Called after pinning, so the pages land
 * on the NUMA node of the NF's CPU. */
static void memory_before_load(struct nf_ctx *ctx)
{
	struct memory_cfg *c = ctx->cfg;
	struct bpf_map *map = bpf_object__find_map_by_name(ctx->obj, MEMORY_ARRAY_MAP);
	unsigned long long avail;
	const char *what;
	char size[32];

	c->slots = c->size / sizeof(__u64);
	avail = xp_mem_available(&what);
	nf_format_size(size, sizeof(size), c->size);
	if (avail && c->size > avail)
		xp_die("size '%s' is more than the %llu MiB of %s (use a smaller size, or %s)",
		       size, avail >> 20, what, XP_MEM_FIX);
	if (!map)
		xp_die("%s has no map %s (rebuild memory_kern.o from memory.h)",
		       bpf_object__name(ctx->obj), MEMORY_ARRAY_MAP);
	if (bpf_map__set_max_entries(map, ctx->user_logic ? 1 : c->slots))
		xp_die("cannot size map %s to %u entries (rebuild memory_kern.o)",
		       MEMORY_ARRAY_MAP, c->slots);
	if (!ctx->user_logic)
		return;
	/* MAP_POPULATE on a writable private mapping allocates every page. */
	memory_array = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (memory_array == MAP_FAILED)
		xp_die_errno(errno, "size %llu: cannot allocate the array (free memory or use a smaller size)",
			     (unsigned long long)c->size);
}

NF_BATCH(memory_batch, memory_process, struct memory_cfg)

/* Where the array lives and how big it is: a test reads the user-space one
 * through /proc/<pid>/mem at this address to see every frame's access. */
static void memory_ready_info(const struct nf_ctx *ctx, struct json *out)
{
	const struct memory_cfg *c = ctx->cfg;

	json_str(out, "array", ctx->user_logic ? "user" : "kernel");
	json_u64(out, "bytes", c->size);
	json_u64(out, "slots", c->slots);
	json_u64(out, "addr", ctx->user_logic ? (unsigned long long)(uintptr_t)memory_array : 0);
}

static const struct nf_ops memory_ops = {
	.name = "memory",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = memory_params,
	.before_load = memory_before_load,
	.batch = memory_batch,
	.ready_info = memory_ready_info,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &memory_ops);
}
