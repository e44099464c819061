/*
 * sandbox.c: container spec, runner request and verdict (see sandbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine/sandbox.h"
#include "lib/base64.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

static json_object *ulimit(const char *name, long long v)
{
	json_object *u = json_object_new_object();

	json_object_object_add(u, "Name", json_object_new_string(name));
	json_object_object_add(u, "Soft", json_object_new_int64(v));
	json_object_object_add(u, "Hard", json_object_new_int64(v));
	return u;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static void add_bool(json_object *o, const char *key, bool value)
{
	json_object_object_add(o, key, json_object_new_boolean(value));
}

/* The labels that say whose container it is: the node, the variant, the process that made it. */
static json_object *spec_labels(const struct config *c, bool nobin)
{
	json_object *labels = json_object_new_object();
	char pid[32];

	add_string(labels, "cmdarena", "1");
	add_string(labels, "cmdarena.node", c->node_id);
	add_string(labels, "cmdarena.variant", nobin ? "cmd-no-bin" : "cmd");
	/* The process that made it (the pool keeper): a successor leaves it alone while that one lives. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	add_string(labels, "cmdarena.keeper", pid);
	return labels;
}

/* The container's own settings: image, user, environment, how its stdio is attached. */
static json_object *spec_container(const struct config *c, bool nobin)
{
	json_object *o = json_object_new_object(), *env = json_object_new_array();

	add_string(o, "Image", nobin ? c->image_nobin : c->image);
	add_string(o, "User", "0:0");
	add_string(o, "Hostname", "arena");
	add_string(o, "WorkingDir", "/var/challenges");
	json_object_array_add(env, json_object_new_string("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"));
	json_object_object_add(o, "Env", env);
	/* stdin stays open until one attached client has written the request. */
	add_bool(o, "AttachStdin", 1);
	add_bool(o, "AttachStdout", 1);
	add_bool(o, "AttachStderr", 1);
	add_bool(o, "OpenStdin", 1);
	add_bool(o, "StdinOnce", 1);
	add_bool(o, "Tty", 0);
	/* Beside NetworkMode none, this halves the start time (FIELD-NOTES). */
	add_bool(o, "NetworkDisabled", 1);
	json_object_object_add(o, "Labels", spec_labels(c, nobin));
	return o;
}

/* The writable places, each a tmpfs (the root file system is read-only). */
static json_object *spec_tmpfs(const struct config *c, bool nobin)
{
	json_object *tmpfs = json_object_new_object();
	char opts[160];

	/* Users run their own scripts in the challenge dir and /tmp: Docker mounts a tmpfs noexec
	 * unless told "exec". nosuid and no-new-privileges keep that harmless. */
	snprintf(opts, sizeof(opts), "rw,exec,nosuid,nodev,size=%zu,uid=%d,gid=%d,mode=0755",
	    c->tmpfs_size, c->sandbox_uid, c->sandbox_uid);
	add_string(tmpfs, "/var/challenges", opts);
	snprintf(opts, sizeof(opts), "rw,exec,nosuid,nodev,size=%zu,mode=1777", c->tmpfs_size);
	add_string(tmpfs, "/tmp", opts);
	/* The judge's own: the snapshot the check compares with, the scripts' state. */
	snprintf(opts, sizeof(opts), "rw,noexec,nosuid,nodev,size=%zu,mode=0755", c->tmpfs_size);
	add_string(tmpfs, "/run/cmdarena", opts);
	if (nobin) {
		/* cmd-no-bin: empty read-only dirs over the binaries (/bin is a link to usr/bin). */
		add_string(tmpfs, "/usr/bin", "ro,nosuid,nodev,size=4k,mode=0755");
		add_string(tmpfs, "/usr/sbin", "ro,nosuid,nodev,size=4k,mode=0755");
	}
	return tmpfs;
}

/* Memory, processes, CPU, open files, file size, no core dumps. */
static void spec_add_limits(json_object *hc, const struct config *c)
{
	json_object *ulimits = json_object_new_array();

	json_object_object_add(hc, "ShmSize", json_object_new_int64(1024 * 1024));
	json_object_object_add(hc, "Memory", json_object_new_int64((int64_t)c->memory));
	json_object_object_add(hc, "MemorySwap", json_object_new_int64((int64_t)c->memory));
	json_object_object_add(hc, "PidsLimit", json_object_new_int64(c->pids_limit));
	json_object_object_add(hc, "NanoCpus", json_object_new_int64((int64_t)(c->cpus * 1e9)));
	json_object_array_add(ulimits, ulimit("nofile", c->nofile));
	json_object_array_add(ulimits, ulimit("fsize", (long long)c->fsize));
	json_object_array_add(ulimits, ulimit("core", 0));
	json_object_object_add(hc, "Ulimits", ulimits);
}

/*
 * The runner (PID 1) is root with only these: it copies and resets the
 * files, then drops every program it starts to the user (the command),
 * the judge (setup, randomize) or the user with CAP_DAC_READ_SEARCH (the
 * check), and trims their bounding set (runner/privs.c).
 */
static void spec_add_privileges(json_object *hc)
{
	static const char *const runner_caps[] = {
		"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "KILL", "SETGID", "SETUID", "SETPCAP",
	};
	json_object *capdrop = json_object_new_array(), *capadd = json_object_new_array();
	json_object *secopt = json_object_new_array();

	json_object_array_add(capdrop, json_object_new_string("ALL"));
	json_object_object_add(hc, "CapDrop", capdrop);
	for (size_t i = 0; i < sizeof(runner_caps) / sizeof(runner_caps[0]); i++)
		json_object_array_add(capadd, json_object_new_string(runner_caps[i]));
	json_object_object_add(hc, "CapAdd", capadd);
	json_object_array_add(secopt, json_object_new_string("no-new-privileges"));
	json_object_object_add(hc, "SecurityOpt", secopt);
}

/* HostConfig: no network, read-only root, the tmpfs mounts, the limits, the privileges, the runtime. */
static json_object *spec_host_config(const struct config *c, bool nobin)
{
	json_object *hc = json_object_new_object(), *log = json_object_new_object();

	add_string(hc, "NetworkMode", "none");
	add_bool(hc, "ReadonlyRootfs", 1);
	json_object_object_add(hc, "Tmpfs", spec_tmpfs(c, nobin));
	spec_add_limits(hc, c);
	spec_add_privileges(hc);
	/* The runner is PID 1: it reaps zombies and cannot be killed from inside. */
	add_bool(hc, "Init", 0);
	json_object_object_add(hc, "OomScoreAdj", json_object_new_int(1000));
	/* Output travels only through attach: nothing is logged to disk. */
	add_string(log, "Type", "none");
	json_object_object_add(hc, "LogConfig", log);
	add_bool(hc, "AutoRemove", 1);
	/* The OCI runtime the engine starts it with (registered there: dockerd --add-runtime). */
	add_string(hc, "Runtime", c->runtime);
	return hc;
}

char *sandbox_container_spec(const struct config *c, bool nobin)
{
	json_object *o = spec_container(c, nobin);
	char *out;

	json_object_object_add(o, "HostConfig", spec_host_config(c, nobin));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

int sandbox_make_nonce(char nonce[NONCE_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[NONCE_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		nonce[2 * i] = hex[raw[i] >> 4];
		nonce[2 * i + 1] = hex[raw[i] & 15];
	}
	nonce[NONCE_LEN] = '\0';
	return 0;
}


/*
 * The spec is the catalogue's, read by every thread of every worker at once: it is only read
 * here, never referenced (json-c's reference counts and its cached JSON text are not
 * thread-safe), so each request gets a deep copy of its members.
 */
static int sandbox_add_spec(json_object *req, const struct challenge *ch)
{
	json_object_object_foreach(ch->runner_spec, key, val) {
		json_object *copy = NULL;

		if (val != NULL && json_object_deep_copy(val, &copy, NULL) < 0)
			return -1;
		if (json_object_object_add(req, key, copy) < 0) {
			json_object_put(copy);
			return -1;
		}
	}
	return 0;
}

static char *sandbox_request_text(json_object *req, size_t *reqlen)
{
	const char *s;
	size_t n;
	char *out;

	s = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL || (out = malloc(n + 2)) == NULL)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	if (reqlen)
		*reqlen = n + 1;
	return out;
}

char *sandbox_runner_request(const struct config *c, const struct challenge *ch, const char *cmd, size_t len,
    char nonce[NONCE_LEN + 1], size_t *reqlen)
{
	json_object *req;
	char *b64, *out = NULL;

	if (sandbox_make_nonce(nonce) < 0)
		return NULL;
	b64 = base64_encode((const unsigned char *)cmd, len);
	req = json_object_new_object();
	if (b64 != NULL && req != NULL) {
		json_object_object_add(req, "nonce", json_object_new_string(nonce));
		json_object_object_add(req, "cmd_b64", json_object_new_string(b64));
		out = sandbox_request_finish(req, c, ch, c->output_cap, reqlen);
	}
	json_object_put(req);
	free(b64);
	return out;
}

char *sandbox_request_finish(json_object *req, const struct config *c, const struct challenge *ch,
    size_t output_cap, size_t *reqlen)
{
	/* Leave the runner a margin inside the hard deadline for start-up and the verdict. */
	int total_ms = c->hard_deadline_ms - 1500;

	json_object_object_add(req, "timeout_ms", json_object_new_int(c->timeout_ms));
	json_object_object_add(req, "script_timeout_ms", json_object_new_int(c->script_timeout_ms));
	json_object_object_add(req, "total_ms", json_object_new_int(total_ms));
	json_object_object_add(req, "output_cap", json_object_new_int64((int64_t)output_cap));
	return sandbox_add_spec(req, ch) == 0 ? sandbox_request_text(req, reqlen) : NULL;
}

static int get_member(json_object *o, const char *name, json_type type, json_object **out)
{
	return json_object_object_get_ex(o, name, out) && json_object_is_type(*out, type) ? 0 : -1;
}

/* The members every verdict has: the request's nonce, correct, output (capped, made valid UTF-8), exit_code. */
static int read_required(json_object *o, const char *nonce, size_t output_cap, struct verdict *v,
    char *err, size_t errlen)
{
	json_object *m;
	const char *s;
	size_t n;

	if (get_member(o, "nonce", json_type_string, &m) < 0 || strcmp(json_object_get_string(m), nonce) != 0) {
		snprintf(err, errlen, "the answer does not carry the request's nonce");
		return -1;
	}
	if (get_member(o, "correct", json_type_boolean, &m) < 0) {
		snprintf(err, errlen, "the answer has no boolean 'correct'");
		return -1;
	}
	v->correct = json_object_get_boolean(m);
	if (get_member(o, "output", json_type_string, &m) < 0) {
		snprintf(err, errlen, "the answer has no string 'output'");
		return -1;
	}
	/* Untrusted: cap it and make sure it is valid UTF-8 whatever the runner did. */
	n = (size_t)json_object_get_string_len(m);
	s = json_object_get_string(m);
	if (n > output_cap + 4)
		n = utf8_clip(s, n, output_cap);
	v->output = utf8_sanitize(s, n, &v->output_len);
	if (v->output == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (get_member(o, "exit_code", json_type_int, &m) < 0) {
		snprintf(err, errlen, "the answer has no integer 'exit_code'");
		return -1;
	}
	v->exit_code = json_object_get_int(m);
	return 0;
}

static bool get_flag(json_object *o, const char *name)
{
	json_object *m;

	return json_object_object_get_ex(o, name, &m) && json_object_get_boolean(m);
}

/* The optional members: the message (only a wrong answer keeps one), the flags. */
static void read_optional(json_object *o, struct verdict *v)
{
	json_object *m;

	if (get_member(o, "message", json_type_string, &m) == 0) {
		const char *s = json_object_get_string(m);
		size_t n = utf8_clip(s, (size_t)json_object_get_string_len(m), 1024), outn;

		v->message = utf8_sanitize(s, n, &outn);
	}
	v->timed_out = get_flag(o, "timed_out");
	v->truncated = get_flag(o, "truncated");
	v->transient = get_flag(o, "transient");
	if (v->correct) {
		free(v->message);
		v->message = NULL;
	} else if (v->message == NULL) {
		v->message = strdup("The output does not match.");
	}
}

/* The answer as a JSON object, or NULL with a reason in err (a refusal carries the runner's own). */
static json_object *parse_answer(const char *line, size_t len, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	json_object *o, *m;

	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, line, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the runner's answer is not a JSON object");
		json_object_put(o);
		return NULL;
	}
	if (get_member(o, "error", json_type_string, &m) == 0) {
		snprintf(err, errlen, "the runner refused the request: %.200s", json_object_get_string(m));
		json_object_put(o);
		return NULL;
	}
	return o;
}

int sandbox_parse_verdict(const char *line, size_t len, const char *nonce, size_t output_cap, struct verdict *v,
    char *err, size_t errlen)
{
	json_object *o;

	memset(v, 0, sizeof(*v));
	o = parse_answer(line, len, err, errlen);
	if (o == NULL)
		return -1;
	if (read_required(o, nonce, output_cap, v, err, errlen) < 0) {
		verdict_free(v);
		json_object_put(o);
		return -1;
	}
	read_optional(o, v);
	json_object_put(o);
	return 0;
}

void verdict_free(struct verdict *v)
{
	free(v->output);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

char *verdict_reply_json(const char *slug, int ver, const struct verdict *v, size_t *len)
{
	json_object *o = json_object_new_object();
	const char *s;
	char *out;
	size_t n;

	json_object_object_add(o, "slug", json_object_new_string(slug));
	json_object_object_add(o, "ver", json_object_new_int(ver));
	json_object_object_add(o, "correct", json_object_new_boolean(v->correct));
	json_object_object_add(o, "output", json_object_new_string_len(v->output, (int)v->output_len));
	json_object_object_add(o, "exit_code", json_object_new_int(v->exit_code));
	json_object_object_add(o, "message", v->message ? json_object_new_string(v->message) : NULL);
	json_object_object_add(o, "timed_out", json_object_new_boolean(v->timed_out));
	json_object_object_add(o, "truncated", json_object_new_boolean(v->truncated));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	out = s ? strndup(s, n) : NULL;
	if (len)
		*len = out ? n : 0;
	json_object_put(o);
	return out;
}
