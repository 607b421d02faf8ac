/* SPDX-License-Identifier: GPL-2.0 */
/* memory: swap source and destination MAC, increment one randomly chosen
 * u64 of an array of `size` bytes (a read-modify-write that misses the
 * caches once the array outgrows them), then drop, bounce (tx) or pass the
 * frame. The memory demand of the NF grows with size.
 *
 * The per-packet logic is shared by memory_kern.c (XDP) and memory_user.c
 * (AF_XDP): the same xorshift64 generator and the same multiply-shift
 * mapping onto the array, so both pick the same sequence of slots. Only
 * where the array lives differs, in the shim below: a BPF array map in
 * XDP (sized by user space before load), plain process memory in AF_XDP.
 */
#ifndef MEMORY_H
#define MEMORY_H

#include "pkt.h"

#define MEMORY_MIN_SIZE 64ULL
#define MEMORY_MAX_SIZE (4ULL << 30) /* 2^29 slots: a u32 index reaches all */
#define MEMORY_DEFAULT_SIZE 4096ULL
#define MEMORY_ARRAY_MAP "memory_array"
/* Any non-zero start; xorshift never leaves zero once there. */
#define MEMORY_RNG_SEED 0x9e3779b97f4a7c15ULL

struct memory_cfg {
	__u64 size;    /* bytes, a multiple of 8 */
	__u32 slots;   /* size / 8 */
	__u32 action;  /* XDP_DROP, XDP_TX or XDP_PASS */
};

#ifdef __bpf__
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MEMORY_DEFAULT_SIZE / sizeof(__u64));
	__type(key, __u32);
	__type(value, __u64);
} memory_array SEC(".maps");

/* An array lookup the verifier inlines: no helper call. */
static __always_inline __u64 *memory_slot(__u32 index)
{
	return bpf_map_lookup_elem(&memory_array, &index);
}
#else
/* Set up by memory_user.c before the first frame (only in the modes that
 * run the logic in user space). */
static __u64 *memory_array;

/* NULL without an array, as the map lookup is NULL out of bounds. */
static __always_inline __u64 *memory_slot(__u32 index)
{
	return memory_array ? &memory_array[index] : NULL;
}
#endif

/* Generator state. Not per CPU: one NF instance serves one queue, so in
 * practice one CPU updates it; a rare race only repeats a slot. */
static __u64 memory_rng = MEMORY_RNG_SEED;

/* Marsaglia's xorshift64 (13, 7, 17). */
static __always_inline __u64 memory_random(__u64 *state)
{
	__u64 x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static __always_inline int memory_process(void *data, void *data_end,
					  const struct memory_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);
	__u64 *slot;
	__u32 index;

	/* A runt frame is an error of the test setup: make it visible. */
	if (!eth)
		return XDP_ABORTED;
	pkt_swap_macs(eth);
	/* Top 32 random bits scaled onto [0, slots): no division. */
	index = ((memory_random(&memory_rng) >> 32) * cfg->slots) >> 32;
	slot = memory_slot(index);
	if (slot)
		(*slot)++;
	return cfg->action;
}

#endif
