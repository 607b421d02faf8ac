/* SPDX-License-Identifier: GPL-2.0 */
/* uhash: a user-space hash table that behaves like the kernel's
 * BPF_MAP_TYPE_HASH (preallocated, the default), so an NF's AF_XDP logic
 * pays for its table what the same NF pays in XDP:
 *
 *   - n_buckets = roundup_pow_of_two(max_entries), bucket = hash & (n - 1);
 *   - hash = jhash (Bob Jenkins' lookup3) of the key with a random seed,
 *     the word variant when the key size is a multiple of 4 (as htab does
 *     with jhash2), the byte variant otherwise;
 *   - every element preallocated in one block when the table is made and
 *     kept on a free list, so an insert never allocates and a full table
 *     refuses with -E2BIG;
 *   - an element is { next, hash, key rounded up to 8, value rounded up to
 *     8 }; buckets are singly linked chains, new elements go to the head,
 *     and a lookup compares the stored hash before the key (memcmp).
 *
 * What it leaves out: the per-bucket locks, RCU and the per-CPU free lists
 * (one NF loop thread owns the table), and the kernel's extra elements for
 * in-place updates. Keys and values are of any size, fixed per table.
 *
 *	struct uhash t;
 *
 *	if (uhash_init(&t, sizeof(key), sizeof(value), n, 0))
 *		... out of memory ...
 *	uhash_update(&t, &key, &value);
 *	value_ptr = uhash_lookup(&t, &key);
 *
 * uhash_fill() builds a table and/or its BPF hash map twin from a
 * function that makes entry i, so both worlds hold the same entries;
 * uhash_mem_bytes(), uhash_bpf_htab_bytes() and xp_mem_available() let
 * an NF refuse a table that does not fit before it makes one.
 */
#ifndef UHASH_H
#define UHASH_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/types.h>
#include <bpf/bpf.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define UHASH_ZERO_SEED (1u << 0) /* seed 0 instead of a random one (like BPF_F_ZERO_SEED) */
#define UHASH_MAX_ENTRIES (1u << 31)

/* --- jhash: lookup3 by Bob Jenkins (public domain), written from the
 * algorithm: three 32-bit lanes, mixed every 12 bytes, finalised once. */

#define UHASH_JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 uhash_rol32(__u32 x, unsigned int k)
{
	return (x << k) | (x >> (32 - k));
}

/* Reversibly mix three lanes after each 12-byte block. */
#define UHASH_JHASH_MIX(a, b, c)					\
	do {								\
		a -= c; a ^= uhash_rol32(c, 4);  c += b;		\
		b -= a; b ^= uhash_rol32(a, 6);  a += c;		\
		c -= b; c ^= uhash_rol32(b, 8);  b += a;		\
		a -= c; a ^= uhash_rol32(c, 16); c += b;		\
		b -= a; b ^= uhash_rol32(a, 19); a += c;		\
		c -= b; c ^= uhash_rol32(b, 4);  b += a;		\
	} while (0)

/* Final avalanche of the three lanes into c. */
#define UHASH_JHASH_FINAL(a, b, c)					\
	do {								\
		c ^= b; c -= uhash_rol32(b, 14);			\
		a ^= c; a -= uhash_rol32(c, 11);			\
		b ^= a; b -= uhash_rol32(a, 25);			\
		c ^= b; c -= uhash_rol32(b, 16);			\
		a ^= c; a -= uhash_rol32(c, 4);				\
		b ^= a; b -= uhash_rol32(a, 14);			\
		c ^= b; c -= uhash_rol32(b, 24);			\
	} while (0)

static __always_inline __u32 uhash_load32(const __u8 *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, sizeof(v)); /* CPU order, any alignment */
	return v;
}

/* lookup3 over n 32-bit words (the kernel's jhash2). */
static __always_inline __u32 uhash_jhash_words(const void *key, __u32 n, __u32 seed)
{
	const __u8 *k = key;
	__u32 a, b, c;

	a = b = c = UHASH_JHASH_INITVAL + (n << 2) + seed;
	while (n > 3) {
		a += uhash_load32(k);
		b += uhash_load32(k + 4);
		c += uhash_load32(k + 8);
		UHASH_JHASH_MIX(a, b, c);
		n -= 3;
		k += 12;
	}
	switch (n) {
	case 3:
		c += uhash_load32(k + 8);
		/* fallthrough */
	case 2:
		b += uhash_load32(k + 4);
		/* fallthrough */
	case 1:
		a += uhash_load32(k);
		UHASH_JHASH_FINAL(a, b, c);
		break;
	case 0: /* nothing left to add: c as it is */
		break;
	}
	return c;
}

