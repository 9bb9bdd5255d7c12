/* Every record of the image format, described once.  docs/image-format.md
 * explains each member; the field ids below are part of the format. */
#ifndef CKPT_RECORDS_H
#define CKPT_RECORDS_H

#include "record.h"

#define IMAGE_FORMAT_VERSION 1

/* Member "ckpt-image": always first. */
#define IMAGE_HEADER_FIELDS(F, T)		\
	F(T, 1, U32, format_version)		\
	F(T, 2, STR, tool_version)		\
	F(T, 3, U64, created_ns)		\
	F(T, 4, STR, hostname)			\
	F(T, 5, STR, kernel)			\
	F(T, 6, STR, arch)			\
	F(T, 7, I32, pid)			\
	F(T, 8, STR, comm)			\
	F(T, 90, BLOB, image_id)		/* 16 random bytes naming this image */ \
	F(T, 91, BLOB, parent_id)		/* incremental: the parent's image_id */ \
	F(T, 400, U32, own_pidns)		/* 1: PIDs as seen in the tree's own PID \
						   namespace, below ckpt's (restart --new-pid) */ \
	F(T, 470, U32, owner_uid)		/* 1 + real uid of the ckpt that wrote it, 0 unknown */ \
	F(T, 471, U32, owner_gid)		/* 1 + its real gid, 0 unknown */ \
	F(T, 430, BLOB, track_epoch)		/* dirty tracking: epoch begun at this freeze */ \
	F(T, 431, U32, track_pages)		/* 1: pages picked by written bits since the parent */
RECORD_DECLARE(image_header, IMAGE_HEADER_FIELDS)

/* Member "meta/process": the process-wide state. */
#define PROCESS_FIELDS(F, T)			\
	F(T, 1, I32, pid)			\
	F(T, 2, I32, ppid)			\
	F(T, 3, I32, pgid)			\
	F(T, 4, I32, sid)			\
	F(T, 5, STR, comm)			\
	F(T, 6, STR, exe)			\
	F(T, 7, STR, cwd)			\
	F(T, 8, STR, root)			\
	F(T, 9, U32, umask)			\
	F(T, 10, U64, personality)		\
	F(T, 11, U32, dumpable)			\
	F(T, 12, U32, ruid) F(T, 13, U32, euid) F(T, 14, U32, suid) F(T, 15, U32, fsuid) \
	F(T, 16, U32, rgid) F(T, 17, U32, egid) F(T, 18, U32, sgid) F(T, 19, U32, fsgid) \
	F(T, 20, BLOB, groups)			/* u32 array */		\
	F(T, 21, U64, cap_inh) F(T, 22, U64, cap_prm) F(T, 23, U64, cap_eff)	\
	F(T, 24, U64, cap_bnd) F(T, 25, U64, cap_amb)				\
	F(T, 30, U64, start_code) F(T, 31, U64, end_code)			\
	F(T, 32, U64, start_data) F(T, 33, U64, end_data)			\
	F(T, 34, U64, start_brk) F(T, 35, U64, brk)				\
	F(T, 36, U64, start_stack)						\
	F(T, 37, U64, arg_start) F(T, 38, U64, arg_end)				\
	F(T, 39, U64, env_start) F(T, 40, U64, env_end)				\
	F(T, 41, BLOB, auxv)			/* u64 pairs, up to AT_NULL */	\
	F(T, 42, STR, cmdline)			/* NULs replaced by spaces, for humans */ \
	F(T, 50, U64, itimer_real_interval_us) F(T, 51, U64, itimer_real_value_us)	\
	F(T, 52, U64, itimer_virt_interval_us) F(T, 53, U64, itimer_virt_value_us)	\
	F(T, 54, U64, itimer_prof_interval_us) F(T, 55, U64, itimer_prof_value_us)	\
	F(T, 56, U64, sig_ignored)		/* bit n-1 = signal n */	\
	F(T, 60, U64, xcr0)			/* xstate features in use */	\
	F(T, 61, U32, xstate_size)					\
	F(T, 62, BLOB, cpuid_features)		/* struct cpu_features */	\
	F(T, 63, STR, cpu_model)					\
	F(T, 70, I32, oom_score_adj)					\
	F(T, 71, U32, no_new_privs)					\
	F(T, 72, U32, pdeathsig)					\
	F(T, 73, U32, child_subreaper)					\
	F(T, 74, U32, thp_disable)					\
	F(T, 80, U32, tty_nr)			/* controlling terminal (stat), 0 none */ \
	F(T, 81, U32, tty_foreground)		/* its process group had the terminal */ \
	F(T, 82, BLOB, termios)			/* struct termios of the terminal on 0-2 */ \
	F(T, 83, U32, pgrp_leader)		/* pgid == pid: a job of its own */ \
	F(T, 100, U32, cwd_ghost)		/* cwd was removed: 1 + index into meta/ghosts */ \
	F(T, 110, U32, mlock_future)		/* mlockall: MCL_FUTURE[|MCL_ONFAULT], 0 none */ \
	F(T, 111, U32, membarrier)		/* MEMBARRIER_CMD_REGISTER_* bits registered */ \
	F(T, 112, U32, memory_merge)		/* PR_SET_MEMORY_MERGE (KSM, whole process) */ \
	F(T, 180, U32, exe_file)		/* 1 + index into meta/files of the executable */ \
	F(T, 181, U64, clock_monotonic_ns)	/* CLOCK_MONOTONIC as the process saw it */ \
	F(T, 182, U64, clock_boottime_ns)	/* CLOCK_BOOTTIME as the process saw it */ \
	F(T, 570, U64, loginuid)		/* 1 + /proc/PID/loginuid (audit); 0 not saved */
