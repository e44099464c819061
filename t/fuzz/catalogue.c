/*
 * t/fuzz/catalogue.c: libFuzzer target for the YAML catalogue loader
 * (fcgi/config/catalogue.c).
 *
 * Each input becomes challenges.yaml in a scratch directory (which also holds
 * a few challenge directories, so entries can load all the way), then is
 * loaded as a master loads it. Checked besides memory safety: a load either
 * fails with an error in the report and an empty catalogue, or succeeds with
 * every slug findable, a runner spec and a public JSON that parses and never
 * carries an answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/catalogue.h"

#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

/* Directories some seed entries name (dir: or their slug). */
static const char *const subdirs[] = { "hello_world", "files", "a", "countdown", "menu" };
static char dir[64], yaml_path[128];

static void cleanup(void)
{
	char path[160];

	unlink(yaml_path);
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		rmdir(path);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[160];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/cmdarena-fuzz-cat-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		mkdir(path, 0755);
	}
	snprintf(yaml_path, sizeof(yaml_path), "%s/challenges.yaml", dir);
	atexit(cleanup);
	return 0;
}

static void check_public(const struct catalogue *cat)
{
	static const char *const secrets[] = { "example", "expected_output", "expected_failures", "check",
		"randomize", "setup", NULL };
	char *text = catalogue_public_json(cat);
	json_object *list;

	PROMISE(text != NULL);
	list = json_tokener_parse(text);
	PROMISE(list != NULL && json_object_is_type(list, json_type_array));
	PROMISE(json_object_array_length(list) == cat->n);
	for (size_t i = 0; i < cat->n; i++) {
		json_object *c = json_object_array_get_idx(list, i);

		for (size_t k = 0; secrets[k]; k++)
			PROMISE(!json_object_object_get_ex(c, secrets[k], NULL));
	}
	json_object_put(list);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalogue cat;
	struct load_report rep = { STRBUF_INIT, 0, 0 };
	FILE *f = fopen(yaml_path, "wb");

	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (catalogue_load(&cat, dir, &rep) < 0) {
		PROMISE(rep.errors > 0 && rep.text.len > 0);
		PROMISE(cat.n == 0);
	} else {
		PROMISE(rep.errors == 0 && cat.n > 0);
		for (size_t i = 0; i < cat.n; i++) {
			const struct challenge *c = &cat.v[i];

			PROMISE(catalogue_find(&cat, c->slug) == c);
			PROMISE(c->version >= 1 && c->dir != NULL && c->runner_spec != NULL);
		}
		check_public(&cat);
	}
	load_report_free(&rep);
	catalogue_free(&cat);
	return 0;
}
