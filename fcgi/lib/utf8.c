/*
 * utf8.c: validate UTF-8 and make arbitrary bytes valid UTF-8, so that a
 * command's output can always travel in a JSON string.
 *
 * Well-formed sequences are those of the Unicode Standard, table 3-7: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"

/*
 * What lead byte c needs: the sequence length (0 when c cannot start one) and
 * the range of the byte after it (table 3-7).
 */
static size_t lead_info(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF) {
		if (c == 0xE0)
			*lo = 0xA0;	/* no overlong 3-byte form */
		else if (c == 0xED)
			*hi = 0x9F;	/* no surrogates */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (c == 0xF0)
			*lo = 0x90;	/* no overlong 4-byte form */
		else if (c == 0xF4)
			*hi = 0x8F;	/* nothing above U+10FFFF */
		return 4;
	}
	return 0;	/* continuation byte, C0, C1 or F5..FF */
}

/*
 * How many bytes of s[0..len) (at most the sequence's length) are a valid
 * start of the sequence that s[0] leads.
 */
static size_t valid_prefix(const unsigned char *s, size_t len, size_t need,
    unsigned char lo, unsigned char hi)
{
	size_t i = 1;

	if (need == 0)
		return 0;
	if (i < len && i < need && s[1] >= lo && s[1] <= hi)
		i++;
	else
		return i;
	while (i < len && i < need && (s[i] & 0xC0) == 0x80)
		i++;
	return i;
}

/*
 * Length of the well-formed sequence starting at s[0] (at most len bytes
 * available), or 0 when none starts there.
 */
static size_t seq_len(const unsigned char *s, size_t len)
{
	unsigned char lo, hi;
	size_t need = lead_info(s[0], &lo, &hi);

	return need > 0 && valid_prefix(s, len, need, lo, hi) == need ? need : 0;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = seq_len(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char *utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	static const char replacement[] = "\xEF\xBF\xBD";	/* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;
	char *out;

	/* Worst case: every byte becomes a 3-byte U+FFFD. */
	if (len > (((size_t)-1) - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t n = seq_len(p + i, len - i);

		if (n == 0) {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

size_t utf8_clip(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;

	if (max >= len)
		return len;
	/* A sequence that straddles max starts at most 3 bytes before it. */
	for (size_t back = 1; back <= 3 && back <= max; back++) {
		size_t start = max - back;
		size_t n = seq_len(p + start, len - start);

		if (n > back)
			return start;
		if (n != 0)
			break;	/* a whole sequence ends at or before max */
	}
	return max;
}

size_t utf8_trim_partial(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	/* A cut-off sequence starts at most 3 bytes before the end. */
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		size_t start = len - back;
		unsigned char lo, hi;
		size_t need = lead_info(p[start], &lo, &hi);

		if ((p[start] & 0xC0) == 0x80)
			continue;	/* a continuation byte: look further back */
		if (need > back && valid_prefix(p + start, back, need, lo, hi) == back)
			return start;
		break;
	}
	return len;
}
