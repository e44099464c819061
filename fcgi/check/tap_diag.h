/*
 * tap_diag.h: TAP comment blocks for cmdarena-check's reports (self-test,
 * replay, audit): a label, then each line of a text behind "#     | ".
 */
#ifndef CMDARENA_TAP_DIAG_H
#define CMDARENA_TAP_DIAG_H

#include <stddef.h>

/* Print label and s[0..len) on stdout, at most max_lines lines of at most max_width bytes each. */
void tap_diag(const char *label, const char *s, size_t len, size_t max_lines, int max_width);

#endif
