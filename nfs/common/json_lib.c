// SPDX-License-Identifier: GPL-2.0
/* See json.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xdpperf.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
	j->first[0] = true;
}

void json_free(struct json *j)
{
	free(j->buf);
	json_init(j);
}

const char *json_text(const struct json *j)
{
	return j->buf ? j->buf : "";
}

static void reserve(struct json *j, size_t more)
{
	size_t cap = j->cap ? j->cap : 256;
	char *buf;

	if (j->len + more + 1 <= j->cap)
		return;
	while (j->len + more + 1 > cap)
		cap *= 2;
	buf = realloc(j->buf, cap);
	if (!buf)
		xp_die("out of memory for a %zu-byte JSON answer (free some memory)", cap);
	j->buf = buf;
	j->cap = cap;
}

static void append(struct json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	reserve(j, n);
	va_start(ap, fmt);
	vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
	va_end(ap);
	j->len += n;
}

static void quoted(struct json *j, const char *text)
{
	append(j, "\"");
	for (; *text; text++) {
		unsigned char c = *text;

		if (c == '"' || c == '\\')
			append(j, "\\%c", c);
		else if (c < 0x20)
			append(j, "\\u%04x", c);
		else
			append(j, "%c", c);
	}
	append(j, "\"");
}

/* The comma and the key before a value. */
static void start(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		append(j, ",");
	j->first[j->depth] = false;
	if (key) {
		quoted(j, key);
		append(j, ":");
	}
}

static void push(struct json *j, const char *key, const char *bracket)
{
	if (j->depth == JSON_MAX_DEPTH)
		xp_die("JSON answer nested deeper than %d (raise JSON_MAX_DEPTH)", JSON_MAX_DEPTH);
	start(j, key);
	append(j, "%s", bracket);
	j->first[++j->depth] = true;
}

static void pop(struct json *j, const char *bracket)
{
	if (j->depth > 0)
		j->depth--;
	append(j, "%s", bracket);
}

void json_open(struct json *j, const char *key)
{
	push(j, key, "{");
}

void json_close(struct json *j)
{
	pop(j, "}");
}

void json_open_array(struct json *j, const char *key)
{
	push(j, key, "[");
}

void json_close_array(struct json *j)
{
	pop(j, "]");
}

void json_str(struct json *j, const char *key, const char *value)
{
	start(j, key);
	if (value)
		quoted(j, value);
	else
		append(j, "null");
}

void json_u64(struct json *j, const char *key, unsigned long long value)
{
	start(j, key);
	append(j, "%llu", value);
}

void json_int(struct json *j, const char *key, long long value)
{
	start(j, key);
	append(j, "%lld", value);
}

void json_bool(struct json *j, const char *key, bool value)
{
	start(j, key);
	append(j, "%s", value ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
	start(j, key);
	append(j, "null");
}

void json_double(struct json *j, const char *key, double value)
{
	start(j, key);
	append(j, "%.6f", value);
}