RECORD_DECLARE(process_rec, PROCESS_FIELDS)

/* Member "meta/threads": one per thread, main thread first. */
#define THREAD_FIELDS(F, T)			\
	F(T, 1, I32, tid)			\
	F(T, 2, BLOB, regs)			/* struct user_regs_struct */	\
	F(T, 3, BLOB, xstate)			/* NT_X86_XSTATE, XSAVE layout */ \
	F(T, 4, U64, sigmask)			\
	F(T, 5, U64, altstack_sp) F(T, 6, U64, altstack_size) F(T, 7, I32, altstack_flags) \
	F(T, 8, U64, rseq_addr) F(T, 9, U32, rseq_len) F(T, 10, U32, rseq_sig) F(T, 11, U32, rseq_flags) \
	F(T, 12, U64, robust_list) F(T, 13, U64, robust_len)			\
	F(T, 14, U64, clear_child_tid)						\
	F(T, 15, STR, comm)							\
	F(T, 16, U32, sched_policy)		/* SCHED_*, with SCHED_RESET_ON_FORK */ \
	F(T, 17, U32, sched_priority)						\
	F(T, 18, I32, nice)							\
	F(T, 19, BLOB, affinity)		/* cpu_set_t bytes */					\
	F(T, 20, U32, ruid) F(T, 21, U32, euid) F(T, 22, U32, suid) F(T, 23, U32, fsuid) \
	F(T, 24, U32, rgid) F(T, 25, U32, egid) F(T, 26, U32, sgid) F(T, 27, U32, fsgid) \
	F(T, 28, BLOB, groups)			/* u32 array */		\
	F(T, 29, U64, cap_inh) F(T, 30, U64, cap_prm) F(T, 31, U64, cap_eff)	\
	F(T, 32, U64, cap_bnd) F(T, 33, U64, cap_amb)				\
	F(T, 34, U32, securebits)						\
	F(T, 530, U32, exited)			/* 1: the leader (first record only) had \
						   exited (pthread_exit), a zombie thread */ \
	F(T, 561, U32, seccomp_strict)		/* 1: in SECCOMP_MODE_STRICT */ \
	F(T, 585, U32, no_new_privs)		/* a thread's own: 1 off, 2 on; 0 (older \
						   images): as the process's */
RECORD_DECLARE(thread_rec, THREAD_FIELDS)

/* Member "meta/rlimits". */
#define RLIMIT_FIELDS(F, T)			\
	F(T, 1, U32, resource)			\
	F(T, 2, U64, cur)			\
	F(T, 3, U64, max)
RECORD_DECLARE(rlimit_rec, RLIMIT_FIELDS)

/* Member "meta/files": identity of every file the image depends on
 * (the executable, each mapped file). */
#define FILE_ID_FIELDS(F, T)			\
	F(T, 1, STR, path)			\
	F(T, 2, U64, size)			\
	F(T, 3, U64, mtime_ns)			\
	F(T, 4, U64, dev)			\
	F(T, 5, U64, ino)			\
	F(T, 6, U32, mode)			\
	F(T, 7, BLOB, build_id)			\
	F(T, 180, BLOB, sha256)			/* SHA-256 of the contents, empty if not hashed */ \
	F(T, 181, U32, bundled)			/* contents in member files/<sha256 hex> */ \
	F(T, 182, U32, replaced)		/* 1 deleted, 2 replaced since mapped: not the file at path */
