/* Parsers for /proc/PID files.
 *
 * Every parser works on a bounded "line" (pointer + length) and never relies
 * on the text being well formed: numbers are parsed by hand with overflow
 * checks (strtoul would accept signs, "0x" and leading blanks), strings are
 * copied with explicit bounds, and anything unexpected becomes one error that
 * quotes the offending line.
 */
#define LOG_PREFIX "procfs: "
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_HINT "the kernel's /proc format may be newer than ckpt understands; please report this line"

/* ---- small scanner over one line ------------------------------------- */

struct line {
	const char *s;
	size_t len;
};

struct scan {
	const char *p, *end;
};

static struct scan scan_of(struct line l)
{
	return (struct scan){ l.s, l.s + l.len };
}

static bool scan_eol(const struct scan *sc)
{
	return sc->p >= sc->end;
}

static bool scan_char(struct scan *sc, char c)
{
	if (scan_eol(sc) || *sc->p != c)
		return false;
	sc->p++;
	return true;
}

/* Skip blanks; returns how many were skipped. */
static size_t scan_blanks(struct scan *sc)
{
	const char *start = sc->p;

	while (!scan_eol(sc) && (*sc->p == ' ' || *sc->p == '\t'))
		sc->p++;
	return sc->p - start;
}

/* True if only blanks remain. */
static bool scan_rest_blank(struct scan *sc)
{
	scan_blanks(sc);
	return scan_eol(sc);
}

static int digit_value(char c, unsigned base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < (int)base ? d : -1;
}

/* Unsigned number in base 8/10/16 without prefix; at least one digit, no
 * overflow. */
static bool scan_unsigned(struct scan *sc, unsigned base, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = sc->p;
	int d;

	while (!scan_eol(sc) && (d = digit_value(*sc->p, base)) >= 0) {
		if (x > (UINT64_MAX - d) / base)
			return false;
		x = x * base + d;
		sc->p++;
	}
	if (sc->p == start)
		return false;
	*v = x;
	return true;
}

static bool scan_u64(struct scan *sc, uint64_t *v)
{
	return scan_unsigned(sc, 10, v);
}

static bool scan_hex(struct scan *sc, uint64_t *v)
{
	return scan_unsigned(sc, 16, v);
}

/* Signed decimal that must fit in [min, max]. */
static bool scan_signed(struct scan *sc, int64_t min, int64_t max, int64_t *v)
{
	bool neg = scan_char(sc, '-');
	uint64_t u;

	if (!scan_unsigned(sc, 10, &u))
		return false;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return false;
		*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return false;
		*v = (int64_t)u;
	}
	return *v >= min && *v <= max;
}

static bool scan_int(struct scan *sc, int *v)
{
	int64_t x;

	if (!scan_signed(sc, INT_MIN, INT_MAX, &x))
		return false;
	*v = (int)x;
	return true;
}

static bool scan_uint(struct scan *sc, unsigned base, unsigned *v)
{
	uint64_t x;

	if (!scan_unsigned(sc, base, &x) || x > UINT_MAX)
		return false;
	*v = (unsigned)x;
	return true;
}

/* A run of non-blank characters. */
static bool scan_word(struct scan *sc, struct line *w)
{
	w->s = sc->p;
	while (!scan_eol(sc) && *sc->p != ' ' && *sc->p != '\t')
		sc->p++;
	w->len = sc->p - w->s;
	return w->len > 0;
}

static bool line_is(struct line l, const char *word)
{
	return l.len == strlen(word) && memcmp(l.s, word, l.len) == 0;
}

/* Split text into lines; *pos advances past the '\n'. */
static bool next_line(const char *text, size_t *pos, struct line *l)
{
	const char *s = text + *pos, *nl;

	if (!*s)
		return false;
	nl = strchr(s, '\n');
	l->s = s;
	l->len = nl ? (size_t)(nl - s) : strlen(s);
	*pos += l->len + (nl ? 1 : 0);
	return true;
}

/* ---- errors ---------------------------------------------------------- */

/* Quote a line for a message: clipped, tabs as blanks, other control
 * characters as '?' so a hostile path cannot garble the terminal. */
