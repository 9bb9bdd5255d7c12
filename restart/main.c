/* restart: bring a checkpointed process back from its image. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "latest.h"
#include "page_index.h"
#include "pidns.h"
#include "restore.h"
#include "sign.h"
#include "crypt.h"
#include "version.h"

static const char usage[] =
"Usage: restart FILE [OPTIONS]\n"
"       restart DIR [OPTIONS]     (or restart --latest DIR)\n"
"\n"
"Bring back the process saved in the image FILE by ckpt(1) (\"-\" reads the\n"
"image from standard input), under its original PID, exactly where it was;\n"
"an image of a process tree brings back every process of it, each under its\n"
"PID with its parent, process group and session, zombies and stopped ones\n"
"too, sharing again the pipes, files, sockets and memory they shared.\n"
"Everything is checked before anything starts: a missing or changed binary,\n"
"a CPU lacking features, a PID in use or a damaged image is an error, and\n"
"nothing half-restored is ever left running.\n"
"Given a directory of snapshots (ckpt snapshot --dir DIR), restart reads\n"
"them newest first and brings back the newest one that is whole and\n"
"undamaged, with a warning for each damaged one it skips.\n"
"\n"
"Options:\n"
"  -n, --new-pid        restore in a new PID namespace (with a mount namespace\n"
"                       and a /proc of its own), where every process keeps its\n"
"                       PID and thread IDs whatever this host's processes\n"
"                       hold; restart's own init is PID 1 there (it reaps\n"
"                       orphans and passes signals and the exit status on);\n"
"                       --detach prints the PID this host sees.  Needed for\n"
"                       an image of a tree in a PID namespace of its own\n"
"                       (ckpt of the program `unshare -pf` ran): its init\n"
"                       comes back as PID 1 of a namespace again.  Not\n"
"                       root: in a user namespace of restart's own (the\n"
"                       user's uid and gid as themselves)\n"
"      --any-pid        a single process under any free PID of this host\n"
"                       (it sees getpid() change; not for a process tree)\n"
"  -d, --detach         print the PID and exit once the process runs, instead\n"
"                       of waiting for it\n"
"      --stdin FILE     give the process FILE as standard input (in place of\n"
"                       restart's own; /dev/null when the image comes on stdin)\n"
"      --stdout FILE    give the process FILE (appended to) as standard output\n"
"      --stderr FILE    give the process FILE (appended to) as standard error\n"
"      --allow-changed-files\n"
"                       reopen files the process was reading even if they\n"
"                       changed since the checkpoint (default: refuse)\n"
"      --pty            give the process a new terminal (where it had one on\n"
"                       fds 0-2) in a session of its own; restart relays it\n"
"                       to its own stdin/stdout until the process ends\n"
"      --tcp-close      restore established TCP connections closed: the\n"
"                       program sees an ordinary error on them (for a host\n"
"                       without the address, or without CAP_NET_ADMIN)\n"
"      --no-tcp-lock    rebuild established TCP connections without the network\n"
"                       lock: by default their packets are dropped (nftables)\n"
"                       from before their sockets exist until every process\n"
"                       runs, then let through (ckpt --kill's lock with them)\n"
"      --tcp-lock-timeout S\n"
"                       the lock ends by itself after S seconds (default 600)\n"
"                       should restart die holding it\n"
"      --verify PUBKEY  accept only an image signed (ckpt --sign) with the key\n"
"                       of the public key file PUBKEY, or with any key of\n"
"                       the *.pub files of the directory PUBKEY; every frame\n"
"                       is checked before it is used, so nothing starts\n"
"                       unless the whole image is signed and unchanged.\n"
"                       An incremental image's parents are verified the\n"
"                       same way, wholly, before anything is created; with\n"
"                       DIR, the newest snapshot whose chain verifies is\n"
"                       taken (older ones with a warning)\n"
"      --decrypt KEYFILE\n"
"                       the image is encrypted (ckpt --encrypt KEYFILE) with\n"
"                       the secret in KEYFILE; every frame must be, and each\n"
"                       is authenticated before it is used (the parents of\n"
"                       an incremental image too: a chain shares its key)\n"
"      --inherit-fd [PID:]N=FD\n"
"                       fd N of the process (of process PID of the image's\n"
"                       tree; default: its root), a pipe or unix socket whose\n"
"                       other end was outside the checkpoint, is restart's\n"
"                       fd FD (restart --inherit-fd 5=3 IMAGE 3>PIPE); without\n"
"                       it such an fd has no peer (restart warns)\n"
"      --no-timens      no time namespace: the process sees this host's\n"
"                       CLOCK_MONOTONIC and CLOCK_BOOTTIME (by default they\n"
"                       go on from the checkpoint, whatever this host's uptime)\n"
"      --as-root        run by root, restore another user's image with root's\n"
"                       credentials (by default restart becomes the user who\n"
"                       owns the image file, or else who wrote it, before it\n"
"                       opens anything for the image: see docs/security.md)\n"
"  -v, --verbose        print each step with timings; -vv for more\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"The restored process gets restart's own standard input, output and error\n"
"where it had a terminal, pipe or socket on fds 0-2; files it had open are\n"
"reopened by path at the same offset.  A job that had the foreground of its\n"
"terminal becomes a job of its own in the foreground of restart's terminal,\n"
"with its terminal settings (^Z stops it and restart, fg resumes both).\n"
"In the foreground (default) restart\n"
"forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the process\n"
"and exits with its exit status (128+N if killed by signal N).\n"
"\n"
"Exit status: the process's when in the foreground; 0 with --detach once it\n"
"runs; 1 if it could not be restored; 2 on bad usage.  See restart(1).\n";

static volatile pid_t child_pid;

static void forward_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* A terminal's SIGINT already reached the whole process group. */
	if (si->si_code == SI_KERNEL || child_pid <= 0)
		return;
	kill(child_pid, sig);
}

