/*
 * docker.c: Docker Engine API calls (see docker.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "engine/docker.h"

#define DOCKER_BODY_MAX (8 * 1024 * 1024)

int engine_init(struct engine *e, const struct engine_conf *ec, int index)
{
	memset(e, 0, sizeof(*e));
	e->index = index;
	e->url = strdup(ec->url);
	if (strncmp(ec->url, "unix://", 7) == 0) {
		e->socket_path = strdup(ec->url + 7);
		e->base = strdup("http://docker");
	} else {
		const char *hostport = ec->url + 6;
		size_t n = strlen(hostport) + 16;

		e->base = malloc(n);
		if (e->base)
			snprintf(e->base, n, "%s://%s", ec->tls_cert || ec->tls_ca ? "https" : "http", hostport);
		e->tls_cert = ec->tls_cert ? strdup(ec->tls_cert) : NULL;
		e->tls_key = ec->tls_key ? strdup(ec->tls_key) : NULL;
		e->tls_ca = ec->tls_ca ? strdup(ec->tls_ca) : NULL;
	}
	if (e->url == NULL || e->base == NULL || (strncmp(ec->url, "unix://", 7) == 0 && e->socket_path == NULL)) {
		engine_free(e);
		return -1;
	}
	return 0;
}

void engine_free(struct engine *e)
{
	free(e->url);
	free(e->socket_path);
	free(e->base);
	free(e->tls_cert);
	free(e->tls_key);
	free(e->tls_ca);
	memset(e, 0, sizeof(*e));
}

void docker_setup_handle(CURL *h, const struct engine *e)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (e->socket_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
	if (e->tls_cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->tls_cert);
	if (e->tls_key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->tls_key);
	if (e->tls_ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->tls_ca);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct strbuf *sb = arg;
	size_t n = size * nmemb;

	if (sb == NULL)
		return n;
	if (sb->len + n > DOCKER_BODY_MAX || sb_add(sb, data, n) < 0)
		return 0;	/* makes curl fail the transfer */
	return n;
}

struct header_capture {
	char *api_version;
	size_t cap;
};

static size_t capture_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct header_capture *hc = arg;
	size_t n = size * nmemb;
	static const char name[] = "Api-Version:";

	if (hc && n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t len = n - (sizeof(name) - 1), o = 0;

		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		for (size_t i = 0; i < len && o + 1 < hc->cap; i++)
			if ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')
				hc->api_version[o++] = v[i];
		hc->api_version[o] = '\0';
	}
	return n;
}

