/*
 * The kernel side of memmap's differential test (KernelOracleTest): runs one process's steps
 * with the real system calls inside a window of the address space that is free at start, and
 * answers each with one line. Compiled by the test with the system's cc; not part of memmap.
 *
 *   oracle WINDOW_START WINDOW_LEN     prints "ok PID BRK0", then reads commands from stdin
 *
 * Commands (numbers in hex without 0x unless noted), one reply line each:
 *   open SLOT PATH                     -> ok | err ERRNO
 *   mmap ADDR LEN PROT FLAGS SLOT OFF  (SLOT -1: anonymous) -> ok ADDR | err ERRNO
 *   munmap ADDR LEN | mprotect ADDR LEN PROT | madvise ADDR LEN ADVICE | msync ADDR LEN FLAGS
 *   mremap OLD OLDLEN NEWLEN FLAGS NEWADDR -> ok ADDR | err ERRNO
 *   read ADDR LEN                      -> ok N SIG HEX   (SIG: 0, 7 SIGBUS, 11 SIGSEGV)
 *   write ADDR HEX                     -> ok N SIG
 *   probe ADDR W                       -> ok SIG
 *   ftruncate SLOT SIZE | pwrite SLOT OFF HEX
 *   mincore ADDR LEN                   -> ok HEX (one byte per page, bit 0) | err ERRNO
 *   fread ADDR LEN | fwrite ADDR HEX   (through /proc/self/mem: FOLL_FORCE) -> ok N [HEX] | err ERRNO
 *   brk OFF                            -> ok OFF' (the break after brk(BRK0 + OFF), relative to BRK0)
 *   fork IN OUT                        -> ok PID (makes the FIFOs IN and OUT; the child serves them)
 *   exit                               (no reply)
 * Faults are caught with sigsetjmp/siglongjmp, one page at a time, so a copy's count is the
 * bytes before the first page that faulted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL
static sigjmp_buf jb;
static volatile int faulted;
static int fds[8];
static FILE *in, *out;
static unsigned long brk0; /* the break at start, page-aligned: brk steps move it from here, never below */

static void on_fault(int sig) { faulted = sig; siglongjmp(jb, 1); }

static unsigned long hx(const char *s) { return strtoul(s, NULL, 16); }

static int unhex(const char *s, unsigned char *buf) {
    int n = 0;
    for (; s[0] && s[1] && s[0] != '\n'; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        buf[n++] = (unsigned char) v;
    }
    return n;
}

/* Copies n bytes, page piece by page piece, stopping at the first fault. */
static unsigned long guarded_copy(unsigned char *dst, const unsigned char *src, unsigned long n, unsigned long addr, int *sig) {
    unsigned long done = 0;
    *sig = 0;
    while (done < n) {
        unsigned long a = addr + done;
        unsigned long chunk = PAGE - (a % PAGE);
        if (chunk > n - done) chunk = n - done;
        faulted = 0;
        if (sigsetjmp(jb, 1) == 0) {
            volatile unsigned char *d = dst + done;
            const volatile unsigned char *s = src + done;
            for (unsigned long i = 0; i < chunk; i++) d[i] = s[i];
        } else {
            *sig = faulted;
            return done;
        }
        done += chunk;
    }
    return done;
}

static void reply_err(void) { fprintf(out, "err %d\n", errno); }

