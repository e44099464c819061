/*
 * tmp_catalogue.h: a scratch challenges directory for the unit tests that load a catalogue
 * (t/unit/catalogue.c, t/unit/audit.c): made under /tmp, its challenges.yaml written (and
 * loaded), then removed. Include after tap.h.
 */
#ifndef CMDARENA_TMP_CATALOGUE_H
#define CMDARENA_TMP_CATALOGUE_H

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/catalogue.h"
#include "tap.h"

static char tmp_catalogue_dir[64];

/* Make the scratch directory /tmp/cmdarena-NAME-PID and return its path. */
__attribute__((unused))
static const char *tmp_catalogue_make(const char *name)
{
	snprintf(tmp_catalogue_dir, sizeof(tmp_catalogue_dir), "/tmp/cmdarena-%s-%ld", name, (long)getpid());
	if (mkdir(tmp_catalogue_dir, 0755) < 0)
		diag("cannot make %s", tmp_catalogue_dir);
	return tmp_catalogue_dir;
}

/* Write text as the directory's challenges.yaml. Returns 0, or -1 (with a TAP comment). */
__attribute__((unused))
static int tmp_catalogue_write(const char *text)
{
	char path[128];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/challenges.yaml", tmp_catalogue_dir);
	if ((f = fopen(path, "w")) == NULL) {
		diag("cannot write %s", path);
		return -1;
	}
	if (fputs(text, f) < 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		diag("cannot write %s", path);
	return rc;
}

/* Write text, then load the directory into cat (messages into rep): catalogue_load's result. */
__attribute__((unused))
static int tmp_catalogue_load(const char *text, struct catalogue *cat, struct load_report *rep)
{
	if (tmp_catalogue_write(text) < 0) {
		memset(cat, 0, sizeof(*cat));
		return -1;
	}
	return catalogue_load(cat, tmp_catalogue_dir, rep);
}

/* Remove challenges.yaml and the directory (the test removes any other file it made there). */
__attribute__((unused))
static void tmp_catalogue_remove(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/challenges.yaml", tmp_catalogue_dir);
	unlink(path);
	if (rmdir(tmp_catalogue_dir) < 0)
		diag("%s is left behind (not empty?)", tmp_catalogue_dir);
}

#endif