static void quote(char *out, size_t size, const char *s, size_t len)
{
	size_t i, o = 0, max = 120;

	for (i = 0; i < len && i < max && o + 1 < size; i++) {
		unsigned char c = s[i];
		if (c == '\t')
			c = ' ';
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : c;
	}
	if (i < len && o + 4 < size)
		o += snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

/* Record "parsing SRC[ line N]: unexpected line '...': EXPECTED". */
static int bad_line(const char *src, unsigned lineno, struct line l,
		    const char *expected)
{
	char q[160], why[320];

	quote(q, sizeof(q), l.s, l.len);
	snprintf(why, sizeof(why), "unexpected line '%s': %s", q, expected);
	if (lineno)
		return fail_why(why, FORMAT_HINT, "parsing %s line %u", src, lineno);
	return fail_why(why, FORMAT_HINT, "parsing %s", src);
}

static int no_memory(const char *what)
{
	return fail(ENOMEM, NULL, "allocating memory for %s", what);
}

/* ---- reading files --------------------------------------------------- */

/* For a path "/proc/<digits>/...", true if /proc/<digits> is gone: an
 * ENOENT then means the process exited, not that the file is unknown. */
static bool proc_pid_gone(const char *path)
{
	char dir[64];
	const char *p = path + 6;
	size_t n;
	struct stat st;

	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 20 || p[n] != '/')
		return false;
	snprintf(dir, sizeof(dir), "/proc/%.*s", (int)n, p);
	return stat(dir, &st) < 0 && errno == ENOENT;
}

static int fail_open(int err, const char *what, const char *path)
{
	if (err == ESRCH || (err == ENOENT && proc_pid_gone(path)))
		return fail_why("no such process", "the process has exited; check the pid",
				"%s %s", what, path);
	if (err == EACCES || err == EPERM)
		return fail(err, "run as root or as the owner of the process",
			    "%s %s", what, path);
	return fail(err, NULL, "%s %s", what, path);
}

/* buf grown to twice *cap elements (min when empty), or NULL with buf
 * untouched; guards against size overflow. */
static void *grow(void *buf, size_t *cap, size_t elem, size_t min)
{
	size_t ncap = *cap ? *cap : min;
	void *nbuf;

	while (ncap <= *cap) {
		if (ncap > SIZE_MAX / 2 / elem)
			return NULL;
		ncap *= 2;
	}
	nbuf = realloc(buf, ncap * elem);
	if (nbuf)
		*cap = ncap;
	return nbuf;
}

int procfs_read_file(const char *path, char **text, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t cap = 0, used = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_open(errno, "opening", path);
	/* st_size is 0 for /proc files: read until EOF, keeping room for NUL. */
	for (;;) {
		if (cap - used < 2) {
			nbuf = grow(buf, &cap, 1, 4096);
			if (!nbuf) {
				no_memory(path);
				goto err;
			}
			buf = nbuf;
		}
		r = read(fd, buf + used, cap - used - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail_open(errno, "reading", path);
			goto err;
		}
		if (r == 0)
			break;
		used += r;
	}
	close(fd);
	buf[used] = '\0';
	*text = buf;
	if (len)
		*len = used;
	return 0;
err:
	free(buf);
	close(fd);
	return -1;
}

static int proc_path(char *buf, size_t size, pid_t pid, const char *name)
{
	int n = snprintf(buf, size, "/proc/%d/%s", (int)pid, name);

	if (n < 0 || (size_t)n >= size)
		return fail(ENAMETOOLONG, NULL, "building path /proc/%d/%s", (int)pid, name);
	return 0;
}

int procfs_read(pid_t pid, const char *name, char **text, size_t *len)
{
	char path[PATH_MAX];

	if (proc_path(path, sizeof(path), pid, name) < 0)
		return -1;
	return procfs_read_file(path, text, len);
}

/* ---- maps / smaps ---------------------------------------------------- */

static bool parse_perms(struct scan *sc, struct vma_entry *vma)
{
	const char *p = sc->p;

	if (sc->end - p < 4)
		return false;
	vma->prot = 0;
	if (p[0] == 'r')
		vma->prot |= PROT_READ;
	else if (p[0] != '-')
		return false;
	if (p[1] == 'w')
		vma->prot |= PROT_WRITE;
	else if (p[1] != '-')
		return false;
	if (p[2] == 'x')
		vma->prot |= PROT_EXEC;
	else if (p[2] != '-')
		return false;
	if (p[3] != 's' && p[3] != 'p')
		return false;
	vma->shared = p[3] == 's';
	sc->p += 4;
	return true;
}

/* "start-end perms offset major:minor inode   path".  The kernel pads with
 * blanks up to the path; everything after that is the path, verbatim (it
 * may contain spaces and end in " (deleted)"; newlines come escaped). */
static int parse_maps(struct line l, const char *src, unsigned lineno,
		      struct vma_entry *vma)
{
	struct scan sc = scan_of(l);
	uint64_t major, minor;
	const char *what;
	size_t plen;