RECORD_DECLARE(file_id_rec, FILE_ID_FIELDS)

enum vma_kind {
	VMA_ANON_PRIVATE = 1,
	VMA_ANON_SHARED,
	VMA_FILE_PRIVATE,
	VMA_FILE_SHARED,
	VMA_HEAP,
	VMA_STACK,
	VMA_VDSO,		/* [vdso]: bytes compared on restart */
	VMA_VVAR,		/* [vvar], [vvar_vclock], ...: address only */
	VMA_VSYSCALL,		/* [vsyscall]: fixed by the kernel, skipped */
	VMA_AIO_RING,		/* "/[aio]": the ring of an io_setup() context (state/aio.c) */
	VMA_PACKET_RING,	/* "socket:[N]": a packet socket's rings, mapped from ring_fd */
};

/* Member "meta/vmas": every line of /proc/pid/maps, in address order. */
#define VMA_FIELDS(F, T)			\
	F(T, 1, U64, start)			\
	F(T, 2, U64, end)			\
	F(T, 3, U32, prot)			/* PROT_* */	\
	F(T, 4, U32, kind)			/* enum vma_kind */	\
	F(T, 5, U64, pgoff)			/* file offset, bytes */ \
	F(T, 6, STR, path)			/* file path or [name] */ \
	F(T, 7, I32, file_index)		/* into meta/files, -1 none */ \
	F(T, 8, U64, vmflags)			/* VMF_* from smaps VmFlags */ \
	F(T, 9, U64, pages_stored)		/* pages of it in pages/ */	\
	F(T, 300, U64, shm_ino)			/* VMA_ANON_SHARED: its shmem inode; the \
						   same in several mappings (of one process \
						   or more), or as a ghost "/dev/zero" (an fd \
						   on it, a private mapping of it): one object */ \
	F(T, 588, U32, aio_nr)			/* VMA_AIO_RING: io_events it holds */	\
	F(T, 589, U32, aio_tail)		/* its tail: completions restart replays */ \
	F(T, 592, I32, ring_fd)			/* VMA_PACKET_RING: an fd of the process on \
						   the socket (FD_PACKET, with a ring) */
RECORD_DECLARE(vma_rec, VMA_FIELDS)

enum fd_kind {
	FD_REGULAR = 1,		/* reopened by path at its offset */
	FD_CHARDEV,		/* /dev/null etc: reopened by path */
	FD_DIRECTORY,
	FD_STDIO,		/* terminal, pipe or socket on 0-2: restart's own */
	FD_PIPE,		/* reader and writer in the process; queued data saved */
	FD_FIFO,		/* named pipe: reopened by path; queued data saved */
	FD_EVENTFD,
	FD_TIMERFD,
	FD_SIGNALFD,
	FD_EPOLL,		/* watches in meta/epoll */
	FD_DELETED,		/* regular file deleted while open: contents saved */
	FD_MEMFD,		/* memfd_create: name, contents, seals */
	FD_TCP,			/* listening or established (TCP_REPAIR) */
	FD_UDP,
	FD_UNIX,		/* pairs inside the process, listening, bound, --ext-unix */
	FD_INOTIFY,		/* watches in meta/inotify */
	FD_OPATH = 20,		/* O_PATH fd on any inode named by a path (symlinks too) */
	FD_FIFO_DELETED = 70,	/* named pipe deleted while open: made again, unlinked */
	FD_PING = 40,		/* ICMP echo socket (SOCK_DGRAM, IPPROTO_ICMP[V6]) */
	FD_NSFS = 50,		/* /proc/self/ns/NAME of the process's own namespace */
	FD_PIDFD = 51,		/* pidfd of the process itself, a dead one, a thread, a process of the tree */
	FD_PTY_MASTER = 52,	/* /dev/ptmx: a new pty with the settings and queue */
	FD_PTY_SLAVE = 53,	/* its /dev/pts/N, or a slave whose master was closed */
	FD_DEVTTY = 54,		/* /dev/tty: reopened once the terminal is back */
	FD_EXT_PIPE = 65,	/* end of a pipe whose other end is outside the checkpoint */
	FD_EXT_UNIX = 66,	/* unix stream/seqpacket socket whose peer is outside */
	FD_FANOTIFY = 72,	/* group flags and marks in meta/fanotify */
	FD_RAW = 73,		/* raw IP socket (SOCK_RAW): options, addresses, no queue */
	FD_NETLINK = 74,	/* netlink socket: port id, groups, peer, options */
	FD_PACKET = 75,		/* packet socket: interface, memberships, options; no ring */
};

