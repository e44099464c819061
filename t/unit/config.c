/* config.c: the settings file: defaults, every type, errors with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "tap.h"

static char path[64];

static int load_text(struct config *c, const char *text, char *err, size_t errlen)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/cmdarena-config-test-%ld.conf", (long)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	config_defaults(c);
	return config_load(c, path, err, errlen);
}

static void fails(const char *text, const char *want, const char *label)
{
	struct config c;
	char err[512] = "";

	is_int(load_text(&c, text, err, sizeof(err)), -1, "%s is refused", label);
	ok(strstr(err, want) != NULL, "%s: message mentions '%s' (got: %s)", label, want, err);
	config_free(&c);
}

int main(void)
{
	struct config c;
	char err[512];
	size_t sz;

	is_int(config_defaults(&c), 0, "defaults");
	is_int(c.timeout_ms, 12000, "timeout_ms defaults to 12 s");
	is_int(c.hard_deadline_ms, 14000, "hard deadline 14 s");
	is_int(c.memory, 64 * 1024 * 1024, "memory 64m");
	is_int(c.pids_limit, 64, "pids 64");
	is_int(c.output_cap, 65536, "output cap 64k");
	is_int(c.cmd_max, 1024, "cmd_max 1024");
	ok(c.cpus == 1.0, "cpus 1.0");
	is_int(c.n_engines, 0, "no engine until finish");
	is_int(config_finish(&c, err, sizeof(err)), 0, "finish");
	is_int(c.n_engines, 1, "finish adds the local engine");
	is_str(c.engines[0].url, "unix:///var/run/docker.sock", "the local engine");
	ok(c.workers >= 2, "workers = cores x 2");
	ok(c.node_id[0] != '\0', "node_id from the hostname");
	config_free(&c);

	is_int(load_text(&c, "# comment\n\nworkers = 3   # trailing comment\nmemory = 128m\ncpus=1.5\n"
	    "log_syslog = yes\nsocket = run/x.sock\nsocket_mode = 0660\n"
	    "engine = unix:///a.sock\nengine = tcp://10.0.0.2:2376 cert=c.pem key=k.pem ca=/abs/ca.pem\n"
	    "cache_salt = v2#not-a-comment\n", err, sizeof(err)), 0, "a full file loads");
	is_int(c.workers, 3, "workers");
	is_int(c.memory, 128 * 1024 * 1024, "memory with a suffix");
	ok(c.cpus == 1.5, "cpus");
	ok(c.log_syslog, "a boolean");
	is_int(c.socket_mode, 0660, "an octal mode");
	is_str(c.socket, "/tmp/run/x.sock", "a relative path is relative to the file");
	is_int(c.n_engines, 2, "two engines");
	is_str(c.engines[1].url, "tcp://10.0.0.2:2376", "the tcp engine");
	is_str(c.engines[1].tls_cert, "/tmp/c.pem", "its cert, relative to the file");
	is_str(c.engines[1].tls_ca, "/abs/ca.pem", "its CA");
	is_str(c.cache_salt, "v2#not-a-comment", "# inside a word is not a comment");
	is_int(config_set(&c, "workers=7", err, sizeof(err)), 0, "a command-line override");
	is_int(c.workers, 7, "wins over the file");
	is_int(config_set(&c, "nope=1", err, sizeof(err)), -1, "an unknown override is refused");
	config_free(&c);

	fails("workers = many\n", ":1: workers must be an integer", "a word for an integer");
	fails("\n\nmemory = lots\n", ":3: memory must be a size", "a bad size");
	fails("pids_limit = 2\n", "from 8 to", "an integer below its minimum");
	fails("frobnicate = 1\n", "unknown setting 'frobnicate'", "an unknown key");
	fails("workers\n", "expected 'key = value'", "a line without =");
	fails("engine = http://x\n", "unix:// or tcp://", "an engine URL of another scheme");
	fails("engine = unix:///x cert=/c\n", "TLS options only apply", "TLS on a unix engine");
	fails("engine = tcp://x:1 foo=1\n", "is not cert=", "an unknown engine option");
	fails("log_syslog = maybe\n", "yes or no", "a bad boolean");
	fails("socket_mode = 999\n", "octal", "a bad mode");

	is_int(load_text(&c, "hard_deadline_ms = 5000\n", err, sizeof(err)), 0, "a short deadline loads");
	is_int(config_finish(&c, err, sizeof(err)), -1, "but finish refuses a deadline inside the runner's budget");
	ok(strstr(err, "hard_deadline_ms") != NULL, "and says which setting");
	config_free(&c);

	/* cache_salt goes into nginx's cache key too: a plain word only. */
	is_int(load_text(&c, "cache_salt = 2026-11_b.2\n", err, sizeof(err)), 0, "a salt loads");
	is_int(config_finish(&c, err, sizeof(err)), 0, "and finishes");
	config_free(&c);
	is_int(load_text(&c, "cache_salt = a\"$b\n", err, sizeof(err)), 0, "a salt with a quote and a $ loads");
	is_int(config_finish(&c, err, sizeof(err)), -1, "but finish refuses it");
	ok(strstr(err, "cache_salt") != NULL, "and says which setting (got: %s)", err);
	config_free(&c);

	is_int(parse_size("16m", &sz), 0, "16m");
	is_int(sz, 16 * 1024 * 1024, "is 16 MiB");
	is_int(parse_size("64KB", &sz), 0, "64KB");
	is_int(sz, 65536, "is 64 KiB");
	is_int(parse_size("-1", &sz), -1, "negative sizes are refused");
	is_int(parse_size("12q", &sz), -1, "unknown suffixes are refused");
	unlink(path);
	return tap_done();
}