	memset(vma, 0, sizeof(*vma));
	what = "expected hex 'start-end' addresses";
	if (!scan_hex(&sc, &vma->start) || !scan_char(&sc, '-') ||
	    !scan_hex(&sc, &vma->end) || !scan_char(&sc, ' '))
		goto bad;
	what = "end address is not above start";
	if (vma->end <= vma->start)
		goto bad;
	what = "expected permissions like 'r-xp'";
	if (!parse_perms(&sc, vma) || !scan_char(&sc, ' '))
		goto bad;
	what = "expected hex offset";
	if (!scan_hex(&sc, &vma->pgoff) || !scan_char(&sc, ' '))
		goto bad;
	what = "expected hex 'major:minor' device";
	if (!scan_hex(&sc, &major) || !scan_char(&sc, ':') ||
	    !scan_hex(&sc, &minor) || !scan_char(&sc, ' ') ||
	    major > UINT_MAX || minor > UINT_MAX)
		goto bad;
	vma->dev_major = major;
	vma->dev_minor = minor;
	what = "expected decimal inode";
	if (!scan_u64(&sc, &vma->inode))
		goto bad;
	if (scan_eol(&sc))
		return 0;	/* anonymous, no trailing blank */
	what = "expected blank after inode";
	if (!scan_blanks(&sc))
		goto bad;
	plen = sc.end - sc.p;
	what = "path too long";
	if (plen >= sizeof(vma->path))
		goto bad;
	memcpy(vma->path, sc.p, plen);
	vma->path[plen] = '\0';
	return 0;
bad:
	return bad_line(src, lineno, l, what);
}

int procfs_parse_maps_line(const char *line, struct vma_entry *vma)
{
	struct line l = { line, strcspn(line, "\n") };

	/* One line only: text after the newline means the caller split wrong. */
	if (line[l.len] == '\n' && line[l.len + 1] != '\0')
		return bad_line("/proc/PID/maps", 0, l, "more than one line given");
	return parse_maps(l, "/proc/PID/maps", 0, vma);
}

static const struct {
	char name[3];
	uint64_t bit;
} vm_flag_names[] = {
	{ "rd", VMF_RD }, { "wr", VMF_WR }, { "ex", VMF_EX }, { "sh", VMF_SH },
	{ "mr", VMF_MR }, { "mw", VMF_MW }, { "me", VMF_ME }, { "ms", VMF_MS },
	{ "gd", VMF_GD }, { "pf", VMF_PF }, { "lo", VMF_LO }, { "io", VMF_IO },
	{ "sr", VMF_SR }, { "rr", VMF_RR }, { "dc", VMF_DC }, { "de", VMF_DE },
	{ "ac", VMF_AC }, { "nr", VMF_NR }, { "ht", VMF_HT }, { "sf", VMF_SF },
	{ "ar", VMF_AR }, { "wf", VMF_WF }, { "dd", VMF_DD }, { "sd", VMF_SD },
	{ "mm", VMF_MM }, { "hg", VMF_HG }, { "nh", VMF_NH }, { "mg", VMF_MG },
	{ "um", VMF_UM }, { "uw", VMF_UW }, { "ss", VMF_SS }, { "sl", VMF_SL },
	{ "lf", VMF_LF }, { "gu", VMF_GU }, { "ui", VMF_UI }, { "dp", VMF_DP },
};

/* Kernels keep adding mnemonics; an unknown one is kept as VMF_OTHER so a
 * caller can be careful, rather than failing the whole dump. */
static uint64_t vm_flag_bit(struct line w)
{
	size_t i;

	for (i = 0; i < sizeof(vm_flag_names) / sizeof(vm_flag_names[0]); i++)
		if (line_is(w, vm_flag_names[i].name))
			return vm_flag_names[i].bit;
	return VMF_OTHER;
}

static uint64_t parse_vmflags(struct scan *sc)
{
	uint64_t flags = 0;
	struct line w;

	while (scan_blanks(sc), scan_word(sc, &w))
		flags |= vm_flag_bit(w);
	return flags;
}

/* Header lines start with hex digits and a '-'; attribute lines are
 * "Key: value" where Key starts with a letter and has no blanks. */
static bool is_maps_header(struct line l)
{
	size_t i = 0;

	while (i < l.len && digit_value(l.s[i], 16) >= 0)
		i++;
	return i > 0 && i < l.len && l.s[i] == '-';
}

static bool split_key(struct line l, struct line *key, struct scan *value)
{
	size_t i;

	if (!l.len || !isalpha((unsigned char)l.s[0]))
		return false;
	for (i = 0; i < l.len && l.s[i] != ':'; i++)
		if (l.s[i] == ' ' || l.s[i] == '\t')
			return false;
	if (i == l.len)
		return false;
	*key = (struct line){ l.s, i };
	*value = (struct scan){ l.s + i + 1, l.s + l.len };
	return true;
}

