#ifndef CKPT_CHECK_H
#define CKPT_CHECK_H

/* `ckpt check`: which kernel and machine features checkpoint/restart can
 * use here.  `ckpt check IMAGE [--new-pid]`: could IMAGE be restarted here
 * (every check restart makes before starting anything)?  argv[0] is
 * "check".  Returns the exit status. */
int check_main(int argc, char **argv);

#endif
