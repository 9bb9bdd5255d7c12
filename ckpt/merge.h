#ifndef CKPT_MERGE_H
#define CKPT_MERGE_H

#include "error.h"

/* `ckpt merge IMAGE -o OUT`: fold an incremental image and its chain of
 * parents into one full image with IMAGE's metadata and image_id.
 * argv[0] is "merge".  Returns the exit status. */
int merge_main(int argc, char **argv);
/* The same from C: IMAGE folded into out ("-": stdout; may be image). */
int merge_image(const char *image, const char *out, int level) must_check;

#endif