static int smaps_attr(struct line l, const char *src, unsigned lineno,
		      struct vma_entry *cur)
{
	struct line key;
	struct scan val;

	if (!split_key(l, &key, &val))
		return bad_line(src, lineno, l, "expected a mapping or 'Key: value'");
	if (!cur)
		return bad_line(src, lineno, l, "attribute before any mapping");
	if (line_is(key, "VmFlags"))
		cur->vmflags = parse_vmflags(&val);
	return 0;
}

static int parse_smaps(const char *text, const char *src,
		       struct vma_entry **vmas, size_t *n)
{
	struct vma_entry *arr = NULL, *narr, *cur = NULL;
	size_t cap = 0, cnt = 0, pos = 0;
	unsigned lineno = 0;
	struct line l;

	while (next_line(text, &pos, &l)) {
		lineno++;
		if (!is_maps_header(l)) {
			if (smaps_attr(l, src, lineno, cur) < 0)
				goto err;
			continue;
		}
		if (cnt == cap) {
			narr = grow(arr, &cap, sizeof(*arr), 64);
			if (!narr) {
				no_memory(src);
				goto err;
			}
			arr = narr;
		}
		cur = &arr[cnt];
		if (parse_maps(l, src, lineno, cur) < 0)
			goto err;
		cnt++;
	}
	*vmas = arr;
	*n = cnt;
	return 0;
err:
	free(arr);
	return -1;
}

int procfs_parse_smaps(const char *text, struct vma_entry **vmas, size_t *n)
{
	return parse_smaps(text, "/proc/PID/smaps", vmas, n);
}

static int read_mappings(pid_t pid, const char *file, struct vma_entry **vmas, size_t *n)
{
	char src[64], *text;
	int ret;

	if (procfs_read(pid, file, &text, NULL) < 0)
		return -1;
	snprintf(src, sizeof(src), "/proc/%d/%s", (int)pid, file);
	ret = parse_smaps(text, src, vmas, n);
	free(text);
	return ret;
}

int procfs_read_vmas(pid_t pid, struct vma_entry **vmas, size_t *n)
{
	return read_mappings(pid, "smaps", vmas, n);
}

int procfs_read_maps(pid_t pid, struct vma_entry **vmas, size_t *n)
{
	return read_mappings(pid, "maps", vmas, n);
}

/* ---- stat ------------------------------------------------------------ */

#define STAT_FIELDS 52

/* Field numbers per proc(5), from 1. */
enum {
	F_STATE = 3, F_PPID, F_PGRP, F_SESSION, F_TTY_NR, F_FLAGS = 9,
	F_NUM_THREADS = 20, F_STARTTIME = 22, F_STARTCODE = 26, F_ENDCODE,
	F_STARTSTACK, F_EXIT_SIGNAL = 38, F_START_DATA = 45, F_END_DATA, F_START_BRK, F_ARG_START,
	F_ARG_END, F_ENV_START, F_ENV_END, F_EXIT_CODE,
};

/* Fields 1 and 2 (pid, comm).  comm is raw: it may contain spaces, ')',
 * even newlines, so it ends at the LAST ')' of the text. */
static const char *stat_head(const char *text, struct proc_stat *st)
{
	struct scan sc = { text, text + strlen(text) };
	const char *close = strrchr(text, ')');
	size_t clen;

	if (!scan_int(&sc, &st->pid) || !scan_char(&sc, ' ') ||
	    !scan_char(&sc, '(') || !close || close < sc.p)
		return NULL;
	clen = close - sc.p;
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;	/* informative only */
	memcpy(st->comm, sc.p, clen);
	st->comm[clen] = '\0';
	return close + 1;
}

enum stat_kind { K_INT, K_LONG, K_ULONG, K_ULL };