/* Member "meta/fds". */
#define FD_FIELDS(F, T)				\
	F(T, 1, I32, fd)			\
	F(T, 2, U32, kind)			/* enum fd_kind */	\
	F(T, 3, STR, path)			\
	F(T, 4, U32, flags)			/* open flags from fdinfo */ \
	F(T, 5, U64, pos)			\
	F(T, 6, U32, cloexec)			\
	F(T, 7, STR, description)		/* readlink text, for humans */ \
	F(T, 8, U64, size)			/* file size at dump */	\
	F(T, 9, U64, mtime_ns)							\
	F(T, 10, U32, share_index)		/* 1 + index of an earlier fd sharing the	\
						   open file description, 0 if none */	\
	F(T, 11, U64, object_id)		/* pipe inode: ends of one pipe match */	\
	F(T, 12, BLOB, data)			/* pipe buffer, deleted file or memfd contents */ \
	F(T, 13, U32, pipe_size)		\
	F(T, 14, U64, count)			/* eventfd counter, timerfd ticks */	\
	F(T, 15, I32, clockid)			\
	F(T, 16, U64, value_ns)			/* timerfd: time left, 0 disarmed */	\
	F(T, 17, U64, interval_ns)		\
	F(T, 18, U32, semaphore)		/* eventfd EFD_SEMAPHORE */		\
	F(T, 19, U64, sigmask)			/* signalfd */				\
	F(T, 20, U32, seals)			/* memfd F_GET_SEALS */			\
	F(T, 21, I32, sock_domain)		/* AF_* */				\
	F(T, 22, I32, sock_type)		/* SOCK_* */				\
	F(T, 23, I32, sock_state)		/* TCP_* state (TCP_LISTEN = 10) */	\
	F(T, 24, BLOB, local_addr)		/* struct sockaddr bytes */		\
	F(T, 25, BLOB, peer_addr)		\
	F(T, 26, U32, backlog)			\
	F(T, 27, U64, sockopts)			/* SOCKOPT_* bits */			\
	F(T, 28, U64, snd_seq)			/* TCP_REPAIR: write_seq */		\
	F(T, 29, U64, rcv_seq)			/* rcv_nxt */				\
	F(T, 30, BLOB, outq)			/* send queue, sent-unacked then unsent */ \
	F(T, 31, U32, unsent_len)		\
	F(T, 32, BLOB, inq)			/* receive queue */			\
	F(T, 33, U32, mss)			\
	F(T, 34, U32, snd_wscale)		\
	F(T, 35, U32, rcv_wscale)		\
	F(T, 36, U32, tcp_options)		/* TCPI_OPT_* */			\
	F(T, 37, U32, timestamp)		/* TCP_TIMESTAMP */			\
	F(T, 38, BLOB, window)			/* struct tcp_repair_window */			\
	F(T, 39, U64, peer_id)			/* unix: the peer socket's inode */	\
	F(T, 100, U32, ghost)			/* 1 + index into meta/ghosts, 0 none */	\
	F(T, 101, U32, mode)			/* FD_OPATH: st_mode of the inode */	\
	F(T, 102, I32, fown_type)		/* F_OWNER_TID/PID/PGRP of F_GETOWN_EX */ \
	F(T, 103, I32, fown_pid)		/* 0: no owner */			\
	F(T, 104, I32, fown_sig)		/* F_GETSIG, 0 = SIGIO */	\
	F(T, 200, U32, fifo_mode)		/* named pipe: permission bits */	\
	F(T, 201, BLOB, pipe_packets)		/* u32 lengths of the packets data starts with */ \
	F(T, 202, U32, fifo_hup)		/* FIFO reader: POLLHUP showed (a writer came and went) */ \
	F(T, 203, U32, fifo_uid)		/* named pipe: owner */			\
	F(T, 204, U32, fifo_gid)	\
	F(T, 140, U32, shutdown)		/* sockets: 1 SHUT_RD, 2 SHUT_WR done */	\
	F(T, 141, I32, sock_protocol)		/* IPPROTO_*; 0 in older images */ \
	F(T, 220, U32, name_gone)		/* unix: the bound path was removed (or replaced) */ \
	F(T, 221, U32, name_mode)		/* unix: st_mode of the socket file, 0 unknown */ \
	F(T, 222, U32, name_uid)		\
	F(T, 223, U32, name_gid)		\
	F(T, 224, U64, accepted_by)		/* unix: accepted from this listener (inode) */ \
	F(T, 225, U64, waiting_on)		/* unix: connection waits in this listener's queue */ \
	F(T, 226, U32, peer_gone)		/* unix: connected, the peer closed */ \
	F(T, 227, U32, inflight)		/* a file in flight in a unix queue, not in the table */ \
	F(T, 228, BLOB, icons)			/* unix listener: u64 inodes of the clients queued, 0 closed */ \
	F(T, 160, U32, pidfd_of)		/* FD_PIDFD: 1 the process itself, 2 a dead one, 3 a thread, 4 a process of the tree */ \
	F(T, 161, BLOB, termios)		/* pty side: struct termios */		\
	F(T, 162, BLOB, winsize)		/* pty master: struct winsize */	\
	F(T, 163, U32, pty_flags)		/* PTY_* (fd_pty.c) */	\
	F(T, 164, I32, pidfd_tid)		/* FD_PIDFD of another thread: its TID; of another process of the tree (4): its PID */ \
	F(T, 300, I32, tree_pid)		/* tree: the same open file as fd tree_fd of	\
						   process tree_pid (earlier in meta/tree), 0 none */ \
	F(T, 301, I32, tree_fd) \
	F(T, 320, I32, peer_pid)		/* unix: the peer is a socket of this other \
						   process of the tree (a socketpair), 0 none */ \
	F(T, 229, U32, peercred)		/* unix: SO_PEERCRED below is known */ \
	F(T, 230, I32, peercred_pid)		\
	F(T, 231, U32, peercred_uid)		\
	F(T, 232, U32, peercred_gid)		\
	F(T, 510, U32, tcp_locked)		/* TCP: 1 when ckpt --kill dropped the \
						   connection's packets (network lock) from \
						   before it froze it; restart removes the lock */ \
	F(T, 562, I32, proc_of_tree)		/* a file of /proc/PID of another process \
						   of the tree (path /proc/PID/...): PID; \
						   opened late, once that process exists */ \
	F(T, 582, BLOB, nl_groups)		/* netlink: u32 words of every group it is \
						   a member of (bit g-1: group g), absent: none */ \
	F(T, 583, BLOB, pkt_mclist)		/* packet: struct packet_diag_mclist of each \
						   membership it added (path: the interface \
						   it is bound to) */ \
	F(T, 587, U32, proc_dead)		/* a file of /proc/PID (path /proc/PID/...) \
						   of a process gone at the checkpoint */ \
	F(T, 590, BLOB, pkt_rx_ring)		/* packet: struct packet_diag_ring of its \
						   PACKET_RX_RING, absent: none */ \
	F(T, 591, BLOB, pkt_tx_ring)		/* packet: the same of its PACKET_TX_RING */
