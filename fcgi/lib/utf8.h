/*
 * utf8.h: make arbitrary bytes valid UTF-8 so every reply is valid JSON.
 */
#ifndef CMDARENA_UTF8_H
#define CMDARENA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/*
 * Copy s[0..len) to a new NUL-terminated string in which every byte that is not
 * part of a valid UTF-8 sequence is replaced by U+FFFD. NUL bytes are kept (the
 * JSON encoder escapes them); *outlen gets the length. Returns NULL when out of
 * memory.
 */
char *utf8_sanitize(const char *s, size_t len, size_t *outlen);

/* Length of the longest prefix of s[0..len), at most max, that does not split a sequence. */
size_t utf8_clip(const char *s, size_t len, size_t max);

/*
 * Length of s[0..len) without a character cut off at its end (the valid start
 * of a sequence whose last bytes are missing): for output cut at a byte cap,
 * where the bytes past the cap are gone.
 */
size_t utf8_trim_partial(const char *s, size_t len);

#endif
