#ifndef CKPT_CACHE_CMD_H
#define CKPT_CACHE_CMD_H

/* ckpt cache [list|prune|dir] ... */
int cache_main(int argc, char **argv);

#endif