static int perform(CURL *h, const struct engine *e, const char *method, const char *url, const char *body,
    long timeout_ms, long *status, struct strbuf *out, struct header_capture *hc, bool fresh, struct docker_error *err)
{
	struct curl_slist *headers = NULL;
	CURLcode rc;

	curl_easy_reset(h);
	docker_setup_handle(h, e);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	if (fresh) {
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	if (hc) {
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, capture_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, hc);
	}
	if (body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	rc = curl_easy_perform(h);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		err->status = 0;
		snprintf(err->message, sizeof(err->message), "engine %s: %s %s: %s", e->url, method,
		    strchr(url + 8, '/') ? strchr(url + 8, '/') : url, curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int docker_request(CURL *h, const struct engine *e, const char *method, const char *path,
    const char *body, long timeout_ms, long *status, struct strbuf *out, struct docker_error *err)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s/v%s%s", e->base, e->api_version[0] ? e->api_version : "1.41", path);
	return perform(h, e, method, url, body, timeout_ms, status, out, NULL, false, err);
}

int docker_ping(CURL *h, struct engine *e, long timeout_ms, struct docker_error *err)
{
	char url[512], version[sizeof(e->api_version)] = "";
	struct header_capture hc = { version, sizeof(version) };
	long status = 0;

	snprintf(url, sizeof(url), "%s/_ping", e->base);
	/*
	 * A new connection each time: a dockerd shutting down still answers on the connections it
	 * has while refusing new ones, and attaching needs a new one.
	 */
	if (perform(h, e, "GET", url, NULL, timeout_ms, &status, NULL, &hc, true, err) < 0)
		return -1;
	if (status != 200) {
		err->status = status;
		snprintf(err->message, sizeof(err->message), "engine %s: /_ping answered %ld", e->url, status);
		return -1;
	}
	if (version[0])
		memcpy(e->api_version, version, sizeof(version));
	return 0;
}

/* The engine's error sentence ({"message": ...}) or the raw status. */
static void engine_message(const struct engine *e, const char *what, long status, const struct strbuf *body,
    struct docker_error *err)
{
	json_object *o = body->buf ? json_tokener_parse(body->buf) : NULL, *m = NULL;

	err->status = status;
	if (o && json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
		snprintf(err->message, sizeof(err->message), "engine %s: %s: %ld %s", e->url, what, status,
		    json_object_get_string(m));
	else
		snprintf(err->message, sizeof(err->message), "engine %s: %s: status %ld", e->url, what, status);
	json_object_put(o);
}

int docker_create(CURL *h, const struct engine *e, const char *spec_json, char id[DOCKER_ID_MAX + 1],
    long timeout_ms, struct docker_error *err)
{
	struct strbuf body = STRBUF_INIT;
	json_object *o = NULL, *idv = NULL;
	long status = 0;
	int rc = -1;

	if (docker_request(h, e, "POST", "/containers/create", spec_json, timeout_ms, &status, &body, err) < 0)
		goto out;
	if (status != 201) {
		engine_message(e, "create", status, &body, err);
		goto out;
	}
	o = json_tokener_parse(body.buf ? body.buf : "");
	if (o == NULL || !json_object_object_get_ex(o, "Id", &idv) || !json_object_is_type(idv, json_type_string) ||
	    strlen(json_object_get_string(idv)) > DOCKER_ID_MAX) {
		err->status = status;
		snprintf(err->message, sizeof(err->message), "engine %s: create: no Id in the answer", e->url);
		goto out;
	}
	snprintf(id, DOCKER_ID_MAX + 1, "%s", json_object_get_string(idv));
	rc = 0;
out:
	json_object_put(o);
	sb_free(&body);
	return rc;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > DOCKER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int docker_start(CURL *h, const struct engine *e, const char *id, long timeout_ms, struct docker_error *err)
{
	struct strbuf body = STRBUF_INIT;
	char path[128];
	long status = 0;
	int rc = -1;

	if (!valid_id(id)) {
		snprintf(err->message, sizeof(err->message), "not a container id");
		return -1;
	}
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	if (docker_request(h, e, "POST", path, NULL, timeout_ms, &status, &body, err) == 0) {
		if (status == 204 || status == 304)
			rc = 0;
		else
			engine_message(e, "start", status, &body, err);
	}
	sb_free(&body);
	return rc;
}

int docker_remove(CURL *h, const struct engine *e, const char *id, long timeout_ms, struct docker_error *err)
{
	struct strbuf body = STRBUF_INIT;
	char path[160];
	long status = 0;
	int rc = -1;

	if (!valid_id(id)) {
		snprintf(err->message, sizeof(err->message), "not a container id");
		return -1;
	}
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	if (docker_request(h, e, "DELETE", path, NULL, timeout_ms, &status, &body, err) == 0) {
		/* 404: already gone (AutoRemove won the race). 409: removal already in progress. */
		if (status == 204 || status == 404 || status == 409)
			rc = 0;
		else
			engine_message(e, "remove", status, &body, err);
	}
	sb_free(&body);
	return rc;
}

/* /containers/json for every container, running or not, that carries label. */
static int list_path(CURL *h, const char *label, char *path, size_t size)
{
	json_object *f = json_object_new_object(), *labels = json_object_new_array();
	char *filters;

	json_object_array_add(labels, json_object_new_string(label));
	json_object_object_add(f, "label", labels);
	filters = curl_easy_escape(h, json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN), 0);
	json_object_put(f);
	if (filters == NULL)
		return -1;
	snprintf(path, size, "/containers/json?all=1&filters=%s", filters);
	curl_free(filters);
	return 0;
}

static const char *string_member(json_object *o, const char *name)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* One entry of the list into ci: false when it has no Id (it is skipped). */
static bool read_container(json_object *c, struct container_info *ci)
{
	json_object *v, *labels = NULL;
	const char *id = string_member(c, "Id"), *state, *node, *keeper;

	if (id == NULL)
		return false;
	snprintf(ci->id, sizeof(ci->id), "%s", id);
	if (json_object_object_get_ex(c, "Created", &v))
		ci->created = (time_t)json_object_get_int64(v);
	state = string_member(c, "State");
	if (state)
		ci->running = strcmp(state, "running") == 0;
	json_object_object_get_ex(c, "Labels", &labels);
	node = string_member(labels, "cmdarena.node");
	if (node)
		snprintf(ci->node, sizeof(ci->node), "%s", node);
	keeper = string_member(labels, "cmdarena.keeper");
	if (keeper)
		ci->keeper = strtol(keeper, NULL, 10);
	return true;
}

/* The engine's answer (a JSON array) as a malloc'd array of container_info. */
static int read_container_list(const struct engine *e, const struct strbuf *body, struct container_info **out,
    size_t *n, struct docker_error *err)
{
	json_object *arr = json_tokener_parse(body->buf ? body->buf : "");
	size_t count;

	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		snprintf(err->message, sizeof(err->message), "engine %s: list: not a JSON array", e->url);
		json_object_put(arr);
		return -1;
	}
	count = json_object_array_length(arr);
	*out = calloc(count ? count : 1, sizeof(**out));
	if (*out == NULL) {
		snprintf(err->message, sizeof(err->message), "engine %s: list: out of memory", e->url);
		json_object_put(arr);
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		if (read_container(json_object_array_get_idx(arr, i), &(*out)[*n]))
			(*n)++;
	json_object_put(arr);
	return 0;
}

int docker_list(CURL *h, const struct engine *e, const char *label, struct container_info **out, size_t *n,
    long timeout_ms, struct docker_error *err)
{
	struct strbuf body = STRBUF_INIT;
	char path[512];
	long status = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (list_path(h, label, path, sizeof(path)) < 0) {
		snprintf(err->message, sizeof(err->message), "engine %s: list: out of memory", e->url);
		return -1;
	}
	if (docker_request(h, e, "GET", path, NULL, timeout_ms, &status, &body, err) == 0) {
		if (status == 200)
			rc = read_container_list(e, &body, out, n, err);
		else
			engine_message(e, "list", status, &body, err);
	}
	sb_free(&body);
	return rc;
}