RECORD_DECLARE(fd_rec, FD_FIELDS)

/* Member "meta/unix-queue": the messages queued on unix sockets, each
 * receiving socket's in the order they would be read. */
#define UNIX_MSG_FIELDS(F, T)			\
	F(T, 1, I32, fd)			/* the receiving socket (meta/fds) */ \
	F(T, 2, BLOB, data)			\
	F(T, 3, BLOB, fds)			/* SCM_RIGHTS: i32 fd numbers of meta/fds */ \
	F(T, 4, U32, has_creds)			/* SCM_CREDENTIALS below */ \
	F(T, 5, I32, pid)			\
	F(T, 6, U32, uid)			\
	F(T, 7, U32, gid)			\
	F(T, 8, BLOB, from)			/* datagrams: the sender's address */
RECORD_DECLARE(unix_msg_rec, UNIX_MSG_FIELDS)

enum ghost_kind {
	GHOST_FILE = 1,		/* unlinked regular file: contents saved */
	GHOST_MEMFD,		/* memfd_create: name, contents, seals */
	GHOST_DIR,		/* removed directory: re-created, opened, removed */
	GHOST_SYMLINK,		/* removed symlink (O_PATH fd): its target */
	GHOST_LINKED,		/* path removed, inode linked elsewhere: by handle */
	GHOST_DEV,		/* removed device node: made again (mknod) */
};

/* Member "meta/ghosts": files without a name that the process holds
 * (deleted files and directories, memfds), each inode once, however many
 * fds and mappings use it. */