/* lookup3 over len bytes (the kernel's jhash; hashlittle on little endian). */
static __always_inline __u32 uhash_jhash_bytes(const void *key, __u32 len, __u32 seed)
{
	const __u8 *k = key;
	__u32 a, b, c;

	a = b = c = UHASH_JHASH_INITVAL + len + seed;
	while (len > 12) {
		a += uhash_load32(k);
		b += uhash_load32(k + 4);
		c += uhash_load32(k + 8);
		UHASH_JHASH_MIX(a, b, c);
		len -= 12;
		k += 12;
	}
	switch (len) {
	case 12: c += (__u32)k[11] << 24; /* fallthrough */
	case 11: c += (__u32)k[10] << 16; /* fallthrough */
	case 10: c += (__u32)k[9] << 8;   /* fallthrough */
	case 9:  c += k[8];               /* fallthrough */
	case 8:  b += (__u32)k[7] << 24;  /* fallthrough */
	case 7:  b += (__u32)k[6] << 16;  /* fallthrough */
	case 6:  b += (__u32)k[5] << 8;   /* fallthrough */
	case 5:  b += k[4];               /* fallthrough */
	case 4:  a += (__u32)k[3] << 24;  /* fallthrough */
	case 3:  a += (__u32)k[2] << 16;  /* fallthrough */
	case 2:  a += (__u32)k[1] << 8;   /* fallthrough */
	case 1:  a += k[0];
		UHASH_JHASH_FINAL(a, b, c);
		break;
	case 0:
		break;
	}
	return c;
}

/* The hash htab uses for a key: jhash2 when the size allows, else jhash. */
static __always_inline __u32 uhash_jhash(const void *key, __u32 len, __u32 seed)
{
	if ((len & 3) == 0)
		return uhash_jhash_words(key, len / 4, seed);
	return uhash_jhash_bytes(key, len, seed);
}

/* --- the table ---------------------------------------------------------- */

struct uhash_node {
	struct uhash_node *next; /* bucket chain, or free list */
	__u32 hash;
	__u32 pad;
	__u8 data[] __attribute__((aligned(8))); /* key, then value at key_room */
};

struct uhash {
	__u32 key_size;
	__u32 value_size;
	__u32 key_room;   /* key_size rounded up to 8: where the value starts */
	__u32 elem_size;  /* node + key_room + value rounded up to 8 */
	__u32 max_entries;
	__u32 n_buckets;  /* power of two */
	__u32 count;
	__u32 seed;
	struct uhash_node **buckets;
	__u8 *elems;      /* max_entries elements, one allocation */
	struct uhash_node *free;
};

static inline __u32 uhash_round8(__u32 n)
{
	return (n + 7) & ~7u;
}

