/* Resource limits: read from /proc/PID/limits (no privilege needed), set in
 * the restart child before exec, which keeps them.  A hard limit above
 * ours cannot be raised without CAP_SYS_RESOURCE: it is clamped, loudly. */
#define LOG_PREFIX "rlimits: "
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

static int rlimits_dump(struct dump_ctx *ctx)
{
	struct rlimit lim[RLIM_NLIMITS];
	unsigned i;

	if (procfs_read_limits(ctx->live, lim))
		return -1;
	for (i = 0; i < RLIM_NLIMITS; i++) {
		struct rlimit_rec *r = meta_push(&ctx->meta.rlimits, &ctx->meta.nrlimits, sizeof(*r));
		if (!r)
			return -1;
		r->resource = i;
		r->cur = lim[i].rlim_cur;
		r->max = lim[i].rlim_max;
	}
	return 0;
}

static int rlimits_check(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nrlimits; i++) {
		const struct rlimit_rec *r = &ctx->meta.rlimits[i];
		if (r->resource >= RLIM_NLIMITS || r->cur > r->max)
			return fail_why("invalid resource limit", "the image is corrupted",
					"checking the image");
	}
	return 0;
}

static int rlimits_restore_child(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->meta.nrlimits; i++) {
		const struct rlimit_rec *r = &ctx->meta.rlimits[i];
		struct rlimit want = { r->cur, r->max }, have;

		if (getrlimit(r->resource, &have))
			return fail(errno, NULL, "reading resource limit %u", r->resource);
		if (want.rlim_max > have.rlim_max && setrlimit(r->resource, &want)) {
			pr_warn("resource limit %u: hard limit %llu is above this host's %llu and "
				"cannot be raised without CAP_SYS_RESOURCE; keeping %llu",
				r->resource, (unsigned long long)want.rlim_max,
				(unsigned long long)have.rlim_max, (unsigned long long)have.rlim_max);
			want.rlim_max = have.rlim_max;
			if (want.rlim_cur > want.rlim_max)
				want.rlim_cur = want.rlim_max;
		}
		if (setrlimit(r->resource, &want))
			return fail(errno, NULL, "setting resource limit %u", r->resource);
	}
	return 0;
}

const struct state_ops rlimits_state_ops = {
	.name = "rlimits",
	.dump = rlimits_dump,
	.check = rlimits_check,
	.restore_child = rlimits_restore_child,
};