#define GHOST_FIELDS(F, T)			\
	F(T, 1, U32, kind)			/* enum ghost_kind */	\
	F(T, 2, STR, path)			/* where it was, or /memfd:NAME */ \
	F(T, 3, U32, mode)			/* st_mode */		\
	F(T, 4, U32, uid)			\
	F(T, 5, U32, gid)			\
	F(T, 6, U64, size)			\
	F(T, 7, U64, atime_ns)			\
	F(T, 8, U64, mtime_ns)			\
	F(T, 9, BLOB, extents)			/* u64 (offset, length) pairs of data */ \
	F(T, 10, BLOB, data)			/* the extents' bytes, in order */ \
	F(T, 11, U32, seals)			/* memfd F_GET_SEALS */	\
	F(T, 12, U64, dev)			/* identity at dump */	\
	F(T, 13, U64, ino)			\
	F(T, 14, U32, linkable)			/* O_TMPFILE without O_EXCL */ \
	F(T, 15, I32, handle_type)		/* GHOST_LINKED: file handle */ \
	F(T, 16, BLOB, handle)			\
	F(T, 17, STR, target)			/* GHOST_SYMLINK */	\
	F(T, 18, U64, rdev)			/* GHOST_DEV: st_rdev */
RECORD_DECLARE(ghost_rec, GHOST_FIELDS)

/* Member "meta/ghost-maps": mappings of ghosts (their vma has no
 * file_index). */
#define GHOST_MAP_FIELDS(F, T)			\
	F(T, 1, U64, start)			/* the vma's start */	\
	F(T, 2, U32, ghost)			/* 1 + index into meta/ghosts */
RECORD_DECLARE(ghost_map_rec, GHOST_MAP_FIELDS)

/* Member "meta/cow-pages": runs of private pages a process of a tree
 * shared copy-on-write with its parent at the freeze (the same physical
 * page at the same address, never written by either since the fork): not
 * stored again; restart copies them from the restored parent. */
#define COW_PAGE_FIELDS(F, T)			\
	F(T, 1, U64, start)			\
	F(T, 2, U64, npages)
RECORD_DECLARE(cow_page_rec, COW_PAGE_FIELDS)

/* Member "meta/sockopts": the options of each socket that differ from a
 * new socket's (sockopts.c). */
#define SOCKOPT_FIELDS(F, T)			\
	F(T, 1, I32, fd)			\
	F(T, 2, STR, option)			/* "SO_PRIORITY", "TCP_KEEPIDLE" ... */	\
	F(T, 3, I64, value)			/* int; timeouts in us; SO_LINGER -1 off */ \
	F(T, 4, STR, text)			/* SO_BINDTODEVICE, TCP_CONGESTION */
RECORD_DECLARE(sockopt_rec, SOCKOPT_FIELDS)

/* Member "meta/inotify": the watches of each inotify fd, by path. */
#define INOTIFY_FIELDS(F, T)			\
	F(T, 1, I32, fd)			\
	F(T, 2, I32, wd)			/* watch descriptor the program holds */ \
	F(T, 3, U32, mask)			/* IN_* */				\
	F(T, 4, STR, path)			/* resolved from the file handle */ \
	F(T, 540, I32, via_fd)			/* 1 + an fd of the process on the	\
						   watched file when it has no name	\
						   (deleted while open); 0: by path */
RECORD_DECLARE(inotify_rec, INOTIFY_FIELDS)

/* Member "meta/fanotify": for each fanotify fd, its group (type 0: flags,
 * event_f_flags) and each of its marks (on an inode, a mount, a
 * filesystem), by path. */
enum fanotify_mark_type { FAN_REC_GROUP, FAN_REC_INODE, FAN_REC_MOUNT, FAN_REC_FILESYSTEM };
#define FANOTIFY_FIELDS(F, T)			\
	F(T, 1, I32, fd)			\
	F(T, 2, U32, type)			/* enum fanotify_mark_type */		\
	F(T, 3, U32, flags)			/* group: fanotify_init flags; mark:	\
						   FAN_MARK_* of fdinfo's mflags */	\
	F(T, 4, U32, mask)			/* group: event_f_flags; mark: FAN_* */ \
	F(T, 5, U32, ignored_mask)		\
	F(T, 6, STR, path)			/* the marked inode, or a path of the	\
						   mount or filesystem */		\
	F(T, 7, I32, via_fd)			/* inode: 1 + an fd of the process on it	\
						   when it has no name; 0: by path */
RECORD_DECLARE(fanotify_rec, FANOTIFY_FIELDS)

enum lock_kind { LOCK_FLOCK = 1, LOCK_POSIX, LOCK_OFD, LOCK_LEASE };