static const struct {
	unsigned char field;
	unsigned char kind;
	const char *name;
	size_t off;
} stat_table[] = {
#define STAT_FIELD(n, k, member) { n, k, #member, offsetof(struct proc_stat, member) }
	STAT_FIELD(F_PPID, K_INT, ppid),
	STAT_FIELD(F_PGRP, K_INT, pgrp),
	STAT_FIELD(F_SESSION, K_INT, session),
	STAT_FIELD(F_TTY_NR, K_INT, tty_nr),
	STAT_FIELD(F_FLAGS, K_ULONG, flags),
	STAT_FIELD(F_NUM_THREADS, K_LONG, num_threads),
	STAT_FIELD(F_STARTTIME, K_ULL, starttime),
	STAT_FIELD(F_STARTCODE, K_ULONG, start_code),
	STAT_FIELD(F_ENDCODE, K_ULONG, end_code),
	STAT_FIELD(F_STARTSTACK, K_ULONG, startstack),
	STAT_FIELD(F_EXIT_SIGNAL, K_INT, exit_signal),
	STAT_FIELD(F_START_DATA, K_ULONG, start_data),
	STAT_FIELD(F_END_DATA, K_ULONG, end_data),
	STAT_FIELD(F_START_BRK, K_ULONG, start_brk),
	STAT_FIELD(F_ARG_START, K_ULONG, arg_start),
	STAT_FIELD(F_ARG_END, K_ULONG, arg_end),
	STAT_FIELD(F_ENV_START, K_ULONG, env_start),
	STAT_FIELD(F_ENV_END, K_ULONG, env_end),
	STAT_FIELD(F_EXIT_CODE, K_INT, exit_code),
#undef STAT_FIELD
};

/* One whole field as a number of the member's type. */
static bool stat_number(struct line f, unsigned kind, void *dst)
{
	struct scan sc = scan_of(f);
	int64_t s;
	uint64_t u;

	if (kind == K_INT || kind == K_LONG) {
		if (!scan_signed(&sc, kind == K_INT ? INT_MIN : LONG_MIN,
				 kind == K_INT ? INT_MAX : LONG_MAX, &s) || !scan_eol(&sc))
			return false;
		if (kind == K_INT)
			*(int *)dst = (int)s;
		else
			*(long *)dst = (long)s;
		return true;
	}
	if (!scan_u64(&sc, &u) || !scan_eol(&sc) || (kind == K_ULONG && u > ULONG_MAX))
		return false;
	if (kind == K_ULONG)
		*(unsigned long *)dst = (unsigned long)u;
	else
		*(unsigned long long *)dst = u;
	return true;
}

/* Returns NULL or the name of the first malformed field. */
static const char *stat_fields(const struct line *f, struct proc_stat *st)
{
	size_t i;

	if (f[F_STATE].len != 1)
		return "state";
	st->state = f[F_STATE].s[0];
	for (i = 0; i < sizeof(stat_table) / sizeof(stat_table[0]); i++)
		if (!stat_number(f[stat_table[i].field], stat_table[i].kind,
				 (char *)st + stat_table[i].off))
			return stat_table[i].name;
	return NULL;
}

static int parse_stat(const char *text, const char *src, void *out)
{
	struct proc_stat *st = out;
	/* Quote the whole text in errors: comm may hold a newline. */
	struct line f[STAT_FIELDS + 1], all = { text, strlen(text) };
	const char *rest, *bad;
	char why[64];
	struct scan sc;
	int i;

	if (all.len && text[all.len - 1] == '\n')
		all.len--;
	memset(st, 0, sizeof(*st));
	rest = stat_head(text, st);
	if (!rest)
		return bad_line(src, 0, all, "expected 'pid (comm) state ...'");
	/* Fields after comm: one line, blank separated; newer kernels may add
	 * more at the end, which we ignore. */
	sc = (struct scan){ rest, rest + strcspn(rest, "\n") };
	for (i = F_STATE; i <= STAT_FIELDS; i++) {
		if (!scan_blanks(&sc) || !scan_word(&sc, &f[i]))
			return bad_line(src, 0, all, "too few fields");
	}
	bad = stat_fields(f, st);
	if (bad) {
		snprintf(why, sizeof(why), "malformed field '%s'", bad);
		return bad_line(src, 0, all, why);
	}
	return 0;
}

int procfs_parse_stat(const char *text, struct proc_stat *st)
{
	return parse_stat(text, "/proc/PID/stat", st);
}

/* Read /proc/PID/NAME and run a parser on it with a precise source name. */
static int read_and_parse(pid_t pid, const char *name,
			  int (*parse)(const char *, const char *, void *), void *out)
{
	char src[PATH_MAX], *text;
	int ret;

	if (proc_path(src, sizeof(src), pid, name) < 0)
		return -1;
	if (procfs_read_file(src, &text, NULL) < 0)
		return -1;
	ret = parse(text, src, out);
	free(text);
	return ret;
}

int procfs_read_stat(pid_t pid, struct proc_stat *st)
{
	return read_and_parse(pid, "stat", parse_stat, st);
}

/* ---- status ---------------------------------------------------------- */

enum status_kind { S_NAME, S_STATE, S_INT, S_OCTAL, S_IDS, S_GROUPS, S_HEX, S_NSPID };

