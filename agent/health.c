// SPDX-License-Identifier: MIT
/* The health/stats HTTP endpoint (see health.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"

struct ct_health {
	struct MHD_Daemon *d;
	int port;
	ct_health_render_fn fn;
	void *arg;
};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *ctype,
			      const char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct ct_health *h = cls;
	const char *ctype = "text/plain; charset=utf-8";
	struct ct_buf out;
	enum MHD_Result ret;
	unsigned status;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		/* First call: headers only. */
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body nobody asked for */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return answer(c, 405, ctype, "only GET\n", 9);
	ct_buf_init(&out);
	status = h->fn(h->arg, url, &out, &ctype);
	if (out.oom)
		ret = answer(c, 503, "text/plain", "out of memory\n", 14);
	else
		ret = answer(c, status, ctype, out.data ? out.data : "", out.len);
	ct_buf_fini(&out);
	return ret;
}

int ct_health_start(struct ct_health **out, const char *bind, int port, ct_health_render_fn fn,
		    void *arg, char *err, size_t errlen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct ct_health *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *di;

	if (!h)
		return -ENOMEM;
	if (inet_pton(AF_INET, bind, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "health-bind %s is not an IPv4 address (use e.g. 127.0.0.1)",
			 bind);
		free(h);
		return -EINVAL;
	}
	h->fn = fn;
	h->arg = arg;
	h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, (uint16_t)port, NULL, NULL,
				on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen,
			 "cannot listen on %s:%d for the health endpoint (port in use? choose "
			 "another with health-port, or -1 to turn it off)",
			 bind, port);
		free(h);
		return -EADDRINUSE;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : port;
	*out = h;
	return 0;
}

int ct_health_port(const struct ct_health *h)
{
	return h->port;
}

void ct_health_stop(struct ct_health *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