static void setup_forwarding(void)
{
	struct sigaction sa = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	unsigned i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static struct restore_tty tty;
static int tty_fd = -1;

static void take_terminal_back(void)
{
	if (tty.foreground_given) {
		void (*old)(int) = signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(tty_fd, getpgrp());
		signal(SIGTTOU, old);
	}
	if (tty.termios_saved)
		tcsetattr(tty_fd, TCSADRAIN, &tty.saved);
}

static void stop_with(pid_t pid)
{
	struct termios its;
	bool have = tty.termios_saved && !tcgetattr(tty_fd, &its);

	take_terminal_back();
	kill(getpid(), SIGSTOP);
	if (have)
		tcsetattr(tty_fd, TCSADRAIN, &its);
	if (tty.foreground_given)
		tcsetpgrp(tty_fd, pid);
	kill(-pid, SIGCONT);
	kill(pid, SIGCONT);
}

static int wait_foreground(pid_t pid)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, WUNTRACED) < 0) {
			if (errno == EINTR)
				continue;
			take_terminal_back();
			fprintf(stderr, "restart: waiting for process %d: %s\n", pid, strerror(errno));
			return 1;
		}
		if (WIFSTOPPED(status)) {
			stop_with(pid);
			continue;
		}
		break;
	}
	take_terminal_back();
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* --pty: a new pty whose slave side stands in for fds 0-2. */
static int open_pty(int *master, struct restore_opts *opts)
{
	static char slave_path[64];
	struct winsize ws;
	int slave, i;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master) ||
	    ptsname_r(*master, slave_path, sizeof(slave_path)))
		return fail(errno, NULL, "creating a new terminal (--pty)");
	slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return fail(errno, NULL, "opening the new terminal %s", slave_path);
	if (!ioctl(STDIN_FILENO, TIOCGWINSZ, &ws))
		ioctl(slave, TIOCSWINSZ, &ws);
	for (i = 0; i < 3; i++)
		opts->stdio_fd[i] = slave;
	opts->pty_slave = slave_path;
	return 0;
}