/* Member "meta/locks": file locks held through each open file. */
#define LOCK_FIELDS(F, T)			\
	F(T, 1, I32, fd)			\
	F(T, 2, U32, kind)			/* enum lock_kind */	\
	F(T, 3, U32, write)			/* 1 exclusive (lease: F_WRLCK), 0 shared */ \
	F(T, 4, U64, start)			\
	F(T, 5, I64, end)			/* last byte, -1 = to EOF */ \
	F(T, 6, U32, breaking)			/* lease being broken: 1 to F_RDLCK, 2 to F_UNLCK */
RECORD_DECLARE(lock_rec, LOCK_FIELDS)

/* Member "meta/timerslack": each thread's timer slack (PR_SET_TIMERSLACK),
 * one per meta/threads record, in the same order. */
#define TIMERSLACK_FIELDS(F, T)			\
	F(T, 1, I32, tid)			\
	F(T, 2, U64, slack_ns)			/* 0: real-time thread, none */
RECORD_DECLARE(timerslack_rec, TIMERSLACK_FIELDS)

/* Member "meta/guards": guard regions (MADV_GUARD_INSTALL), in address
 * order, each inside one mapping of meta/vmas. */
#define GUARD_FIELDS(F, T)			\
	F(T, 1, U64, start)			\
	F(T, 2, U64, end)
RECORD_DECLARE(guard_rec, GUARD_FIELDS)

/* Member "meta/epoll": what each epoll fd watches. */
#define EPOLL_FIELDS(F, T)			\
	F(T, 1, I32, epfd)			\
	F(T, 2, I32, tfd)			/* fd number the watch was added with */ \
	F(T, 3, U32, events)			/* EPOLLIN..., EPOLLET, EPOLLONESHOT... */ \
	F(T, 4, U64, data)			\
	F(T, 160, U32, target)			/* 1 + index into meta/fds of an fd on the \
						   watched file; 0: the fd tfd (older images) */
RECORD_DECLARE(epoll_rec, EPOLL_FIELDS)

/* Member "meta/sigactions": signals with a handler (not default/ignored). */
#define SIGACTION_FIELDS(F, T)			\
	F(T, 1, U32, sig)			\
	F(T, 2, U64, handler)			\
	F(T, 3, U64, flags)			\
	F(T, 4, U64, restorer)			\
	F(T, 5, U64, mask)
RECORD_DECLARE(sigaction_rec, SIGACTION_FIELDS)

/* Member "meta/sigpending": queued signals; tid 0 = process-wide. */
#define SIGPENDING_FIELDS(F, T)			\
	F(T, 1, I32, tid)			\
	F(T, 2, BLOB, siginfo)			/* 128-byte siginfo_t */
RECORD_DECLARE(sigpending_rec, SIGPENDING_FIELDS)

/* Member "meta/timers": POSIX timers (timer_create). */
#define TIMER_FIELDS(F, T)			\
	F(T, 1, I32, id)			/* the kernel's timer id */	\
	F(T, 2, I32, clock)			\
	F(T, 3, I32, signo)			\
	F(T, 4, I32, notify)			/* SIGEV_*, with SIGEV_THREAD_ID */ \
	F(T, 5, I32, notify_tid)		/* thread for SIGEV_THREAD_ID */ \
	F(T, 6, U64, sigev_value)		\
	F(T, 7, U64, interval_ns)		\
	F(T, 8, U64, value_ns)			/* remaining; 0 = disarmed */
RECORD_DECLARE(timer_rec, TIMER_FIELDS)

/* Member "meta/seccomp": the seccomp filters every thread has, newest
 * first (index 0), as PTRACE_SECCOMP_GET_FILTER returns them. */
#define SECCOMP_FIELDS(F, T)			\
	F(T, 1, U32, index)			\
	F(T, 2, U64, flags)			/* SECCOMP_FILTER_FLAG_* */	\
	F(T, 3, BLOB, prog)			/* struct sock_filter array */	\
	F(T, 584, I32, tid)			/* the thread whose stack it is in; \
						   0 (absent): every thread's */
RECORD_DECLARE(seccomp_rec, SECCOMP_FIELDS)

/* Member "meta/backtraces": the call stack of every thread at checkpoint
 * time, innermost frame first, for humans (ckpt -v, ckpt info); restart
 * does not use it. */
#define BACKTRACE_FIELDS(F, T)			\
	F(T, 1, I32, tid)			\
	F(T, 2, U32, frame)			/* 0 = where the thread is */	\
	F(T, 3, U64, ip)			\
	F(T, 4, U64, sp)			\
	F(T, 5, STR, function)			/* symbol, "??" if unknown */	\
	F(T, 6, U64, offset)			/* ip - start of function */	\
	F(T, 7, STR, file)			/* path of the mapping, NULL if none */