static void serve(void) {
    static char line[1 << 20];
    static unsigned char buf[1 << 19];
    while (fgets(line, sizeof line, in)) {
        char cmd[16];
        static char a1[4096], a2[1 << 19], a3[1 << 19], a4[64], a5[64], a6[64];
        a1[0] = a2[0] = a3[0] = a4[0] = a5[0] = a6[0] = 0;
        sscanf(line, "%15s %4095s %524287s %524287s %63s %63s %63s", cmd, a1, a2, a3, a4, a5, a6);
        if (!strcmp(cmd, "exit")) {
            exit(0);
        } else if (!strcmp(cmd, "open")) {
            int fd = open(a2, O_RDWR);
            if (fd < 0) reply_err(); else { fds[atoi(a1)] = fd; fprintf(out, "ok\n"); }
        } else if (!strcmp(cmd, "mmap")) {
            int slot = atoi(a5);
            void *p = mmap((void *) hx(a1), hx(a2), (int) hx(a3), (int) hx(a4), slot < 0 ? -1 : fds[slot], (off_t) hx(a6));
            if (p == MAP_FAILED) reply_err(); else fprintf(out, "ok %lx\n", (unsigned long) p);
        } else if (!strcmp(cmd, "munmap")) {
            if (munmap((void *) hx(a1), hx(a2))) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "mprotect")) {
            if (mprotect((void *) hx(a1), hx(a2), (int) hx(a3))) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "madvise")) {
            if (madvise((void *) hx(a1), hx(a2), (int) hx(a3))) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "msync")) {
            if (msync((void *) hx(a1), hx(a2), (int) hx(a3))) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "mremap")) {
            void *p = mremap((void *) hx(a1), hx(a2), hx(a3), (int) hx(a4), (void *) hx(a5));
            if (p == MAP_FAILED) reply_err(); else fprintf(out, "ok %lx\n", (unsigned long) p);
        } else if (!strcmp(cmd, "read")) {
            unsigned long addr = hx(a1), n = hx(a2);
            int sig;
            unsigned long done = guarded_copy(buf, (const unsigned char *) addr, n, addr, &sig);
            fprintf(out, "ok %lx %d ", done, sig);
            for (unsigned long i = 0; i < done; i++) fprintf(out, "%02x", buf[i]);
            fprintf(out, "\n");
        } else if (!strcmp(cmd, "write")) {
            unsigned long addr = hx(a1);
            int n = unhex(a2, buf), sig;
            unsigned long done = guarded_copy((unsigned char *) addr, buf, (unsigned long) n, addr, &sig);
            fprintf(out, "ok %lx %d\n", done, sig);
        } else if (!strcmp(cmd, "probe")) {
            volatile unsigned char *p = (volatile unsigned char *) hx(a1);
            int w = atoi(a2);
            faulted = 0;
            if (sigsetjmp(jb, 1) == 0) {
                if (w) {
                    /* one write access that changes nothing (a locked add of 0), as a store would fault */
                    __atomic_fetch_add((unsigned char *) p, 0, __ATOMIC_RELAXED);
                } else {
                    (void) *p;
                }
            }
            fprintf(out, "ok %d\n", faulted);
        } else if (!strcmp(cmd, "mincore")) {
            unsigned long len = hx(a2), pages = (len + PAGE - 1) / PAGE;
            if (mincore((void *) hx(a1), len, buf)) reply_err();
            else {
                fprintf(out, "ok ");
                for (unsigned long i = 0; i < pages; i++) fprintf(out, "%02x", buf[i] & 1);
                fprintf(out, "\n");
            }
        } else if (!strcmp(cmd, "fread") || !strcmp(cmd, "fwrite")) {
            /* ptrace's and /proc/[pid]/mem's access: FOLL_FORCE */
            int fd = open("/proc/self/mem", O_RDWR);
            unsigned long addr = hx(a1);
            ssize_t r;
            if (!strcmp(cmd, "fread")) {
                r = pread(fd, buf, hx(a2), (off_t) addr);
                if (r < 0) reply_err();
                else {
                    fprintf(out, "ok %lx ", (unsigned long) r);
                    for (ssize_t i = 0; i < r; i++) fprintf(out, "%02x", buf[i]);
                    fprintf(out, "\n");
                }
            } else {
                int n = unhex(a2, buf);
                r = pwrite(fd, buf, (size_t) n, (off_t) addr);
                if (r < 0) reply_err(); else fprintf(out, "ok %lx\n", (unsigned long) r);
            }
            close(fd);
        } else if (!strcmp(cmd, "brk")) {
            unsigned long r = (unsigned long) syscall(SYS_brk, brk0 + hx(a1));
            fprintf(out, "ok %lx\n", r - brk0);
        } else if (!strcmp(cmd, "ftruncate")) {
            if (ftruncate(fds[atoi(a1)], (off_t) hx(a2))) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "pwrite")) {
            int n = unhex(a3, buf);
            if (pwrite(fds[atoi(a1)], buf, (size_t) n, (off_t) hx(a2)) != n) reply_err(); else fprintf(out, "ok\n");
        } else if (!strcmp(cmd, "fork")) {
            if ((mkfifo(a1, 0600) && errno != EEXIST) || (mkfifo(a2, 0600) && errno != EEXIST)) { reply_err(); fflush(out); continue; }
            fflush(out);
            pid_t pid = fork();
            if (pid < 0) { reply_err(); }
            else if (pid == 0) {
                in = fopen(a1, "r");
                out = fopen(a2, "w");
                if (!in || !out) _exit(3);
                continue;
            } else {
                fprintf(out, "ok %d\n", pid);
            }
        } else {
            fprintf(out, "err 22\n");
        }
        fflush(out);
    }
    exit(0);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: oracle WINDOW_START WINDOW_LEN\n"); return 2; }
    unsigned long start = hx(argv[1]), len = hx(argv[2]);
    void *p = mmap((void *) start, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
    if (p != (void *) start) { fprintf(stderr, "window %lx+%lx is not free\n", start, len); return 1; }
    munmap(p, len);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    signal(SIGCHLD, SIG_IGN); /* forked processes that exit are reaped at once */
    /* malloc must never move the break the brk steps own: every allocation from mmap */
    mallopt(M_MMAP_THRESHOLD, 0);
    unsigned long b = (unsigned long) syscall(SYS_brk, 0);
    brk0 = (b + PAGE - 1) & ~(PAGE - 1);
    if (brk0 != b && (unsigned long) syscall(SYS_brk, brk0) != brk0) { fprintf(stderr, "cannot align the break\n"); return 1; }
    in = stdin;
    out = stdout;
    fprintf(out, "ok %d %lx\n", getpid(), brk0);
    fflush(out);
    serve();
    return 0;
}
