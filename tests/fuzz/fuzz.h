/*
 * fuzz.h: what the libFuzzer harnesses share: a check that aborts with its
 * reason (libFuzzer keeps the input as a crash), a byte reader over the
 * input, and reference implementations written from PROTOCOL.md, apart
 * from the code they are compared with.
 */
#ifndef FCOMET_FUZZ_H
#define FCOMET_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant: say which, then abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz check failed at %s:%d: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

struct fuzz_in {		/* the input, read front to back */
	const uint8_t	*p;
	size_t		 left;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

/*
 * Well-formed UTF-8 as Unicode 15 table 3-7 lists it, byte ranges per
 * lead byte; counts code points into *ncp. Deliberately not the decoding
 * shape of utf8_valid().
 */
static inline bool
ref_utf8(const uint8_t *s, size_t len, size_t *ncp)
{
	size_t	i = 0, n = 0;

	while (i < len) {
		uint8_t	c = s[i], lo = 0x80, hi = 0xbf;
		size_t	need;

		if (c <= 0x7f)
			need = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0)
			need = 2, lo = 0xa0;
		else if (c >= 0xe1 && c <= 0xec)
			need = 2;
		else if (c == 0xed)
			need = 2, hi = 0x9f;
		else if (c >= 0xee && c <= 0xef)
			need = 2;
		else if (c == 0xf0)
			need = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4)
			need = 3, hi = 0x8f;
		else
			return false;
		if (len - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			uint8_t	b = s[i + k];
			if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
				return false;
		}
		i += need + 1;
		n++;
	}
	if (ncp != NULL)
		*ncp = n;
	return true;
}

/* The code point at s (valid UTF-8 assumed) and its length in *len. */
static inline uint32_t
ref_cp(const uint8_t *s, size_t *len)
{
	if (s[0] < 0x80)
		return *len = 1, s[0];
	if (s[0] < 0xe0)
		return *len = 2, (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	if (s[0] < 0xf0)
		return *len = 3, (uint32_t)(s[0] & 0x0f) << 12 |
		    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	return *len = 4, (uint32_t)(s[0] & 0x07) << 18 |
	    (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 |
	    (s[3] & 0x3f);
}

/* Hex of a short buffer, for messages. */
static inline const char *
fuzz_hex(const void *p, size_t len)
{
	static char	out[2 * 64 + 4];
	const uint8_t	*s = p;
	size_t		 i;

	for (i = 0; i < len && i < 64; i++)
		snprintf(out + 2 * i, 3, "%02x", s[i]);
	if (i < len)
		strcpy(out + 2 * i, "...");
	else
		out[2 * i] = '\0';
	return out;
}

#endif
