/* SPDX-License-Identifier: GPL-2.0 */
/* A small JSON writer for the one-line answers of the xdpperf protocol
 * (xdpperf.h). It grows its buffer as needed and puts the commas itself:
 *
 *	struct json j;
 *
 *	json_init(&j);
 *	json_open(&j, NULL);            // {
 *	json_u64(&j, "rx", 10);         // "rx":10
 *	json_open_array(&j, "cpus");    // ,"cpus":[
 *	json_u64(&j, NULL, 1);          // 1
 *	json_close_array(&j);           // ]
 *	json_close(&j);                 // }
 *	xp_emit("%s", json_text(&j));
 *	json_free(&j);
 *
 * A key is given inside objects and NULL inside arrays (and at the top).
 * Strings are escaped; running out of memory dies with a message.
 */
#ifndef NF_JSON_H
#define NF_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 8

struct json {
	char *buf;
	size_t len, cap;
	int depth;
	bool first[JSON_MAX_DEPTH + 1]; /* no value yet at this depth */
};

void json_init(struct json *j);
void json_free(struct json *j);
/* The text so far; valid until the next call. */
const char *json_text(const struct json *j);

void json_open(struct json *j, const char *key);       /* { */
void json_close(struct json *j);                       /* } */
void json_open_array(struct json *j, const char *key); /* [ */
void json_close_array(struct json *j);                 /* ] */

void json_str(struct json *j, const char *key, const char *value); /* NULL: null */
void json_u64(struct json *j, const char *key, unsigned long long value);
void json_int(struct json *j, const char *key, long long value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
/* A number with six decimals. */
void json_double(struct json *j, const char *key, double value);

#endif