/* Copy stdin to the pty and the pty to stdout until the process ends;
 * restart's own terminal, if any, is raw meanwhile. */
static int relay_pty(int master, pid_t pid)
{
	struct termios saved, raw;
	bool tty = !tcgetattr(STDIN_FILENO, &saved);
	bool in_open = true;
	char buf[4096];
	int status = 0;

	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	}
	for (;;) {
		struct pollfd p[2] = { { master, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
		ssize_t n;

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (poll(p, in_open ? 2 : 1, 100) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			n = read(master, buf, sizeof(buf));
			if (n > 0 && write(STDOUT_FILENO, buf, n) < 0)
				break;
		}
		if (in_open && (p[1].revents & (POLLIN | POLLHUP))) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				in_open = false;
			else if (write(master, buf, n) < 0)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		waitpid(pid, &status, 0);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int open_stdio(const char *path, int fd_in_restart, int flags, int *out)
{
	if (!path) {
		*out = fd_in_restart;
		return 0;
	}
	*out = open(path, flags | O_CLOEXEC, 0644);
	if (*out < 0)
		return fail(errno, NULL, "opening %s", path);
	return 0;
}

/* --inherit-fd N=FD: fd N of the process is restart's fd FD (checked
 * against the image later, fd_external.c). */
static int add_inherit(struct restore_opts *opts, const char *arg)
{
	struct inherit_fd *grown;
	const char *eq = strchr(arg, '='), *arg2 = arg;
	pid_t pid = 0;
	char *end;
	long n, fd;
	size_t i;

	if (!strncmp(arg, "fd[", 3)) {
		fprintf(stderr, "restart: --inherit-fd %s: CRIU's fd[FD]:KEY form is not accepted; "
			"give N=FD, N the fd number in the restored process\n"
			"Try 'restart --help'.\n", arg);
		return -1;
	}
	errno = 0;
	n = strtol(arg, &end, 10);
	if (end != arg && *end == ':' && !errno && n > 0 && n <= INT_MAX) {
		pid = (pid_t)n;	/* PID:N=FD */
		arg2 = end + 1;
		n = strtol(arg2, &end, 10);
	}
	if (!eq || end == arg2 || end != eq || errno || n < 0 || n > (1 << 20))
		goto syntax;
	fd = strtol(eq + 1, &end, 10);
	if (end == eq + 1 || *end || errno || fd < 0 || fd > INT_MAX)
		goto syntax;
	if (n <= 2) {
		fprintf(stderr, "restart: --inherit-fd %s: fds 0-2 are stdio, replaced by restart's "
			"own (use --stdin, --stdout, --stderr)\nTry 'restart --help'.\n", arg);
		return -1;
	}
	if (fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "restart: --inherit-fd %s: fd %ld is not open in restart (open it "
			"for restart: restart --inherit-fd %ld=%ld IMAGE %ld<FILE)\n", arg, fd, n, fd,
			fd);
		return -1;
	}
	for (i = 0; i < opts->ninherit; i++)
		if (opts->inherit[i].n == n && opts->inherit[i].pid == pid) {
			fprintf(stderr, "restart: --inherit-fd %s: fd %ld is given twice\n"
				"Try 'restart --help'.\n", arg, n);
			return -1;
		}
	grown = realloc((void *)opts->inherit, (opts->ninherit + 1) * sizeof(*grown));
	if (!grown) {
		fprintf(stderr, "restart: --inherit-fd: out of memory\n");
		return -1;
	}
	grown[opts->ninherit].pid = pid;
	grown[opts->ninherit].n = n;
	grown[opts->ninherit].fd = fd;
	opts->inherit = grown;
	opts->ninherit++;
	return 0;
syntax:
	fprintf(stderr, "restart: --inherit-fd %s: not [PID:]N=FD (N an fd number in the "
		"restored process, or in its process PID, FD restart's own)\nTry 'restart --help'.\n", arg);
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_STDIN = 256, OPT_STDOUT, OPT_STDERR, OPT_ALLOW_CHANGED, OPT_TCP_CLOSE, OPT_PTY,
	       OPT_NO_TIMENS, OPT_LATEST, OPT_ANY_PID, OPT_AS_ROOT, OPT_VERIFY, OPT_DECRYPT,
	       OPT_INHERIT_FD, OPT_NO_TCP_LOCK, OPT_TCP_LOCK_TIMEOUT };
	static const struct option longopts[] = {
		{ "new-pid", no_argument, NULL, 'n' },
		{ "any-pid", no_argument, NULL, OPT_ANY_PID },
		{ "detach", no_argument, NULL, 'd' },
		{ "stdin", required_argument, NULL, OPT_STDIN },
		{ "stdout", required_argument, NULL, OPT_STDOUT },
		{ "stderr", required_argument, NULL, OPT_STDERR },
		{ "allow-changed-files", no_argument, NULL, OPT_ALLOW_CHANGED },
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
		{ "no-tcp-lock", no_argument, NULL, OPT_NO_TCP_LOCK },
		{ "tcp-lock-timeout", required_argument, NULL, OPT_TCP_LOCK_TIMEOUT },
		{ "pty", no_argument, NULL, OPT_PTY },
		{ "no-timens", no_argument, NULL, OPT_NO_TIMENS },
		{ "latest", required_argument, NULL, OPT_LATEST },
		{ "as-root", no_argument, NULL, OPT_AS_ROOT },
		{ "verify", required_argument, NULL, OPT_VERIFY },
		{ "decrypt", required_argument, NULL, OPT_DECRYPT },
		{ "inherit-fd", required_argument, NULL, OPT_INHERIT_FD },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct restore_opts opts = { 0 };
	const char *stdio_path[3] = { NULL, NULL, NULL }, *image, *latest_dir = NULL;
	const char *verify = NULL, *decrypt = NULL;
	struct trust *trust = NULL;
	bool use_pty = false;
	char latest[PATH_MAX], image_dir[PATH_MAX];
	struct stat st;
	int master = -1;
	struct pidns ns = { .fd = -1 };
	int c, image_fd, i, code;
	pid_t pid;

	log_set_program("restart");
	argv[0] = "restart";	/* getopt's messages name the tool, not its path */
	while ((c = getopt_long(argc, argv, "ndvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': opts.new_pid = true; break;
		case OPT_ANY_PID: opts.any_pid = true; break;
		case 'd': opts.detach = true; break;
		case OPT_STDIN: stdio_path[0] = optarg; break;
		case OPT_STDOUT: stdio_path[1] = optarg; break;
		case OPT_STDERR: stdio_path[2] = optarg; break;
		case OPT_ALLOW_CHANGED: opts.allow_changed_files = true; break;
		case OPT_TCP_CLOSE: opts.tcp_close = true; break;
		case OPT_NO_TCP_LOCK: opts.no_tcp_lock = true; break;
		case OPT_TCP_LOCK_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > NETLOCK_TIMEOUT_MAX) {
				fprintf(stderr, "restart: --tcp-lock-timeout: '%s' is not a number "
					"of seconds from 1 to %d\n", optarg, NETLOCK_TIMEOUT_MAX);
				return 2;
			}
			opts.tcp_lock_timeout = v;
			break;
		}
		case OPT_PTY: use_pty = true; break;
		case OPT_NO_TIMENS: opts.no_timens = true; break;
		case OPT_LATEST: latest_dir = optarg; break;
		case OPT_AS_ROOT: opts.as_root = true; break;
		case OPT_VERIFY: verify = optarg; break;
		case OPT_DECRYPT: decrypt = optarg; break;
		case OPT_INHERIT_FD:
			if (add_inherit(&opts, optarg))
				return 2;
			break;
		case 'v': log_level++; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("restart %s\n", CKPT_VERSION); return 0;
		default:
			fputs("Try 'restart --help'.\n", stderr);
			return 2;
		}
	}
	if (optind != argc - !latest_dir) {
		fprintf(stderr, "restart: %s\nUsage: restart FILE [--new-pid] [--detach]\n"
			"Try 'restart --help'.\n", optind >= argc && !latest_dir ?
			"missing image FILE" : "too many arguments");
		return 2;
	}
	image = latest_dir ? latest_dir : argv[optind];
	if (latest_dir && (stat(image, &st) || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "restart: --latest %s: not a directory\nTry 'restart --help'.\n",
			image);
		return 2;
	}
	/* The keys first: a bad --verify must not cost a stream. */
	if (verify && !(opts.trust = trust = trust_load(verify)))
		goto err;
	if (decrypt && !(opts.decrypt = crypt_key_load(decrypt)))
		goto err;
	if (strcmp(image, "-") && stat(image, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct image_keys keys = { opts.trust, opts.decrypt };

		if (latest_image(image, &keys, latest, sizeof(latest)))
			goto err;
		image = latest;
	}
	image_dir_of(image, image_dir, sizeof(image_dir));
	opts.image_dir = image_dir;
	if (!strcmp(image, "-")) {
		image_fd = STDIN_FILENO;
		if (!stdio_path[0])
			stdio_path[0] = "/dev/null";
	} else {
		image_fd = open(image, O_RDONLY | O_CLOEXEC);
		if (image_fd < 0) {
			fail(errno, "check the path of the image", "opening image %s", image);
			goto err;
		}
	}
	/* Whose image it is: root restores another user's as that user. */
	if (geteuid() == 0)
		creds_image_supplier(image_fd, true, &opts);
	if (use_pty) {
		if (opts.detach) {
			fprintf(stderr, "restart: --pty needs the foreground: restart relays the "
				"terminal\nTry 'restart --help'.\n");
			return 2;
		}
		if (open_pty(&master, &opts) < 0)
			goto err;
	} else if (open_stdio(stdio_path[0], 0, O_RDONLY, &opts.stdio_fd[0]) ||
	    open_stdio(stdio_path[1], 1, O_WRONLY | O_CREAT | O_APPEND, &opts.stdio_fd[1]) ||
	    open_stdio(stdio_path[2], 2, O_WRONLY | O_CREAT | O_APPEND, &opts.stdio_fd[2]))
		goto err;
	if (opts.new_pid && opts.any_pid) {
		fprintf(stderr, "restart: --new-pid and --any-pid exclude each other\n"
			"Try 'restart --help'.\n");
		return 2;
	}
	if (!opts.detach || opts.new_pid)
		setup_forwarding();
	if (opts.new_pid && pidns_enter(&ns, &child_pid))
		goto err;
	opts.tty = &tty;
	tty_fd = opts.stdio_fd[0];
	if (restore_image(image_fd, &opts, &pid)) {
		take_terminal_back();
		goto err;
	}
	if (opts.new_pid)
		pidns_restored();
	trust_free(trust);
	crypt_key_free(opts.decrypt);
	for (i = 0; i < 3; i++)
		if (opts.stdio_fd[i] > 2)
			close(opts.stdio_fd[i]);
	/* The process has its own: restart's copies would keep a pipe open. */
	for (i = 0; i < (int)opts.ninherit; i++)
		if (opts.inherit[i].fd > 2)
			close(opts.inherit[i].fd);
	if (opts.detach) {
		if (opts.new_pid) {
			child_pid = pid;
			pidns_detached(&ns, pid);
		}
		printf("%d\n", pid);
		return 0;
	}
	child_pid = pid;
	if (opts.new_pid) {
		/* (A stop of the process does not stop restart here: the init
		 * of a namespace cannot stop itself.) */
		code = master >= 0 ? relay_pty(master, pid) : pidns_wait_root(pid);
		take_terminal_back();
		pidns_exited(&ns, code);
	}
	if (master >= 0)
		return relay_pty(master, pid);
	return wait_foreground(pid);
err:
	error_print();
	return 1;
}
