/* ckpt: checkpoint a running process into one image file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_cmd.h"
#include "dirty_track.h"
#include "check.h"
#include "dump.h"
#include "pidns.h"
#include "info.h"
#include "output.h"
#include "sign.h"
#include "crypt.h"
#include "snapshot.h"
#include "merge.h"
#include "version.h"

static const char usage[] =
"Usage: ckpt PID -o FILE [OPTIONS]\n"
"       ckpt info IMAGE [--json]\n"
"       ckpt check [IMAGE [--new-pid | --any-pid]]\n"
"       ckpt snapshot (--pid PID | --pidfile F | --unit UNIT) --dir DIR [--keep N]\n"
"       ckpt cache [list | prune [--max-size SIZE] [--max-age DAYS] | dir]\n"
"       ckpt merge IMAGE -o OUT\n"
"       ckpt keygen FILE\n"
"\n"
"Checkpoint the running process PID and all its descendants into one image\n"
"FILE (a zstd-compressed tar archive; \"-\" writes it to standard output).\n"
"Every process is stopped while its threads and kernel state are read; then\n"
"each forks a frozen copy-on-write copy of itself and they all continue at\n"
"once, as if nothing happened, while their memory is written from the\n"
"copies.  Bring them back with restart(1).\n"
"A process in a PID namespace of its own (the program `unshare -pf` runs,\n"
"PID 1 there) is saved from inside it, with the PIDs seen there, for\n"
"`restart --new-pid`; a tree spanning PID namespaces is refused.\n"
"\n"
"Commands:\n"
"  info IMAGE                what the saved process looked like: threads with\n"
"                            backtraces, memory map, open files, signals...\n"
"                            (--json: everything as one JSON object)\n"
"  check                     which kernel and machine features ckpt can use here\n"
"  check IMAGE               could IMAGE be restarted here? (nothing is started)\n"
"  snapshot ...              one scheduled snapshot into a directory, rotated\n"
"                            (for cron and systemd timers)\n"
"  cache                     the cache of bundled files restart unpacks: list,\n"
"                            prune (bounded size and age), dir\n"
"  merge IMAGE -o OUT        fold an incremental image and its parents into\n"
"                            one full image (its parents can then go)\n"
"  keygen FILE               make an Ed25519 key pair for --sign: FILE (private,\n"
"                            mode 0600) and FILE.pub (for restart --verify)\n"
"  Each has its own --help.\n"
"\n"
"Options:\n"
"  -o, --output FILE         where to write the image (\"-\" = stdout); written\n"
"                            to an unnamed file, named only when complete (a\n"
"                            named pipe or device: written to as a stream)\n"
"  -k, --kill                end the processes once the image is fully written\n"
"                            (they stay stopped until then)\n"
"      --no-tcp-lock         with --kill: no network lock (see below); by default\n"
"                            the packets of every TCP connection are dropped\n"
"                            (nftables) from before it is frozen until restart\n"
"                            has rebuilt it, so that the peer sees no reset;\n"
"                            without nftables that is an error, naming them\n"
"      --tcp-lock-timeout S  the lock ends by itself after S seconds (default\n"
"                            600) if restart never removes it\n"
"      --no-children         save PID alone, not its descendants (refused if\n"
"                            it has children: they would be lost)\n"
"      --from-inside         ckpt was started by PID itself (libmigrate): the\n"
"                            processes between PID and ckpt are left out\n"
"      --confirm-fd FD       with --kill: once the image is written (and standard\n"
"                            output closed), wait for \"kill\" on FD before ending\n"
"                            the process; anything else, end of file or 10\n"
"                            minutes of silence let it go on running here\n"
"                            (scripts/ckpt-migrate uses this)\n"
"  -b, --bundle              carry the executable and every mapped file (shared\n"
"                            libraries, locale archive...) in the image, once\n"
"                            per content: restart then works where they are\n"
"                            missing or different (a file deleted or replaced\n"
"                            since the process started is always carried)\n"
"      --no-cow              keep the process stopped until its memory is\n"
"                            written instead of reading a copy-on-write copy\n"
"      --tcp-hold SECONDS    without --kill: from before the process resumes until\n"
"                            SECONDS after the image is written (default 10, 0\n"
"                            for none), its TCP connections' packets are dropped\n"
"                            both ways (nftables), so that if it dies meanwhile\n"
"                            (a crash, a kill to restart it elsewhere) no FIN or\n"
"                            reset reaches the peers and nothing either side sent\n"
"                            after the checkpoint was seen: a restart from this\n"
"                            image continues every connection (restart ends the\n"
"                            hold).  The cost: a process that goes on running\n"
"                            finds its connections paused until the hold ends\n"
"                            (TCP resends what was dropped).  Needs nft; without\n"
"                            it, a warning"
"      --parent IMAGE        incremental: store only the pages that changed\n"
"                            since IMAGE, an earlier image of this process;\n"
"                            restart finds IMAGE (and its own parents) by its\n"
"                            id among the images in the same directory.  With\n"
"                            --encrypt, IMAGE is read with the same key (a\n"
"                            chain shares its key)\n"
"      --verify-parent PUBKEY\n"
"                            with --parent: IMAGE must be signed by a key of\n"
"                            PUBKEY (a .pub file or a directory of them), as\n"
"                            restart --verify checks it\n"
"      --track               keep track of the pages the process writes from now\n"
"                            on (userfaultfd write-protect, async mode), so that\n"
"                            the next dump with --parent this image reads only\n"
"                            those; a small \"ckpt-track\" process keeps it until\n"
"                            the process exits.  Without --track, a dump of a\n"
"                            tracked process still uses (and renews) it\n"
"      --ext-unix            allow unix sockets connected to other processes:\n"
"                            restart connects them again to the peer's path\n"
"      --sign KEY            sign the image with the Ed25519 private key KEY\n"
"                            (ckpt keygen): a signature after every frame covers\n"
"                            every byte before it, so restart --verify refuses\n"
"                            any change, a pipe included\n"
"      --encrypt KEYFILE     encrypt the image (ChaCha20-Poly1305, each frame on\n"
"                            its own, on every core) with a key derived from the\n"
"                            secret in KEYFILE (32+ bytes: head -c 32 /dev/urandom\n"
"                            > KEYFILE) and a random salt; restart --decrypt\n"
"                            KEYFILE reads it\n"
"  -l, --compress-level N    zstd level, 1 (fastest, default) to 19\n"
"  -v, --verbose             print what is done with timings and each thread's\n"
"                            backtrace; -vv for more\n"
"  -h, --help                show this help\n"
"  -V, --version             show the version\n"
"\n"
"Captured: the process tree (parents, process groups, sessions, zombies,\n"
"stopped processes; pipes, open files, sockets, shared anonymous memory,\n"
"System V IPC and files without a name shared between them), every thread\n"
"(registers with the full xstate incl. AVX-512, rseq, robust list, signal\n"
"mask, scheduling, a backtrace for ckpt info), memory\n"
"(only pages in use), signal handlers and queued signals, itimers and POSIX\n"
"timers, regular files at their offsets, seccomp filters, cwd, umask,\n"
"rlimits, credentials, oom_score_adj, pipes, sockets, eventfd, timerfd,\n"
"signalfd, epoll, inotify, file locks, the terminal.\n"
"Refused with a message: what cannot be captured faithfully (processes\n"
"already traced, vfork children that do not exec within a second, io_uring,\n"
"device mappings...).\n"
"Environment: CKPT_THREADS=N compresses on N threads (default: one per CPU).\n"
"\n"
"Exit status: 0 when the image is complete, 1 on any error (the process\n"
"is then left running as before and no image is left at FILE), 2 on bad usage.\n"
"See ckpt(1).\n";

static void on_signal(int sig)
{
	(void)sig;
	dump_interrupted = 1;
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	unsigned i;

	/* A closed pipe must be an error we handle, not our death: the
	 * target is stopped and must be let go. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static const char keygen_usage[] =
"Usage: ckpt keygen FILE\n"
"\n"
"Make a new Ed25519 key pair for signed images: the private key FILE (PEM,\n"
"mode 0600: keep it on the hosts that checkpoint, for ckpt --sign FILE) and\n"
"the public key FILE.pub (for restart --verify FILE.pub, or copied into the\n"
"receiver's trusted key directory, e.g. /etc/ckpt/trusted.d/).  Neither\n"
"file may exist.  Prints the key's fingerprint.  The same keys can be made\n"
"with openssl: `openssl genpkey -algorithm ed25519 -out FILE` and\n"
"`openssl pkey -in FILE -pubout -out FILE.pub`.\n"
"\n"
"Exit status: 0 on success, 1 on error, 2 on bad usage.\n";

static int keygen_main(int argc, char **argv)
{
	char fp[SIG_FINGERPRINT_LEN];

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(keygen_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "ckpt: %s\nUsage: ckpt keygen FILE\nTry 'ckpt keygen --help'.\n",
			argc < 2 ? "missing FILE" : argc > 2 ? "too many arguments" :
			"unknown option");
		return 2;
	}
	if (sign_keygen(argv[1], fp)) {
		error_print();
		return 1;
	}
	printf("%s %s (public key: %s.pub)\n", fp, argv[1], argv[1]);
	return 0;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > INT_MAX)
		return -1;
	*pid = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "kill", no_argument, NULL, 'k' },
		{ "ext-unix", no_argument, NULL, 'U' },
		{ "no-cow", no_argument, NULL, 'C' },
		{ "tcp-hold", required_argument, NULL, 'H' },
		{ "parent", required_argument, NULL, 'P' },
		{ "track", no_argument, NULL, 'T' },
		{ "no-children", no_argument, NULL, 'N' },
		{ "from-inside", no_argument, NULL, 'I' },
		{ "bundle", no_argument, NULL, 'b' },
		{ "confirm-fd", required_argument, NULL, 'F' },
		{ "compress-level", required_argument, NULL, 'l' },
		{ "sign", required_argument, NULL, 'S' },
		{ "encrypt", required_argument, NULL, 'E' },
		{ "verify-parent", required_argument, NULL, 'Y' },
		{ "no-tcp-lock", no_argument, NULL, 'L' },
		{ "tcp-lock-timeout", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts opts = { .compress_level = 1, .tcp_hold_s = NETLOCK_HOLD_DEFAULT_S };
	struct output out = { .fd = -1, .confirm_fd = -1 };
	const char *sign_path = NULL, *encrypt_path = NULL, *parent_trust_path = NULL;
	struct sign_key *key = NULL;
	struct trust *parent_trust = NULL;
	pid_t pid;
	int c, ret;

	log_set_program("ckpt");
	argv[0] = "ckpt";	/* getopt's messages name the tool, not its path */
	/* Subcommands: a PID is a number, so these words are unambiguous. */
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return info_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "snapshot"))
		return snapshot_main(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "--track-holder"))
		track_holder_main(argv[2]);	/* started by track_commit() */
	if (argc >= 2 && !strcmp(argv[1], "cache"))
		return cache_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "merge"))
		return merge_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "keygen"))
		return keygen_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "o:kbl:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out.path = optarg;
			break;
		case 'k':
			opts.kill_after = true;
			break;
		case 'C':
			opts.no_cow = true;
			break;
		case 'H': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v > NETLOCK_HOLD_MAX_S || optarg[0] == '-') {
				fprintf(stderr, "ckpt: --tcp-hold takes seconds, 0 to %d\n",
					NETLOCK_HOLD_MAX_S);
				return 2;
			}
			opts.tcp_hold_s = v;
			break;
		}
		case 'P':
			opts.parent = optarg;
			break;
		case 'T':
			opts.track = true;
			break;
		case 'N':
			opts.no_children = true;
			break;
		case 'I':
			opts.from_inside = true;
			break;
		case 'b':
			opts.bundle = true;
			break;
		case 'F': {
			struct stat st;
			if (parse_pid(optarg, &out.confirm_fd) || fstat(out.confirm_fd, &st)) {
				fprintf(stderr, "ckpt: --confirm-fd: '%s' is not an open fd\n", optarg);
				return 2;
			}
			break;
		}
		case 'U':
			opts.ext_unix = true;
			break;
		case 'L':
			opts.no_tcp_lock = true;
			break;
		case 'W': {
			pid_t v;
			if (parse_pid(optarg, &v) || v > NETLOCK_TIMEOUT_MAX) {
				fprintf(stderr, "ckpt: --tcp-lock-timeout: '%s' is not a number of "
					"seconds from 1 to %d\n", optarg, NETLOCK_TIMEOUT_MAX);
				return 2;
			}
			opts.tcp_lock_timeout = v;
			break;
		}
		case 'S':
			sign_path = optarg;
			break;
		case 'E':
			encrypt_path = optarg;
			break;
		case 'Y':
			parent_trust_path = optarg;
			break;
		case 'l':
			opts.compress_level = atoi(optarg);
			if (opts.compress_level < 1 || opts.compress_level > 19) {
				fprintf(stderr, "ckpt: --compress-level must be 1 to 19\n");
				return 2;
			}
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("ckpt %s\n", CKPT_VERSION);
			return 0;
		default:
			fputs("Try 'ckpt --help'.\n", stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !out.path) {
		fprintf(stderr, "ckpt: %s\nUsage: ckpt PID -o FILE [--kill] [-v]\n"
			"Try 'ckpt --help'.\n",
			optind >= argc ? "missing PID" : !out.path ? "missing -o FILE" :
			"too many arguments");
		return 2;
	}
	if (out.confirm_fd >= 0 && !opts.kill_after) {
		fputs("ckpt: --confirm-fd needs --kill\nTry 'ckpt --help'.\n", stderr);
		return 2;
	}
	if (parent_trust_path && !opts.parent) {
		fputs("ckpt: --verify-parent needs --parent\nTry 'ckpt --help'.\n", stderr);
		return 2;
	}
	if (parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "ckpt: '%s' is not a PID\nTry 'ckpt --help'.\n", argv[optind]);
		return 2;
	}
	/* The key before the process is touched: a bad key stops nothing. */
	if ((sign_path && !(opts.sign = key = sign_key_load(sign_path))) ||
	    (encrypt_path && !(opts.encrypt = crypt_key_load(encrypt_path))) ||
	    (parent_trust_path && !(opts.parent_trust = parent_trust = trust_load(parent_trust_path)))) {
		error_print();
		sign_key_free(key);
		crypt_key_free(opts.encrypt);
		return 1;
	}
	setup_signals();
	if (pidns_below(pid)) {
		ret = pidns_dump(pid, &opts, &out);
		if (ret < 0)
			error_print();
		return ret ? 1 : 0;
	}
	ret = open_output(&out) ? -1 : dump_tree(pid, &opts, out.fd, commit_output, &out);
	close_output(&out);
	sign_key_free(key);
	crypt_key_free(opts.encrypt);
	trust_free(parent_trust);
	if (ret) {
		error_print();
		return 1;
	}
	return 0;
}
