/* The controlling terminal: whether the process led its own process group
 * (a shell job), whether that group had the terminal, and the terminal's
 * settings.  restart makes the process a job of its own again and, in the
 * foreground, hands it restart's terminal with those settings; restart takes
 * the terminal and its own settings back when the process stops (^Z, then
 * fg hands it over again) or ends (restart/main.c).  The session cannot be
 * the original one: the process joins restart's session and terminal. */
#define LOG_PREFIX "tty: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static bool is_terminal_fd(int fd)
{
	struct stat st;
	unsigned maj;

	if (fstat(fd, &st) || !S_ISCHR(st.st_mode))
		return false;
	maj = major(st.st_rdev);
	return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

/* The terminal's foreground group, as /proc/PID/stat tells (tcgetpgrp only
 * answers about one's own controlling terminal). */
static int foreground_group(pid_t pid)
{
	char *text, *close_paren;
	size_t len;
	int tpgid = -1;

	if (procfs_read(pid, "stat", &text, &len))
		return -1;
	close_paren = strrchr(text, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %*d %*d %*d %*d %d", &tpgid) != 1)
		tpgid = -1;
	free(text);
	return tpgid;
}

static int tty_dump(struct dump_ctx *ctx)
{
	struct process_rec *p = ctx->meta.process;
	char path[64];
	int fd, i;

	p->tty_nr = ctx->stat.tty_nr;
	p->pgrp_leader = ctx->stat.pgrp == ctx->pid;
	if (!p->tty_nr)
		return 0;
	for (i = 0; i <= 2; i++) {
		struct termios t;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", ctx->live, i);
		fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (is_terminal_fd(fd) && !tcgetattr(fd, &t)) {
			p->tty_foreground = foreground_group(ctx->pid) == ctx->stat.pgrp;
			close(fd);
			return blob_set(&p->termios, &t, sizeof(t));
		}
		close(fd);
	}
	return 0;
}

static int tty_check(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;

	if (p->termios.len && p->termios.len != sizeof(struct termios))
		return fail_why("invalid terminal settings", "the image is corrupted",
				"checking the image");
	return 0;
}

static int tty_restore_child(struct restore_ctx *ctx)
{
	int fd;

	/* --pty: a session of its own whose controlling terminal is the new
	 * pty (a session leader's first terminal open makes it so). */
	if (ctx->opts->pty_slave) {
		if (setsid() < 0)
			return fail(errno, NULL, "starting a session for the new terminal");
		fd = open(ctx->opts->pty_slave, O_RDWR);
		if (fd < 0)
			return fail(errno, NULL, "opening the new terminal %s", ctx->opts->pty_slave);
		close(fd);
		return 0;
	}
	/* A session leader already (its terminal came back, fd_pty.c) leads its
	 * group; a process of a tree may lead its group already. */
	if (ctx->meta.process->pgrp_leader && getsid(0) != getpid() && getpgrp() != getpid() &&
	    setpgid(0, 0))
		return fail(errno, NULL, "making the process a job of its own");
	return 0;
}

static int tty_restore(struct restore_ctx *ctx)
{
	const struct process_rec *p = ctx->meta.process;
	struct restore_tty *tty = ctx->opts->tty;
	int fd = ctx->opts->stdio_fd[0];

	if (ctx->opts->pty_slave) {
		/* Its own new terminal: just the settings it had. */
		if (p->termios.len == sizeof(struct termios) &&
		    tcsetattr(fd, TCSANOW, p->termios.data))
			return fail(errno, NULL, "setting up the new terminal");
		return 0;
	}
	/* Leading a session of its own, it has its own terminal (fd_pty.c). */
	if (!tty || !p->tty_nr || ctx->opts->detach || !is_terminal_fd(fd) ||
	    getsid(ctx->pid) == ctx->pid)
		return 0;
	if (p->termios.len == sizeof(struct termios)) {
		/* restart's own settings: before the first process of a tree. */
		if (!tty->termios_saved && tcgetattr(fd, &tty->saved))
			return fail(errno, NULL, "reading the terminal settings");
		tty->termios_saved = true;
		if (tcsetattr(fd, TCSANOW, p->termios.data))
			return fail(errno, NULL, "restoring the terminal settings");
	}
	if (p->tty_foreground && p->pgrp_leader && tcgetpgrp(fd) == getpgrp()) {
		if (tcsetpgrp(fd, ctx->pid))
			return fail(errno, NULL, "giving the terminal to the process");
		tty->foreground_given = true;
	}
	return 0;
}

const struct state_ops tty_state_ops = {
	.name = "tty",
	.dump = tty_dump,
	.check = tty_check,
	.restore_child = tty_restore_child,
	.restore = tty_restore,
};
