// SPDX-License-Identifier: MIT
/* placeholder */
#include "model.h"
void ct_result_text_report(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	(void)p, (void)out, (void)width;
}
void ct_result_text_trace(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	(void)p, (void)out, (void)width;
}
void ct_result_text_critpath(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	(void)p, (void)out, (void)width;
}
