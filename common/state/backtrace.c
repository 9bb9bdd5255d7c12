/* Backtraces: where each thread was when it was checkpointed, for humans
 * (ckpt -v, ckpt info).  Dump half only: restart ignores meta/backtraces.
 *
 * Each thread is unwound with libunwind-ptrace (it is stopped under our
 * ptrace already) and each frame's ip is named from the ELF symbol tables
 * of the file mapped there (.symtab, else .dynsym; the vDSO from its saved
 * bytes), falling back to libunwind's own lookup.  Runs right after the
 * memory module, before anything injects a syscall.  Nothing here can fail
 * the dump: whatever could be unwound is recorded, at least frame 0. */
#define LOG_PREFIX "backtrace: "
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAMES 64

struct sym {
	uint64_t start, size;
	const char *name;	/* points into the ELF's string table */
	int rank;		/* among aliases, lower is better */
};

struct seg {
	uint64_t offset, filesz, vaddr;
};

/* One ELF file (or the vDSO) with its function symbols, by path. */
struct symfile {
	char *path;
	int fd;
	Elf *elf;
	void *image;		/* the vDSO's bytes for elf_memory */
	struct sym *syms;
	size_t nsyms;
	struct seg *segs;
	size_t nsegs;
	struct symfile *next;
};

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->rank - y->rank;
}

/* Prefer the public name of a function among its aliases: global over
 * weak over local, then fewer leading underscores (nanosleep over
 * __nanosleep over __GI___nanosleep). */
static int sym_rank(const GElf_Sym *s, const char *name)
{
	int bind = GELF_ST_BIND(s->st_info), under = 0;

	while (name[under] == '_')
		under++;
	return under * 4 + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2);
}

static void read_symbols(struct symfile *f)
{
	Elf_Scn *scn = NULL;
	Elf64_Word want = SHT_DYNSYM;
	size_t nphdr, i;

	if (elf_kind(f->elf) != ELF_K_ELF || elf_getphdrnum(f->elf, &nphdr))
		return;
	f->segs = calloc(nphdr ? nphdr : 1, sizeof(*f->segs));
	if (!f->segs)
		return;
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(f->elf, i, &ph) && ph.p_type == PT_LOAD)
			f->segs[f->nsegs++] = (struct seg){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
	/* .symtab has every function; .dynsym only the exported ones. */
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			want = SHT_SYMTAB;
	}
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		struct sym *grown;
		size_t n, k;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		grown = realloc(f->syms, (f->nsyms + n) * sizeof(*grown));
		if (!grown)
			return;
		f->syms = grown;
		for (k = 0; k < n; k++) {
			GElf_Sym sy;
			const char *name;
			int type;

			if (!gelf_getsym(data, k, &sy))
				continue;
			type = GELF_ST_TYPE(sy.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sy.st_value ||
			    sy.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(f->elf, sh.sh_link, sy.st_name);
			if (!name || !*name)
				continue;
			f->syms[f->nsyms++] = (struct sym){ sy.st_value, sy.st_size, name,
							    sym_rank(&sy, name) };
		}
	}
	qsort(f->syms, f->nsyms, sizeof(*f->syms), cmp_sym);
}

static struct symfile *symfile_get(struct symfile **cache, const struct image_meta *m,
				   const struct vma_rec *v)
{
	struct symfile *f;

	for (f = *cache; f; f = f->next)
		if (!strcmp(f->path, v->path))
			return f;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(v->path))) {
		free(f);
		return NULL;
	}
	f->fd = -1;
	f->next = *cache;
	*cache = f;
	if (v->kind == VMA_VDSO) {
		if (m->vdso.len && (f->image = malloc(m->vdso.len))) {
			memcpy(f->image, m->vdso.data, m->vdso.len);
			f->elf = elf_memory(f->image, m->vdso.len);
		}
	} else if (v->kind == VMA_FILE_PRIVATE || v->kind == VMA_FILE_SHARED) {
		f->fd = open(v->path, O_RDONLY | O_CLOEXEC);
		if (f->fd >= 0)
			f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	}
	if (f->elf)
		read_symbols(f);
	return f;
}

static void symfile_free_all(struct symfile *f)
{
	while (f) {
		struct symfile *next = f->next;
		if (f->elf)
			elf_end(f->elf);
		if (f->fd >= 0)
			close(f->fd);
		free(f->image);
		free(f->syms);
		free(f->segs);
		free(f->path);
		free(f);
		f = next;
	}
}

/* The function containing addr (an address in the process), from the
 * symbols of the file mapped there.  *start gets its address in the
 * process. */