static const struct {
	const char *key;
	enum status_kind kind;
	size_t off;
} status_keys[] = {
	{ "Name", S_NAME, offsetof(struct proc_status, name) },
	{ "State", S_STATE, offsetof(struct proc_status, state) },
	{ "Tgid", S_INT, offsetof(struct proc_status, tgid) },
	{ "Pid", S_INT, offsetof(struct proc_status, pid) },
	{ "PPid", S_INT, offsetof(struct proc_status, ppid) },
	{ "TracerPid", S_INT, offsetof(struct proc_status, tracer_pid) },
	{ "Umask", S_OCTAL, offsetof(struct proc_status, umask) },
	{ "Uid", S_IDS, offsetof(struct proc_status, uid) },
	{ "Gid", S_IDS, offsetof(struct proc_status, gid) },
	{ "Groups", S_GROUPS, 0 },
	{ "Threads", S_INT, offsetof(struct proc_status, threads) },
	{ "SigPnd", S_HEX, offsetof(struct proc_status, sig_pnd) },
	{ "ShdPnd", S_HEX, offsetof(struct proc_status, shd_pnd) },
	{ "SigBlk", S_HEX, offsetof(struct proc_status, sig_blk) },
	{ "SigIgn", S_HEX, offsetof(struct proc_status, sig_ign) },
	{ "SigCgt", S_HEX, offsetof(struct proc_status, sig_cgt) },
	{ "CapInh", S_HEX, offsetof(struct proc_status, cap_inh) },
	{ "CapPrm", S_HEX, offsetof(struct proc_status, cap_prm) },
	{ "CapEff", S_HEX, offsetof(struct proc_status, cap_eff) },
	{ "CapBnd", S_HEX, offsetof(struct proc_status, cap_bnd) },
	{ "CapAmb", S_HEX, offsetof(struct proc_status, cap_amb) },
	{ "NoNewPrivs", S_INT, offsetof(struct proc_status, no_new_privs) },
	{ "Seccomp", S_INT, offsetof(struct proc_status, seccomp) },
	{ "NSpid", S_NSPID, 0 },
};

/* Name: is escaped by the kernel ("\n" and "\\", octal in older kernels);
 * undo that so it compares equal to the comm in stat. */
