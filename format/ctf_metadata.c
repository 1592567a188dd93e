// SPDX-License-Identifier: MIT
/*
 * TSDL metadata for a chunk, generated from event.def so that babeltrace2 (or any CTF 1.8
 * reader) decodes exactly what ct_ev_decode decodes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "crosstrace/crosstrace.h"
#include "ctf.h"
#include "event.h"

void ct_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ct_uuid_parse(const char *s, uint8_t u[16])
{
	int n = 0;

	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return CT_EFORMAT;
			continue;
		}
		int h = hexval(s[i]), l;

		if (h < 0 || (l = hexval(s[i + 1])) < 0)
			return CT_EFORMAT;
		u[n++] = (uint8_t)(h << 4 | l);
		i++;
	}
	return s[36] == 0 || s[36] == '"' ? 0 : CT_EFORMAT;
}

int ct_uuid_generate(uint8_t u[16])
{
	ssize_t n = getrandom(u, 16, 0);

	if (n != 16)
		return n < 0 ? -errno : -EIO;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	return 0;
}

/* TSDL declarations of one field type. */
#define TSDL_U8(n) "\t\tuint8_t " #n ";\n"
#define TSDL_U16(n) "\t\tuint16_t " #n ";\n"
#define TSDL_U32(n) "\t\tuint32_t " #n ";\n"
#define TSDL_S32(n) "\t\tint32_t " #n ";\n"
#define TSDL_U64(n) "\t\tuint64_t " #n ";\n"
#define TSDL_S64(n) "\t\tint64_t " #n ";\n"
#define TSDL_F64(n) "\t\tdouble " #n ";\n"
#define TSDL_STR(n) "\t\tstring " #n ";\n"
#define TSDL_BYTES(n) "\t\tuint16_t _" #n "_len;\n\t\tuint8_t " #n "[_" #n "_len];\n"
#define TSDL_ARGS6(n) "\t\tuint64_t " #n "[6];\n"
#define F(t, n) TSDL_##t(n)

static const char *const event_fields[CT_EV_MAX] = {
#define CT_EVENT(id, NAME, name, fields) [id] = fields,
#include "event.def"
#undef CT_EVENT
};
#undef F

/* Escapes a value for a TSDL string literal (quotes and backslashes). */
static void tsdl_str(struct ct_buf *b, const char *s)
{
	ct_buf_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			ct_buf_putc(b, '\\');
		if ((unsigned char)*s >= 0x20)
			ct_buf_putc(b, *s);
	}
	ct_buf_putc(b, '"');
}

void ct_ctf_metadata(struct ct_buf *b, const struct ct_ctf_env *env)
{
	char uuid[37], clock_uuid[37];
	uint8_t boot[16];
	int64_t off = env->clock_offset_ns;
	int64_t off_s = off / 1000000000, off_ns = off % 1000000000;

	if (off_ns < 0) {
		off_ns += 1000000000;
		off_s -= 1;
	}
	ct_uuid_format(env->uuid, uuid);
	/*
	 * CLOCK_MONOTONIC is one clock per boot: its CTF UUID is the boot id, as LTTng does, so
	 * that babeltrace2 merges chunks (and other traces of this boot) on one time line.
	 */
	if (env->boot_id && ct_uuid_parse(env->boot_id, boot) == 0)
		ct_uuid_format(boot, clock_uuid);
	else
		memcpy(clock_uuid, uuid, sizeof(uuid));
	ct_buf_puts(b, "/* CTF 1.8 */\n\n"
		       "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
		       "typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
		       "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
		       "typealias integer { size = 32; align = 8; signed = true; } := int32_t;\n"
		       "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
		       "typealias integer { size = 64; align = 8; signed = true; } := int64_t;\n"
		       "typealias floating_point { exp_dig = 11; mant_dig = 53; align = 8; } "
		       ":= double;\n\n");
	ct_buf_printf(b,
		      "trace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"%s\";\n"
		      "\tbyte_order = le;\n"
		      "\tpacket.header := struct {\n\t\tuint32_t magic;\n"
		      "\t\tuint8_t uuid[16];\n\t\tuint32_t stream_id;\n\t};\n};\n\n",
		      uuid);
	ct_buf_puts(b, "env {\n\tdomain = ");
	tsdl_str(b, env->domain ? env->domain : "crosstrace");
	ct_buf_puts(b, ";\n\ttracer_name = \"crosstrace\";\n\ttracer_version = ");
	tsdl_str(b, CT_VERSION_STRING);
	ct_buf_printf(b, ";\n\tcrosstrace_format_version = %d;\n\tchunk_index = %u;\n",
		      CT_FORMAT_VERSION, env->chunk_index);
	ct_buf_puts(b, "\thostname = ");
	tsdl_str(b, env->hostname ? env->hostname : "");
	ct_buf_puts(b, ";\n\tboot_id = ");
	tsdl_str(b, env->boot_id ? env->boot_id : "");
	ct_buf_puts(b, ";\n};\n\n");
	ct_buf_printf(b,
		      "clock {\n\tname = \"monotonic\";\n\tuuid = \"%s\";\n"
		      "\tdescription = \"CLOCK_MONOTONIC\";\n\tfreq = 1000000000;\n"
		      "\tprecision = 1;\n\toffset_s = %" PRId64 ";\n\toffset = %" PRId64 ";\n"
		      "\tabsolute = FALSE;\n};\n\n",
		      clock_uuid, off_s, off_ns);
	ct_buf_puts(b, "typealias integer { size = 64; align = 8; signed = false; "
		       "map = clock.monotonic.value; } := uint64_clock_monotonic_t;\n\n"
		       "stream {\n\tid = 0;\n"
		       "\tpacket.context := struct {\n"
		       "\t\tuint64_clock_monotonic_t timestamp_begin;\n"
		       "\t\tuint64_clock_monotonic_t timestamp_end;\n"
		       "\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n"
		       "\t\tuint64_t packet_seq_num;\n\t\tuint64_t events_discarded;\n"
		       "\t\tuint32_t cpu_id;\n\t};\n"
		       "\tevent.header := struct {\n\t\tuint16_t id;\n"
		       "\t\tuint64_clock_monotonic_t timestamp;\n\t};\n"
		       "\tevent.context := struct {\n\t\tint32_t pid;\n\t\tint32_t tid;\n"
		       "\t\tuint16_t size;\n\t};\n"
		       "};\n\n");
	for (unsigned id = 1; id < CT_EV_MAX; id++) {
		if (!event_fields[id])
			continue;
		ct_buf_printf(b,
			      "event {\n\tname = \"%s\";\n\tid = %u;\n\tstream_id = 0;\n"
			      "\tfields := struct {\n%s\t};\n};\n\n",
			      ct_ev_name(id), id, event_fields[id]);
	}
}