static inline __u32 uhash_roundup_pow2(__u32 n)
{
	__u32 p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Bytes uhash_init() allocates for such a table (to check before making it). */
static inline unsigned long long uhash_mem_bytes(__u32 key_size, __u32 value_size,
						 __u32 max_entries)
{
	unsigned long long elem = sizeof(struct uhash_node) + uhash_round8(key_size) +
				  uhash_round8(value_size);

	return elem * max_entries +
	       (unsigned long long)uhash_roundup_pow2(max_entries) * sizeof(struct uhash_node *);
}

/* Bytes the kernel takes for a preallocated BPF_MAP_TYPE_HASH of this
 * shape (struct htab_elem is 48 bytes, struct bucket 16, and htab keeps
 * one extra element per possible CPU): to check memory before creating it. */
static inline unsigned long long uhash_bpf_htab_bytes(__u32 key_size, __u32 value_size,
						      __u32 max_entries, int ncpus)
{
	unsigned long long elem = 48 + uhash_round8(key_size) + uhash_round8(value_size);

	return elem * ((unsigned long long)max_entries + (ncpus > 0 ? ncpus : 1)) +
	       (unsigned long long)uhash_roundup_pow2(max_entries) * 16;
}

/* Make an empty table with all max_entries elements allocated (and touched,
 * as the kernel's free list touches them). 0, -EINVAL or -ENOMEM. */
static inline int uhash_init(struct uhash *h, __u32 key_size, __u32 value_size,
			     __u32 max_entries, unsigned int flags)
{
	__u32 i;

	memset(h, 0, sizeof(*h));
	if (!key_size || !value_size || !max_entries || max_entries > UHASH_MAX_ENTRIES)
		return -EINVAL;
	h->key_size = key_size;
	h->value_size = value_size;
	h->key_room = uhash_round8(key_size);
	h->elem_size = sizeof(struct uhash_node) + h->key_room + uhash_round8(value_size);
	h->max_entries = max_entries;
	h->n_buckets = uhash_roundup_pow2(max_entries);
	if (!(flags & UHASH_ZERO_SEED) && getrandom(&h->seed, sizeof(h->seed), 0) != sizeof(h->seed))
		return -errno;
	h->buckets = calloc(h->n_buckets, sizeof(*h->buckets));
	h->elems = malloc((size_t)h->elem_size * max_entries);
	if (!h->buckets || !h->elems) {
		free(h->buckets);
		free(h->elems);
		h->buckets = NULL;
		h->elems = NULL;
		return -ENOMEM;
	}
	/* Free list in address order: the first insert takes the first element. */
	for (i = max_entries; i-- > 0;) {
		struct uhash_node *n = (void *)(h->elems + (size_t)i * h->elem_size);

		n->next = h->free;
		h->free = n;
	}
	return 0;
}

static inline void uhash_free(struct uhash *h)
{
	free(h->buckets);
	free(h->elems);
	memset(h, 0, sizeof(*h));
}

static __always_inline struct uhash_node **uhash_bucket(const struct uhash *h, __u32 hash)
{
	return &h->buckets[hash & (h->n_buckets - 1)];
}

static __always_inline struct uhash_node *uhash_find(const struct uhash *h, const void *key,
						     __u32 hash)
{
	struct uhash_node *n;

	for (n = *uhash_bucket(h, hash); n; n = n->next)
		if (n->hash == hash && memcmp(n->data, key, h->key_size) == 0)
			return n;
	return NULL;
}

/* The value stored for key, or NULL (bpf_map_lookup_elem). */
static __always_inline void *uhash_lookup(const struct uhash *h, const void *key)
{
	struct uhash_node *n = uhash_find(h, key, uhash_jhash(key, h->key_size, h->seed));

	return n ? n->data + h->key_room : NULL;
}

/* Insert or overwrite (BPF_ANY). 0, or -E2BIG when the table is full. */
static inline int uhash_update(struct uhash *h, const void *key, const void *value)
{
	__u32 hash = uhash_jhash(key, h->key_size, h->seed);
	struct uhash_node *n = uhash_find(h, key, hash);
	struct uhash_node **head;

	if (!n) {
		if (!h->free)
			return -E2BIG;
		n = h->free;
		h->free = n->next;
		n->hash = hash;
		memcpy(n->data, key, h->key_size);
		head = uhash_bucket(h, hash);
		n->next = *head;
		*head = n;
		h->count++;
	}
	memcpy(n->data + h->key_room, value, h->value_size);
	return 0;
}

/* Remove key; 0, or -ENOENT. The element goes back to the free list. */
static inline int uhash_delete(struct uhash *h, const void *key)
{
	__u32 hash = uhash_jhash(key, h->key_size, h->seed);
	struct uhash_node **pp, *n;

	for (pp = uhash_bucket(h, hash); (n = *pp); pp = &n->next) {
		if (n->hash == hash && memcmp(n->data, key, h->key_size) == 0) {
			*pp = n->next;
			n->next = h->free;
			h->free = n;
			h->count--;
			return 0;
		}
	}
	return -ENOENT;
}

/* --- filling a table and its BPF twin ------------------------------------ */

#define UHASH_FILL_BATCH 8192
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "operation not supported" */
#endif

/* Makes entry i: its key and value. */
typedef void (*uhash_entry_fn)(__u32 i, void *key, void *value, const void *ctx);

/* Put entries 0..n-1 made by make into h (unless NULL) and into the BPF
 * hash map map_fd (unless < 0), the map in batches of UHASH_FILL_BATCH
 * (one element at a time if the kernel has no batch update). 0 or -errno. */
static inline int uhash_fill(struct uhash *h, int map_fd, __u32 key_size, __u32 value_size,
			     __u32 n, uhash_entry_fn make, const void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u8 *keys = malloc((size_t)key_size * UHASH_FILL_BATCH);
	__u8 *values = malloc((size_t)value_size * UHASH_FILL_BATCH);
	bool batch = true;
	__u32 i, j, count;
	int err = 0;

	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i += count) {
		count = n - i < UHASH_FILL_BATCH ? n - i : UHASH_FILL_BATCH;
		memset(keys, 0, (size_t)key_size * count);
		memset(values, 0, (size_t)value_size * count);
		for (j = 0; j < count; j++) {
			make(i + j, keys + (size_t)j * key_size, values + (size_t)j * value_size, ctx);
			if (h && (err = uhash_update(h, keys + (size_t)j * key_size,
						     values + (size_t)j * value_size)))
				goto out;
		}
		if (map_fd < 0)
			continue;
		if (batch) {
			__u32 done = count;

			if (!bpf_map_update_batch(map_fd, keys, values, &done, &opts))
				continue;
			err = -errno;
			if (i != 0 || done != 0 || (err != -EINVAL && err != -EOPNOTSUPP &&
						     err != -ENOTSUPP))
				goto out;
			batch = false; /* an old kernel: one at a time from here */
			err = 0;
		}
		for (j = 0; j < count && !err; j++)
			if (bpf_map_update_elem(map_fd, keys + (size_t)j * key_size,
						values + (size_t)j * value_size, BPF_ANY))
				err = -errno;
	}
out:
	free(keys);
	free(values);
	return err;
}

#endif
