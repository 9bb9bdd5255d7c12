#ifndef CKPT_VERSION_H
#define CKPT_VERSION_H
#define CKPT_VERSION "0.1.0"
#endif