static void unescape_name(struct scan *sc, char *out, size_t size)
{
	size_t o = 0;
	uint64_t oct;

	while (!scan_eol(sc) && o + 1 < size) {
		char c = *sc->p++;
		if (c == '\\' && !scan_eol(sc)) {
			struct scan os = { sc->p, sc->p + 3 <= sc->end ? sc->p + 3 : sc->end };
			if (os.end - os.p == 3 && scan_unsigned(&os, 8, &oct) &&
			    os.p == os.end && oct <= 0xff) {
				c = (char)oct;
				sc->p += 3;
			} else {
				c = *sc->p++;
				if (c == 'n')
					c = '\n';
			}
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

/* A blank separated list of unsigned numbers (Groups:, Uid:). */
static bool scan_uint_list(struct scan *sc, unsigned *v, unsigned max,
			   unsigned *count)
{
	unsigned n = 0;

	while (scan_blanks(sc), !scan_eol(sc)) {
		if (n == max || !scan_uint(sc, 10, &v[n]))
			return false;
		n++;
	}
	*count = n;
	return true;
}

static bool status_value(struct proc_status *st, unsigned k, struct scan *val)
{
	void *field = (char *)st + status_keys[k].off;
	unsigned n;
	uint64_t x;

	if (status_keys[k].kind == S_NAME) {
		scan_char(val, '\t');	/* the name itself may start with blanks */
		unescape_name(val, st->name, sizeof(st->name));
		return true;
	}
	scan_blanks(val);
	switch (status_keys[k].kind) {
	case S_STATE:
		if (scan_eol(val))
			return false;
		st->state = *val->p;
		return true;
	case S_INT:
		return scan_int(val, field) && scan_rest_blank(val);
	case S_OCTAL:
		return scan_uint(val, 8, field) && scan_rest_blank(val);
	case S_HEX:
		if (!scan_hex(val, &x) || !scan_rest_blank(val))
			return false;
		memcpy(field, &x, sizeof(x));
		return true;
	case S_IDS:
		return scan_uint_list(val, field, 4, &n) && n == 4;
	case S_GROUPS:
		return scan_uint_list(val, st->groups, 256, &st->ngroups);
	case S_NSPID:
		st->nspid_count = 0;
		while (scan_blanks(val), !scan_eol(val)) {
			if (st->nspid_count == 8 ||
			    !scan_int(val, &st->nspid[st->nspid_count]))
				return false;
			st->nspid_count++;
		}
		return st->nspid_count > 0;
	case S_NAME:
		break;
	}
	return false;
}

static int parse_status(const char *text, const char *src, void *out)
{
	struct proc_status *st = out;
	size_t pos = 0, k;
	unsigned lineno = 0;
	struct line l, key;
	struct scan val;

	memset(st, 0, sizeof(*st));
	while (next_line(text, &pos, &l)) {
		lineno++;
		if (!split_key(l, &key, &val))
			return bad_line(src, lineno, l, "expected 'Key: value'");
		for (k = 0; k < sizeof(status_keys) / sizeof(status_keys[0]); k++)
			if (line_is(key, status_keys[k].key))
				break;
		if (k == sizeof(status_keys) / sizeof(status_keys[0]))
			continue;	/* a key we do not need */
		if (!status_value(st, k, &val))
			return bad_line(src, lineno, l, "malformed value");
	}
	return 0;
}

int procfs_parse_status(const char *text, struct proc_status *st)
{
	return parse_status(text, "/proc/PID/status", st);
}

int procfs_read_status(pid_t pid, struct proc_status *st)
{
	return read_and_parse(pid, "status", parse_status, st);
}

int procfs_read_task_status(pid_t pid, pid_t tid, struct proc_status *st)
{
	char name[48];

	snprintf(name, sizeof(name), "task/%d/status", tid);
	return read_and_parse(pid, name, parse_status, st);
}

/* ---- limits ---------------------------------------------------------- */

static const char *const limit_names[RLIM_NLIMITS] = {
	[RLIMIT_CPU] = "Max cpu time",
	[RLIMIT_FSIZE] = "Max file size",
	[RLIMIT_DATA] = "Max data size",
	[RLIMIT_STACK] = "Max stack size",
	[RLIMIT_CORE] = "Max core file size",
	[RLIMIT_RSS] = "Max resident set",
	[RLIMIT_NPROC] = "Max processes",
	[RLIMIT_NOFILE] = "Max open files",
	[RLIMIT_MEMLOCK] = "Max locked memory",
	[RLIMIT_AS] = "Max address space",
	[RLIMIT_LOCKS] = "Max file locks",
	[RLIMIT_SIGPENDING] = "Max pending signals",
	[RLIMIT_MSGQUEUE] = "Max msgqueue size",
	[RLIMIT_NICE] = "Max nice priority",
	[RLIMIT_RTPRIO] = "Max realtime priority",
	[RLIMIT_RTTIME] = "Max realtime timeout",
};

/* Row names contain blanks, so match the known names as prefixes followed
 * by a blank; returns the resource or -1. */
static int limit_row(struct scan *sc)
{
	size_t avail = sc->end - sc->p;
	int r;

	for (r = 0; r < RLIM_NLIMITS; r++) {
		size_t len = strlen(limit_names[r]);
		if (avail > len && memcmp(sc->p, limit_names[r], len) == 0 &&
		    (sc->p[len] == ' ' || sc->p[len] == '\t')) {
			sc->p += len;
			return r;
		}
	}
	return -1;
}

static bool scan_limit(struct scan *sc, rlim_t *v)
{
	struct line w;
	struct scan ws;
	uint64_t x;

	scan_blanks(sc);
	if (!scan_word(sc, &w))
		return false;
	if (line_is(w, "unlimited")) {
		*v = RLIM_INFINITY;
		return true;
	}
	ws = scan_of(w);
	if (!scan_u64(&ws, &x) || !scan_eol(&ws))
		return false;
	*v = x;
	return true;
}

static int parse_limits(const char *text, const char *src, void *out)
{
	struct rlimit *lim = out;
	bool seen[RLIM_NLIMITS] = { false };
	unsigned lineno = 0;
	size_t pos = 0;
	struct line l, unit;
	struct scan sc;
	int r;

	while (next_line(text, &pos, &l)) {
		lineno++;
		sc = scan_of(l);
		if (lineno == 1 && l.len >= 6 && memcmp(l.s, "Limit ", 6) == 0)
			continue;	/* column header */
		if ((r = limit_row(&sc)) < 0)
			return bad_line(src, lineno, l, "unknown limit");
		if (seen[r])
			return bad_line(src, lineno, l, "limit listed twice");
		/* Soft, hard, then an optional unit (empty for nice/rtprio). */
		if (!scan_limit(&sc, &lim[r].rlim_cur) ||
		    !scan_limit(&sc, &lim[r].rlim_max) ||
		    (scan_blanks(&sc), scan_word(&sc, &unit), !scan_rest_blank(&sc)))
			return bad_line(src, lineno, l,
					"expected 'NAME SOFT HARD [UNITS]'");
		seen[r] = true;
	}
	for (r = 0; r < RLIM_NLIMITS; r++)
		if (!seen[r])
			return fail_why("row missing", FORMAT_HINT, "parsing %s: limit '%s'",
					src, limit_names[r]);
	return 0;
}

int procfs_parse_limits(const char *text, struct rlimit lim[RLIM_NLIMITS])
{
	return parse_limits(text, "/proc/PID/limits", lim);
}

int procfs_read_limits(pid_t pid, struct rlimit lim[RLIM_NLIMITS])
{
	return read_and_parse(pid, "limits", parse_limits, lim);
}

/* ---- fdinfo ---------------------------------------------------------- */

static int parse_fdinfo(const char *text, const char *src, void *out)
{
	struct proc_fdinfo *fi = out;
	bool have_pos = false, have_flags = false, ok;
	unsigned lineno = 0;
	size_t pos = 0;
	struct line l, key;
	struct scan val;

	memset(fi, 0, sizeof(*fi));
	while (next_line(text, &pos, &l)) {
		lineno++;
		/* Kind-specific lines (epoll "tfd: ...", inotify ...) vary a lot
		 * between kernels: skip anything we do not ask for. */
		if (!split_key(l, &key, &val))
			continue;
		scan_blanks(&val);
		if (line_is(key, "pos"))
			ok = have_pos = scan_u64(&val, &fi->pos);
		else if (line_is(key, "flags"))
			ok = have_flags = scan_uint(&val, 8, &fi->flags);
		else if (line_is(key, "mnt_id"))
			ok = scan_int(&val, &fi->mnt_id);
		else if (line_is(key, "ino"))
			ok = scan_u64(&val, &fi->ino);
		else
			continue;
		if (!ok || !scan_rest_blank(&val))
			return bad_line(src, lineno, l, "malformed value");
	}
	if (!have_pos || !have_flags)
		return fail_why("'pos:' or 'flags:' line missing", FORMAT_HINT,
				"parsing %s", src);
	return 0;
}

int procfs_parse_fdinfo(const char *text, struct proc_fdinfo *fi)
{
	return parse_fdinfo(text, "/proc/PID/fdinfo/FD", fi);
}

int procfs_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi)
{
	char name[32];

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	return read_and_parse(pid, name, parse_fdinfo, fi);
}

/* ---- directories ----------------------------------------------------- */

_Static_assert(__builtin_types_compatible_p(pid_t, int), "pid_t must be int");

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Decimal directory entry names that fit in an int; "." and ".." and
 * anything else are skipped. */
static bool entry_number(const char *name, int *v)
{
	struct scan sc = { name, name + strlen(name) };
	uint64_t x;

	if (!scan_u64(&sc, &x) || !scan_eol(&sc) || x > INT_MAX)
		return false;
	*v = (int)x;
	return true;
}

static int list_numeric(pid_t pid, const char *name, int **out, size_t *n)
{
	char path[PATH_MAX];
	int *arr = NULL, *narr, v;
	size_t cap = 0, cnt = 0;
	struct dirent *de;
	DIR *dir;

	if (proc_path(path, sizeof(path), pid, name) < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return fail_open(errno, "listing", path);
	for (errno = 0; (de = readdir(dir)); errno = 0) {
		if (!entry_number(de->d_name, &v))
			continue;
		if (cnt == cap) {
			narr = grow(arr, &cap, sizeof(*arr), 64);
			if (!narr) {
				no_memory(path);
				goto err;
			}
			arr = narr;
		}
		arr[cnt++] = v;
	}
	if (errno) {
		fail_open(errno, "listing", path);
		goto err;
	}
	closedir(dir);
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), cmp_int);
	*out = arr;
	*n = cnt;
	return 0;
err:
	free(arr);
	closedir(dir);
	return -1;
}

int procfs_list_fds(pid_t pid, int **fds, size_t *n)
{
	return list_numeric(pid, "fd", fds, n);
}

int procfs_list_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	return list_numeric(pid, "task", tids, n);
}

/* ---- links ----------------------------------------------------------- */

int procfs_readlink(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t r;

	if (proc_path(path, sizeof(path), pid, name) < 0)
		return -1;
	if (size == 0)
		return fail(EINVAL, NULL, "reading link %s into an empty buffer", path);
	r = readlink(path, buf, size);
	if (r < 0)
		return fail_open(errno, "reading link", path);
	/* readlink does not terminate, and a full buffer may be a cut target. */
	if ((size_t)r >= size)
		return fail(ENAMETOOLONG, NULL, "reading link %s", path);
	buf[r] = '\0';
	return 0;
}
