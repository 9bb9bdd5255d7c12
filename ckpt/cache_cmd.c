/* ckpt cache: the cache of bundled files restart unpacks (common/cache.c). */
#include "cache_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

static const char usage[] =
"Usage: ckpt cache [list]\n"
"       ckpt cache prune [--max-size SIZE] [--max-age DAYS] [--dry-run]\n"
"       ckpt cache dir\n"
"\n"
"restart(1) unpacks the files an image carries (ckpt --bundle) that this\n"
"host lacks or has in another version into a content-addressed cache,\n"
"DIR/<sha256>/<name>, and maps or runs them from there.  DIR is\n"
"$XDG_CACHE_HOME/ckpt when XDG_CACHE_HOME is set, else /var/cache/ckpt for\n"
"root, else ~/.cache/ckpt.\n"
"\n"
"  list    every entry: its hash, size, last use, \"in use\" if a running\n"
"          process maps it\n"
"  prune   remove the entries unused for more than --max-age days (default\n"
"          30), then the least recently used ones until at most --max-size\n"
"          remain (default 1G; K, M, G suffixes); an entry a running process\n"
"          maps is never removed\n"
"  dir     print the cache directory\n"
"\n"
"Options:\n"
"  -s, --max-size SIZE   bound on what stays (bytes, or with K/M/G)\n"
"  -a, --max-age DAYS    remove entries unused for longer (0: every unused one)\n"
"  -n, --dry-run         say what would be removed, remove nothing\n"
"  -h, --help            show this help\n"
"\n"
"Exit status: 0 on success, 1 on error, 2 on bad usage.\n";

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int cache_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-size", required_argument, NULL, 's' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t max_size = 1ull << 30, max_age = 30 * 86400ull;
	const char *cmd = "list";
	bool dry_run = false;
	char dir[4096];
	int c;

	if (argc >= 2 && argv[1][0] != '-') {
		cmd = argv[1];
		argc--;
		argv++;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:a:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &max_size)) {
				fprintf(stderr, "ckpt: --max-size: '%s' is not a size\n", optarg);
				return 2;
			}
			break;
		case 'a': {
			char *end;
			double days = strtod(optarg, &end);
			if (end == optarg || *end || days < 0) {
				fprintf(stderr, "ckpt: --max-age: '%s' is not a number of days\n",
					optarg);
				return 2;
			}
			max_age = days * 86400;
			break;
		}
		case 'n':
			dry_run = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'ckpt cache --help'.\n", stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs("ckpt: too many arguments\nTry 'ckpt cache --help'.\n", stderr);
		return 2;
	}
	if (!strcmp(cmd, "list")) {
		if (cache_list(stdout))
			goto err;
	} else if (!strcmp(cmd, "prune")) {
		if (cache_prune(max_size, max_age, dry_run, stdout))
			goto err;
	} else if (!strcmp(cmd, "dir")) {
		if (cache_dir(dir, sizeof(dir), false))
			goto err;
		puts(dir);
	} else {
		fprintf(stderr, "ckpt: cache: unknown command '%s'\nTry 'ckpt cache --help'.\n", cmd);
		return 2;
	}
	return 0;
err:
	error_print();
	return 1;
}
