/* ckpt: checkpoint a running process into one image file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_cmd.h"
#include "check.h"
#include "dump.h"
#include "info.h"
#include "version.h"

static const char usage[] =
"Usage: ckpt PID -o FILE [OPTIONS]\n"
"       ckpt info IMAGE [--json]\n"
"       ckpt check [IMAGE [--new-pid]]\n"
"       ckpt cache [list | prune [--max-size SIZE] [--max-age DAYS] | dir]\n"
"\n"
"Checkpoint the running process PID into one image FILE (a zstd-compressed\n"
"tar archive; \"-\" writes it to standard output).  The process is stopped\n"
"while its threads and kernel state are read; then it forks a frozen\n"
"copy-on-write copy of itself and continues at once, as if nothing happened,\n"
"while its memory is written from the copy.  Bring it back with restart(1).\n"
"\n"
"Commands:\n"
"  info IMAGE                what the saved process looked like: threads with\n"
"                            backtraces, memory map, open files, signals...\n"
"                            (--json: everything as one JSON object)\n"
"  check                     which kernel and machine features ckpt can use here\n"
"  check IMAGE               could IMAGE be restarted here? (nothing is started)\n"
"  cache                     the cache of bundled files restart unpacks: list,\n"
"                            prune (bounded size and age), dir\n"
"  Each has its own --help.\n"
"\n"
"Options:\n"
"  -o, --output FILE         where to write the image (\"-\" = stdout); written\n"
"                            to a temporary name and renamed when complete\n"
"  -k, --kill                end the process once the image is fully written\n"
"                            (it stays stopped until then)\n"
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
"      --ext-unix            allow unix sockets connected to other processes:\n"
"                            restart connects them again to the peer's path\n"
"  -l, --compress-level N    zstd level, 1 (fastest, default) to 19\n"
"  -v, --verbose             print what is done with timings and each thread's\n"
"                            backtrace; -vv for more\n"
"  -h, --help                show this help\n"
"  -V, --version             show the version\n"
"\n"
"Captured: every thread (registers with the full xstate incl. AVX-512, rseq,\n"
"robust list, signal mask, scheduling, a backtrace for ckpt info), memory\n"
"(only pages in use), signal handlers and queued signals, itimers and POSIX\n"
"timers, regular files at their offsets, seccomp filters, cwd, umask,\n"
"rlimits, credentials, oom_score_adj, pipes, sockets, eventfd, timerfd,\n"
"signalfd, epoll, inotify, file locks, the terminal.\n"
"Refused with a message: what cannot be captured faithfully (processes\n"
"already traced, vfork children, io_uring, device mappings...).\n"
"Environment: CKPT_THREADS=N compresses on N threads (default: one per CPU).\n"
"\n"
"Exit status: 0 when the image is complete, 1 on any error (the process\n"
"is then left running as before and no image is left at FILE), 2 on bad usage.\n"
"See ckpt(1).\n";

struct output {
	const char *path;
	char tmp[PATH_MAX];
	int fd;
	int confirm_fd;		/* --confirm-fd: -1 none */
};

static int open_output(struct output *o)
{
	char dir[PATH_MAX];

	if (!strcmp(o->path, "-")) {
		if (isatty(STDOUT_FILENO))
			return fail_why("standard output is a terminal", "redirect it to a file "
					"or a pipe, or use -o FILE", "writing the image");
		o->fd = STDOUT_FILENO;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", o->path);
	snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.ckpt-XXXXXX", dirname(dir),
		 basename((char *)o->path));
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		o->tmp[0] = 0;
		return fail(errno, "check that the directory exists and is writable",
			    "creating the image %s", o->path);
	}
	fchmod(o->fd, 0600);
	return 0;
}

/* --confirm-fd: the image is whole; the process, still stopped, is ended
 * only if "kill" arrives on fd (the target runs it); anything else, end of
 * file or 10 minutes without an answer let it go on as before. */
static int wait_confirmation(struct output *o)
{
	struct pollfd pfd = { .fd = o->confirm_fd, .events = POLLIN };
	char answer[16] = "";
	ssize_t n = 0;
	int r, devnull;

	/* The reader must see the end of the stream before it can answer. */
	if (o->fd == STDOUT_FILENO && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	do
		r = poll(&pfd, 1, 600 * 1000);
	while (r < 0 && errno == EINTR && !dump_interrupted);
	if (r > 0)
		n = read(o->confirm_fd, answer, sizeof(answer) - 1);
	if (n > 0 && !strncmp(answer, "kill", 4))
		return 0;
	return fail_why(r == 0 ? "no answer in 10 minutes" : n > 0 ? "the target refused" :
			"no confirmation (end of file)", "the process goes on running here",
			"waiting for the target to confirm the restart");
}

/* Called once the image is fully written: make it durable, then visible. */
static int commit_output(void *arg)
{
	struct output *o = arg;

	if (o->fd == STDOUT_FILENO)
		return o->confirm_fd >= 0 ? wait_confirmation(o) : 0;
	if (fsync(o->fd))
		return fail(errno, NULL, "writing the image %s", o->path);
	if (rename(o->tmp, o->path))
		return fail(errno, NULL, "renaming the image to %s", o->path);
	o->tmp[0] = 0;
	return o->confirm_fd >= 0 ? wait_confirmation(o) : 0;
}

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
		{ "bundle", no_argument, NULL, 'b' },
		{ "confirm-fd", required_argument, NULL, 'F' },
		{ "compress-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts opts = { .compress_level = 1 };
	struct output out = { .fd = -1, .confirm_fd = -1 };
	pid_t pid;
	int c, ret;

	log_set_program("ckpt");
	argv[0] = "ckpt";	/* getopt's messages name the tool, not its path */
	/* Subcommands: a PID is a number, so these words are unambiguous. */
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return info_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "cache"))
		return cache_main(argc - 1, argv + 1);
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
	if (parse_pid(argv[optind], &pid)) {
		fprintf(stderr, "ckpt: '%s' is not a PID\nTry 'ckpt --help'.\n", argv[optind]);
		return 2;
	}
	setup_signals();
	ret = open_output(&out) ? -1 : dump_process(pid, &opts, out.fd, commit_output, &out);
	if (out.tmp[0])
		unlink(out.tmp);
	if (out.fd > STDOUT_FILENO)
		close(out.fd);
	if (ret) {
		error_print();
		return 1;
	}
	return 0;
}
