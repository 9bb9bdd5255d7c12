#ifndef CKPT_SNAPSHOT_H
#define CKPT_SNAPSHOT_H

/* `ckpt snapshot ...`: argv[0] is "snapshot". */
int snapshot_main(int argc, char **argv);

#endif