static const char *lookup(struct symfile **cache, const struct image_meta *m, uint64_t addr,
			  uint64_t *start, bool *had_symbols)
{
	const struct vma_rec *v = meta_find_vma(m, addr);
	const struct sym *best = NULL;
	struct symfile *f;
	uint64_t off, vaddr = 0;
	size_t i, lo, hi;

	*had_symbols = false;
	if (!v || !(f = symfile_get(cache, m, v)) || !f->nsyms)
		return NULL;
	*had_symbols = true;
	off = addr - v->start + v->pgoff;
	for (i = 0; i < f->nsegs; i++)
		if (off >= f->segs[i].offset && off < f->segs[i].offset + f->segs[i].filesz)
			break;
	if (i == f->nsegs)
		return NULL;
	vaddr = off - f->segs[i].offset + f->segs[i].vaddr;
	/* First symbol starting after vaddr, then back over the candidates. */
	for (lo = 0, hi = f->nsyms; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i-- > 0 && lo - i <= 256;) {
		const struct sym *s = &f->syms[i];
		if (vaddr >= s->start + s->size)
			continue;
		if (!best || s->start > best->start ||
		    (s->start == best->start && s->rank < best->rank))
			best = s;
	}
	if (!best)
		return NULL;
	*start = addr - (vaddr - best->start);
	return best->name;
}

static int add_frame(struct dump_ctx *ctx, struct symfile **cache, unw_cursor_t *cursor,
		     pid_t tid, unsigned frame, uint64_t ip, uint64_t sp)
{
	struct backtrace_rec *b = meta_push(&ctx->meta.backtraces, &ctx->meta.nbacktraces,
					    sizeof(*b));
	const struct vma_rec *v = meta_find_vma(&ctx->meta, ip);
	/* A caller's ip is a return address: the call is just before it. */
	uint64_t at = frame && ip ? ip - 1 : ip, start = 0;
	bool had_symbols;
	const char *name = lookup(cache, &ctx->meta, at, &start, &had_symbols);
	char buf[256];

	if (!b)
		return -1;
	b->tid = tid;
	b->frame = frame;
	b->ip = ip;
	b->sp = sp;
	if (name) {
		b->function = strdup(name);
		b->offset = ip - start;
	} else {
		unw_word_t off = 0;
		/* libunwind reads the same symbol tables, but takes the nearest
		 * symbol below ip whatever its size: a static function of a
		 * stripped library would get a wrong name.  Ask it only about
		 * code we found no symbols for. */
		if (cursor && !had_symbols &&
		    unw_get_proc_name(cursor, buf, sizeof(buf), &off) == 0 && buf[0]) {
			b->function = strdup(buf);
			b->offset = off;
		} else {
			b->function = strdup("??");
		}
	}
	if (v && v->path && v->path[0])
		b->file = strdup(v->path);
	if (!b->function || (v && v->path && v->path[0] && !b->file))
		return fail(ENOMEM, NULL, "recording backtraces");
	return 0;
}

static int unwind_thread(struct dump_ctx *ctx, unw_addr_space_t as, struct symfile **cache,
			 struct remote *r)
{
	const arch_regs_t *regs = remote_orig_regs(r);
	pid_t tid = remote_pid(r);
	unw_cursor_t cursor;
	unsigned frame = 0;
	void *upt = NULL;
	int ret = 0, step;

	/* Nothing injected yet, but be sure the unwinder sees the registers
	 * the thread was stopped with. */
	if (remote_set_regs(r, regs)) {
		pr_debug("thread %d: %s", tid, error_text());
		error_clear();
		return add_frame(ctx, cache, NULL, tid, 0, arch_ip(regs), arch_sp(regs));
	}
	if (!as || !(upt = _UPT_create(tid)) || unw_init_remote(&cursor, as, upt) < 0) {
		pr_debug("thread %d: cannot start unwinding", tid);
		ret = add_frame(ctx, cache, NULL, tid, 0, arch_ip(regs), arch_sp(regs));
		goto out;
	}
	do {
		unw_word_t ip = 0, sp = 0;

		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0 || (!ip && frame))
			break;
		if (add_frame(ctx, cache, &cursor, tid, frame, ip, sp)) {
			ret = -1;
			break;
		}
		frame++;
		step = unw_step(&cursor);
	} while (step > 0 && frame < MAX_FRAMES);
	if (!frame && !ret)	/* not even frame 0: the registers have it */
		ret = add_frame(ctx, cache, NULL, tid, 0, arch_ip(regs), arch_sp(regs));
out:
	if (upt)
		_UPT_destroy(upt);
	return ret;
}

static int backtrace_dump(struct dump_ctx *ctx)
{
	struct symfile *cache = NULL;
	unw_addr_space_t as;
	size_t i;
	int ret = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		pr_debug("libelf is unusable: no symbols");
	as = unw_create_addr_space(&_UPT_accessors, 0);
	if (as)
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	for (i = 0; i < ctx->ntasks && !ret; i++)
		ret = unwind_thread(ctx, as, &cache, ctx->tasks[i]);
	if (as)
		unw_destroy_addr_space(as);
	symfile_free_all(cache);
	return ret;
}

void backtrace_format(const struct backtrace_rec *b, char *buf, size_t size)
{
	char where[64] = "";

	if (b->function && strcmp(b->function, "??") && b->offset)
		snprintf(where, sizeof(where), "+%#" PRIx64, b->offset);
	snprintf(buf, size, "#%u 0x%" PRIx64 " %s%s%s%s%s", b->frame, b->ip,
		 b->function ? b->function : "??", where, b->file ? " (" : "",
		 b->file ? b->file : "", b->file ? ")" : "");
}

const struct state_ops backtrace_state_ops = {
	.name = "backtrace",
	.dump = backtrace_dump,
};
