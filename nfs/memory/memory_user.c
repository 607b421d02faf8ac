// SPDX-License-Identifier: GPL-2.0
/* memory: the NF runtime (nf.h) with memory's parameters and logic.
 *   --param action=drop|tx|pass   what to do after the work (default drop)
 *   --param size=N[K|M|G]         bytes of the array, 64 to 4G, a multiple
 *                                 of 8 (default 4096; K = 1024)
 *
 * The array is allocated once, where the logic runs: as the BPF map
 * memory_array in the modes that run the NF in XDP, in this process in the
 * AF_XDP modes. Either way it is all allocated and zeroed before the first
 * frame, so no page fault falls into a measurement.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nf.h"
#include "memory.h"

#define MEMORY_SIZE_FIX "give a byte count from 64 to 4G, a multiple of 8, " \
	"with an optional K, M or G suffix, e.g. size=64M"

static struct memory_cfg cfg = {
	.size = MEMORY_DEFAULT_SIZE,
	.slots = MEMORY_DEFAULT_SIZE / sizeof(__u64),
	.action = XDP_DROP,
};

/* Where the array lives: the map for XDP logic, the process for AF_XDP. */
enum memory_place { MEMORY_BOTH, MEMORY_KERNEL, MEMORY_USER };
static enum memory_place place = MEMORY_BOTH;

static __u64 memory_parse_size(const char *text)
{
	unsigned long long value, avail;
	const char *what;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		xp_die("size '%s' is not a byte count (%s)", text, MEMORY_SIZE_FIX);
	errno = 0;
	value = strtoull(text, &end, 10);
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T': /* only to say plainly that it is too much */
		shift = 40;
		break;
	case '\0':
		break;
	default:
		xp_die("size '%s' has an unknown unit (%s)", text, MEMORY_SIZE_FIX);
	}
	if (shift && end[1])
		xp_die("size '%s' has an unknown unit (%s)", text, MEMORY_SIZE_FIX);
	if (errno || value > MEMORY_MAX_SIZE >> shift)
		xp_die("size '%s' is over the limit of 4G (use at most size=4G)", text);
	value <<= shift;
	if (value < MEMORY_MIN_SIZE)
		xp_die("size '%s' is below the minimum of %llu bytes (use at least size=%llu)",
		       text, MEMORY_MIN_SIZE, MEMORY_MIN_SIZE);
	if (value % sizeof(__u64))
		xp_die("size '%s' is not a multiple of 8 bytes (use size=%llu or size=%llu)",
		       text, value & ~7ULL, (value + 7) & ~7ULL);
	avail = xp_mem_available(&what);
	if (avail && value > avail)
		xp_die("size '%s' is more than the %llu MiB of %s (use a smaller size, or %s)",
		       text, avail >> 20, what, XP_MEM_FIX);
	return value;
}

static bool memory_param(void *data, const char *key, const char *value)
{
	struct memory_cfg *c = data;

	if (strcmp(key, "action") == 0) {
		c->action = nf_parse_action("action", value);
	} else if (strcmp(key, "size") == 0) {
		c->size = memory_parse_size(value);
		c->slots = c->size / sizeof(__u64);
	} else {
		return false;
	}
	return true;
}

/* Size the map (a single slot if XDP only redirects) and, for AF_XDP,
 * allocate the process's array. Called after pinning, so the pages land
 * on the NUMA node of the NF's CPU. */
static void memory_before_load(struct bpf_object *obj, void *data)
{
	const struct memory_cfg *c = data;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, MEMORY_ARRAY_MAP);

	place = nf_user_logic() ? MEMORY_USER : MEMORY_KERNEL;
	if (!map)
		xp_die("%s has no map %s (rebuild memory_kern.o from memory.h)",
		       bpf_object__name(obj), MEMORY_ARRAY_MAP);
	if (bpf_map__set_max_entries(map, place == MEMORY_USER ? 1 : c->slots))
		xp_die("cannot size map %s to %u entries (rebuild memory_kern.o)",
		       MEMORY_ARRAY_MAP, c->slots);
	if (place == MEMORY_KERNEL)
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
static void memory_ready_info(char *buf, size_t size, const void *data)
{
	const struct memory_cfg *c = data;

	snprintf(buf, size, "{\"array\":\"%s\",\"bytes\":%llu,\"slots\":%u,\"addr\":%llu}",
		 place == MEMORY_USER ? "user" : "kernel", (unsigned long long)c->size,
		 c->slots, place == MEMORY_USER ? (unsigned long long)(uintptr_t)memory_array : 0ULL);
}

static const struct nf_ops memory_ops = {
	.name = "memory",
	.params_help = "action=drop|tx|pass (default drop), size=64..4G bytes, a multiple of 8, "
		       "K/M/G suffixes (default 4096)",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.param = memory_param,
	.before_load = memory_before_load,
	.batch = memory_batch,
	.ready_info = memory_ready_info,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &memory_ops);
}
