// SPDX-License-Identifier: MIT
/*
 * The inventory service: GET /inventory/{item} answers how many of an item are in stock.
 * With --pathology fanout or sequential the stock database is slow (a few ms per lookup),
 * which makes the frontend's parallel and sequential lookups easy to tell apart.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shop.h"

static int item(const struct shop_http_msg *req, char *body, size_t size)
{
	unsigned id = (unsigned)strtoul(req->path + sizeof("/inventory/") - 1, NULL, 10);
	struct ct_span s;

	shop_span_begin(&s, "stock-lookup");
	if (shop.pathologies & (SHOP_FANOUT | SHOP_SEQUENTIAL))
		shop_sleep_us(3000); /* the stock database */
	else
		shop_work(60);
	shop_span_end(&s);
	snprintf(body, size, "item %u: %u in stock\n", id, (id * 7919) % 100);
	return 200;
}

void shop_inventory(int listen_fd)
{
	static const struct shop_route routes[] = {
		{"GET", "/inventory/", "GET /inventory/{item}", item},
	};
	struct shop_service s = {.name = "inventory",
				 .listen_fd = listen_fd,
				 .workers = shop.clients * shop.items,
				 .routes = routes,
				 .n_routes = 1};

	shop_serve(&s);
}
