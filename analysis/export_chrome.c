// SPDX-License-Identifier: MIT
/* placeholder */
#include "model.h"
void ct_export_chrome_json(const struct ct_partial *p, struct ct_buf *out)
{
	(void)p;
	(void)out;
}
