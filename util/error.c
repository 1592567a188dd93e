// SPDX-License-Identifier: MIT
/* ct_strerror: one sentence for every error code, crosstrace's own or errno's. */
#include <string.h>

#include "crosstrace/crosstrace.h"

const char *ct_strerror(int err)
{
	switch (err) {
#define CT_ERR_CASE(name, val, msg) \
	case CT_##name:             \
		return msg;
		CT_ERRNO_MAP(CT_ERR_CASE)
#undef CT_ERR_CASE
	case 0:
		return "success";
	default:
		break;
	}
	if (err < 0 && err > -4000) {
		/* strerrordesc_np, unlike strerror, never writes a shared buffer. */
		const char *s = strerrordesc_np(-err);

		if (s)
			return s;
	}
	return "unknown error";
}