RECORD_DECLARE(backtrace_rec, BACKTRACE_FIELDS)

enum tree_state { TREE_RUNNING = 1, TREE_STOPPED, TREE_ZOMBIE };

/* Member "meta/tree": every process of the image, the root first, each
 * parent before its children (depth first, children by PID).  Absent in
 * an image of one process.  Process i > 0 (not a zombie) has its members
 * under "proc/PID/": proc/PID/meta/process, ..., proc/PID/pages/... */
#define TREE_FIELDS(F, T)			\
	F(T, 1, I32, pid)			\
	F(T, 2, I32, ppid)			/* 0 for the root */	\
	F(T, 3, I32, pgid)			\
	F(T, 4, I32, sid)			\
	F(T, 5, U32, state)			/* enum tree_state */	\
	F(T, 6, I32, exit_status)		/* zombie: wait status (WIFEXITED...) */ \
	F(T, 7, STR, comm)			\
	F(T, 490, U32, share_fs)		/* 1: shares its cwd, root and umask with \
						   its parent (clone CLONE_FS) */ \
	F(T, 580, U32, share_files)		/* 1: shares its fd table with its \
						   parent (clone CLONE_FILES) */ \
	F(T, 581, U32, stop_sig)		/* stopped: the signal that stopped \
						   it (SIGSTOP, SIGTSTP, SIGTTIN, \
						   SIGTTOU); 0 (older images): SIGSTOP */
RECORD_DECLARE(tree_rec, TREE_FIELDS)

/* System V IPC (common/state/sysv.c).  Member "meta/sysv-shm": each
 * segment the process has attached (one record per segment, even if
 * attached twice); a segment several processes of a tree attach is in
 * each one's list, restart makes it once.  Contents: the whole segment. */
#define SYSV_SHM_FIELDS(F, T)			\
	F(T, 1, I32, id)			/* shmid, made again the same */ \
	F(T, 2, I32, key)			/* 0 = IPC_PRIVATE (also once removed) */ \
	F(T, 3, U32, mode)			/* permission bits | SHM_DEST (marked removed) */ \
	F(T, 4, U64, size)			\
	F(T, 5, U32, uid)			\
	F(T, 6, U32, gid)			\
	F(T, 7, BLOB, contents)			/* size bytes */
RECORD_DECLARE(sysv_shm_rec, SYSV_SHM_FIELDS)

/* Member "meta/sysv-attach": where the process has a segment attached. */
#define SYSV_ATTACH_FIELDS(F, T)		\
	F(T, 1, I32, id)			/* a meta/sysv-shm record's */ \
	F(T, 2, U64, start)			\
	F(T, 3, U64, end)			\
	F(T, 4, U32, prot)			/* PROT_*: no PROT_WRITE = SHM_RDONLY */ \
	F(T, 586, BLOB, pieces)			/* mprotected in parts: struct \
						   sysv_attach_piece of each, in order */
RECORD_DECLARE(sysv_attach_rec, SYSV_ATTACH_FIELDS)

/* A part of an attachment with protections of its own (mprotect). */
struct sysv_attach_piece {
	uint64_t start, end;
	uint32_t prot, pad;
};

/* Member "meta/sysv-sem": semaphore sets a semaphore of which was last
 * operated on by the process (semctl GETPID). */
#define SYSV_SEM_FIELDS(F, T)			\
	F(T, 1, I32, id)			\
	F(T, 2, I32, key)			\
	F(T, 3, U32, mode)			\
	F(T, 4, U32, uid)			\
	F(T, 5, U32, gid)			\
	F(T, 6, BLOB, values)			/* nsems x uint16_t (GETALL) */
RECORD_DECLARE(sysv_sem_rec, SYSV_SEM_FIELDS)

/* Member "meta/sysv-msg": message queues the process last sent to or
 * received from (lspid / lrpid), with their messages in queue order. */
#define SYSV_MSG_FIELDS(F, T)			\
	F(T, 1, I32, id)			\
	F(T, 2, I32, key)			\
	F(T, 3, U32, mode)			\
	F(T, 4, U32, uid)			\
	F(T, 5, U32, gid)			\
	F(T, 6, U64, qbytes)			\
	F(T, 7, BLOB, messages)			/* per message: int64 mtype, uint64 len, bytes */
RECORD_DECLARE(sysv_msg_rec, SYSV_MSG_FIELDS)

#endif
