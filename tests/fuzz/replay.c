// SPDX-License-Identifier: MIT
/*
 * Replays a fuzz target's corpus without libFuzzer: every file under the given directories
 * goes through LLVMFuzzerTestOneInput once. Lets gcc builds run the corpus as a regression
 * test; the real fuzzing happens in the clang build (CT_FUZZ).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			fprintf(stderr, "replay: cannot open corpus %s\n", argv[i]);
			return 1;
		}
		while ((e = readdir(d))) {
			char p[4096];
			struct stat sb;

			snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
			if (e->d_name[0] == '.' || stat(p, &sb) || !S_ISREG(sb.st_mode))
				continue;
			if (replay_file(p)) {
				fprintf(stderr, "replay: cannot read %s\n", p);
				closedir(d);
				return 1;
			}
			files++;
		}
		closedir(d);
	}
	/* An empty corpus would make this test pass while checking nothing. */
	if (!files) {
		fprintf(stderr, "replay: no corpus files\n");
		return 1;
	}
	printf("%d passed, 0 failed\n", files);
	return 0;
}
