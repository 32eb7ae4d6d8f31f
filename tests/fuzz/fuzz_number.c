/*
 * fuzz_number.c: number_parse() (since, timeout, Last-Event-ID) against a
 * reference from PROTOCOL.md: accepted iff non-empty, ASCII digits only
 * and the value is at most 2^53-1 (leading zeros allowed), compared as a
 * digit string so the reference cannot overflow.
 */
#include "fuzz.h"
#include "event.h"
#include "fields.h"

static const char	max_digits[] = "9007199254740991";	/* 2^53-1 */

static bool
ref_number(const uint8_t *s, size_t len, uint64_t *out)
{
	size_t	i, n;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	for (i = 0; i + 1 < len && s[i] == '0'; i++)
		;
	n = len - i;
	if (n > sizeof max_digits - 1 || (n == sizeof max_digits - 1 &&
	    memcmp(s + i, max_digits, n) > 0))
		return false;
	*out = 0;
	for (; i < len; i++)
		*out = *out * 10 + (uint64_t)(s[i] - '0');
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	got = 12345, want = 0;
	int		rc = number_parse((const char *)data, size, &got);
	bool		ok = ref_number(data, size, &want);

	FUZZ_CHECK((rc == 0) == ok, "number_parse %d, reference %d on %s",
	    rc, ok, fuzz_hex(data, size));
	FUZZ_CHECK(rc == 0 || rc == -1, "number_parse returned %d", rc);
	if (ok)
		FUZZ_CHECK(got == want && got <= EVENT_ID_MAX,
		    "value %llu, reference %llu", (unsigned long long)got,
		    (unsigned long long)want);
	return 0;
}
