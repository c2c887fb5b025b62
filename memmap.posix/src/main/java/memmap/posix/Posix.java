package memmap.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import memmap.api.Errno;
import memmap.api.MemmapException;

/**
 * Linux system calls through FFM downcalls, each capturing {@code errno}. Every method throws
 * {@link MemmapException} carrying the errno and the call on failure.
 *
 * <p>Thread safety: every method may be called concurrently (the errno capture buffer is
 * per thread).
 */
public final class Posix {
    public static final int MFD_CLOEXEC = 0x1;
    public static final int FALLOC_FL_KEEP_SIZE = 0x1;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x2;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int PROT_NONE = 0x0;
    public static final int MADV_POPULATE_WRITE = 23;
    public static final int MS_ASYNC = 1;
    public static final int MS_SYNC = 4;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_NOFOLLOW = 0x20000;
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFDIR = 0040000;
    public static final int O_WRONLY = 1;
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_PATH = 0x200000;
    public static final int O_NOCTTY = 0x100;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFBLK = 0060000;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    /** openat2's {@code RESOLVE_NO_MAGICLINKS}: no /proc/self/fd-style links. */
    public static final long RESOLVE_NO_MAGICLINKS = 0x02;
    /** openat2's {@code RESOLVE_BENEATH}: every component resolved stays beneath the directory. */
    public static final long RESOLVE_BENEATH = 0x08;
    /** statfs f_type of procfs. */
    public static final long PROC_SUPER_MAGIC = 0x9fa0;
    /** statfs f_type of sysfs. */
    public static final long SYSFS_MAGIC = 0x62656572;
    /** The directory-relative calls' "the current directory". */
    public static final int AT_FDCWD = -100;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> CAPTURE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;

    private static final MethodHandle MEMFD_CREATE = downcall("memfd_create", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle FTRUNCATE = downcall("ftruncate", FunctionDescriptor.of(INT, INT, LONG));
    private static final MethodHandle LSEEK = downcall("lseek", FunctionDescriptor.of(LONG, INT, LONG, INT));
    private static final MethodHandle FALLOCATE = downcall("fallocate", FunctionDescriptor.of(INT, INT, INT, LONG, LONG));
    private static final MethodHandle MMAP = downcall("mmap", FunctionDescriptor.of(ADDR, ADDR, LONG, INT, INT, INT, LONG));
    private static final MethodHandle MUNMAP = downcall("munmap", FunctionDescriptor.of(INT, ADDR, LONG));
    private static final MethodHandle PREAD = downcall("pread", FunctionDescriptor.of(LONG, INT, ADDR, LONG, LONG));
    private static final MethodHandle PWRITE = downcall("pwrite", FunctionDescriptor.of(LONG, INT, ADDR, LONG, LONG));
    private static final MethodHandle READ = downcall("read", FunctionDescriptor.of(LONG, INT, ADDR, LONG));
    private static final MethodHandle WRITE = downcall("write", FunctionDescriptor.of(LONG, INT, ADDR, LONG));
    private static final MethodHandle MSYNC = downcall("msync", FunctionDescriptor.of(INT, ADDR, LONG, INT));
    private static final MethodHandle FDATASYNC = downcall("fdatasync", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle MADVISE = downcall("madvise", FunctionDescriptor.of(INT, ADDR, LONG, INT));
    private static final MethodHandle MINCORE = downcall("mincore", FunctionDescriptor.of(INT, ADDR, LONG, ADDR));
    private static final MethodHandle MLOCK = downcall("mlock", FunctionDescriptor.of(INT, ADDR, LONG));
    private static final MethodHandle MUNLOCK = downcall("munlock", FunctionDescriptor.of(INT, ADDR, LONG));
    private static final MethodHandle FSTAT = downcall("fstat", FunctionDescriptor.of(INT, INT, ADDR));
    private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(INT, ADDR, INT, INT));
    private static final MethodHandle OPENAT = downcall("openat", FunctionDescriptor.of(INT, INT, ADDR, INT, INT));
    private static final MethodHandle FSTATFS = downcall("fstatfs", FunctionDescriptor.of(INT, INT, ADDR));
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LIBC.find("fcntl").orElseThrow(),
            FunctionDescriptor.of(INT, INT, INT, INT), Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    private static final MethodHandle READLINKAT = downcall("readlinkat", FunctionDescriptor.of(LONG, INT, ADDR, ADDR, LONG));
    /** {@code syscall(SYS_openat2, dirfd, path, how, size)}: glibc has no wrapper. */
    private static final MethodHandle SYSCALL4 = LINKER.downcallHandle(LIBC.find("syscall").orElseThrow(),
            FunctionDescriptor.of(LONG, LONG, INT, ADDR, ADDR, LONG), Linker.Option.firstVariadicArg(1),
            Linker.Option.captureCallState("errno"));
    private static final long SYS_OPENAT2 = 437; // the same number on x86-64 and aarch64
    private static final MethodHandle UNLINK = downcall("unlink", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle GETPID = LINKER.downcallHandle(LIBC.find("getpid").orElseThrow(), FunctionDescriptor.of(INT));

    private Posix() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsupportedOperationException("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, Linker.Option.captureCallState("errno"));
    }

    private static MemmapException failure(String call) {
        int errno = (int) ERRNO.get(CAPTURE_BUFFER.get(), 0L);
        return new MemmapException(Errno.of(errno, call));
    }

    private static int check(int rc, String call) throws MemmapException {
        if (rc < 0) {
            throw failure(call);
        }
        return rc;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** {@code memfd_create(name, flags)}: an anonymous memory-backed file. */
    public static int memfdCreate(String name, int flags) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            return check((int) MEMFD_CREATE.invokeExact(CAPTURE_BUFFER.get(), a.allocateFrom(name), flags), "memfd_create(" + name + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ftruncate(fd, length)}. */
    public static void ftruncate(int fd, long length) throws MemmapException {
        try {
            check((int) FTRUNCATE.invokeExact(CAPTURE_BUFFER.get(), fd, length), "ftruncate(" + fd + ", " + length + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code lseek}'s SEEK_DATA: the next offset at or after which there is data. */
    public static final int SEEK_DATA = 3;
    /** {@code lseek}'s SEEK_HOLE: the next hole at or after the offset (the file's end counts). */
    public static final int SEEK_HOLE = 4;

    /**
     * {@code lseek(fd, offset, whence)}.
     *
     * @return the new offset, or -1 for ENXIO (SEEK_DATA past the last data), so that a scan of
     *     a sparse file needs no exception for its normal end
     */
    public static long lseek(int fd, long offset, int whence) throws MemmapException {
        try {
            long n = (long) LSEEK.invokeExact(CAPTURE_BUFFER.get(), fd, offset, whence);
            if (n < 0) {
                MemmapException e = failure("lseek(" + fd + ", " + offset + ", " + whence + ")");
                if (e.errno().code() == 6 /* ENXIO */) {
                    return -1;
                }
                throw e;
            }
            return n;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The data extents of {@code [start, end)} of a sparse file (SEEK_DATA / SEEK_HOLE), page
     * aligned outwards and clipped to the range, as {@code {start, end}} pairs, ascending.
     */
    public static java.util.List<long[]> dataExtents(int fd, long start, long end) throws MemmapException {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        long pos = start;
        while (Long.compareUnsigned(pos, end) < 0) {
            long d = lseek(fd, pos, SEEK_DATA);
            if (d < 0 || Long.compareUnsigned(d, end) >= 0) {
                break;
            }
            long h = lseek(fd, d, SEEK_HOLE);
            long s = d & -4096L;
            long e = h < 0 || Long.compareUnsigned(h, end) > 0 ? end : Math.min(end, (h + 4095) & -4096L);
            if (!out.isEmpty() && out.getLast()[1] >= s) {
                out.getLast()[1] = e;
            } else {
                out.add(new long[] {Math.max(s, start), e});
            }
            pos = e;
        }
        return out;
    }

    /** {@code fallocate(fd, mode, offset, length)}. */
    public static void fallocate(int fd, int mode, long offset, long length) throws MemmapException {
        try {
            check((int) FALLOCATE.invokeExact(CAPTURE_BUFFER.get(), fd, mode, offset, length),
                    "fallocate(" + fd + ", " + mode + ", " + offset + ", " + length + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code mmap(NULL, length, prot, flags, fd, offset)}: the mapping as a segment of
     * {@code length} bytes. The caller unmaps it with {@link #munmap}; touching it afterwards
     * crashes the JVM, so this is for code that owns the mapping's whole life (benchmarks,
     * tests).
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) throws MemmapException {
        try {
            MemorySegment addr = (MemorySegment) MMAP.invokeExact(CAPTURE_BUFFER.get(), MemorySegment.NULL, length, prot, flags, fd, offset);
            if (addr.address() == -1L) {
                throw failure("mmap(" + length + ")");
            }
            return addr.reinterpret(length);
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code mmap(at, length, prot, flags | MAP_FIXED, fd, offset)}: replaces the pages at
     * {@code at} (the caller's own reservation, see {@link #mmap}) with a mapping of
     * {@code fd}. Same ownership rule as {@link #mmap}.
     */
    public static void mmapFixed(MemorySegment at, long length, int prot, int flags, int fd, long offset) throws MemmapException {
        try {
            MemorySegment addr = (MemorySegment) MMAP.invokeExact(CAPTURE_BUFFER.get(), at, length, prot, flags | MAP_FIXED, fd, offset);
            if (addr.address() == -1L) {
                throw failure("mmap(" + Long.toHexString(at.address()) + ", " + length + ", MAP_FIXED, fd " + fd + ", offset " + offset + ")");
            }
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code munmap(segment, length)}. */
    public static void munmap(MemorySegment segment, long length) throws MemmapException {
        try {
            check((int) MUNMAP.invokeExact(CAPTURE_BUFFER.get(), segment, length), "munmap");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code madvise(segment, length, advice)}; the segment must start on a page boundary. */
    public static void madvise(MemorySegment segment, long length, int advice) throws MemmapException {
        try {
            check((int) MADVISE.invokeExact(CAPTURE_BUFFER.get(), segment, length, advice), "madvise(" + advice + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code pread(fd, buf, count, offset)}: bytes read (0 at end of file). {@code buf} must
     * be native memory.
     */
    public static long pread(int fd, MemorySegment buf, long count, long offset) throws MemmapException {
        try {
            long n = (long) PREAD.invokeExact(CAPTURE_BUFFER.get(), fd, buf, count, offset);
            if (n < 0) {
                throw failure("pread(" + fd + ", " + count + ", " + offset + ")");
            }
            return n;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pwrite(fd, buf, count, offset)}: bytes written. {@code buf} must be native memory. */
    public static long pwrite(int fd, MemorySegment buf, long count, long offset) throws MemmapException {
        try {
            long n = (long) PWRITE.invokeExact(CAPTURE_BUFFER.get(), fd, buf, count, offset);
            if (n < 0) {
                throw failure("pwrite(" + fd + ", " + count + ", " + offset + ")");
            }
            return n;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code read(fd, buf, count)}: bytes read (0 at end of stream). */
    public static long read(int fd, MemorySegment buf, long count) throws MemmapException {
        try {
            long n = (long) READ.invokeExact(CAPTURE_BUFFER.get(), fd, buf, count);
            if (n < 0) {
                throw failure("read(" + fd + ", " + count + ")");
            }
            return n;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code write(fd, buf, count)}: bytes written. */
    public static long write(int fd, MemorySegment buf, long count) throws MemmapException {
        try {
            long n = (long) WRITE.invokeExact(CAPTURE_BUFFER.get(), fd, buf, count);
            if (n < 0) {
                throw failure("write(" + fd + ", " + count + ")");
            }
            return n;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code msync(segment, length, flags)}; the segment must start on a page boundary. */
    public static void msync(MemorySegment segment, long length, int flags) throws MemmapException {
        try {
            check((int) MSYNC.invokeExact(CAPTURE_BUFFER.get(), segment, length, flags), "msync");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fdatasync(fd)}. */
    public static void fdatasync(int fd) throws MemmapException {
        try {
            check((int) FDATASYNC.invokeExact(CAPTURE_BUFFER.get(), fd), "fdatasync(" + fd + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code mlock(segment, length)}. */
    public static void mlock(MemorySegment segment, long length) throws MemmapException {
        try {
            check((int) MLOCK.invokeExact(CAPTURE_BUFFER.get(), segment, length), "mlock");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code munlock(segment, length)}. */
    public static void munlock(MemorySegment segment, long length) throws MemmapException {
        try {
            check((int) MUNLOCK.invokeExact(CAPTURE_BUFFER.get(), segment, length), "munlock");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The number of resident pages among the {@code length / pageSize} pages from
     * {@code segment} ({@code mincore}).
     */
    public static long residentPages(MemorySegment segment, long length, long pageSize) throws MemmapException {
        long pages = (length + pageSize - 1) / pageSize;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(pages);
            check((int) MINCORE.invokeExact(CAPTURE_BUFFER.get(), segment, length, vec), "mincore");
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vec.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
            return resident;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * What {@code fstat} says of a file.
     *
     * @param device st_dev
     * @param inode st_ino
     * @param mode st_mode
     * @param size st_size
     * @param blocks st_blocks (512-byte units)
     * @param links st_nlink (0 once the file is deleted)
     * @param rdev st_rdev, the device a device file stands for
     */
    public record Stat(long device, long inode, int mode, long size, long blocks, long links, long rdev) {
        /** Bytes really allocated to the file. */
        public long allocatedBytes() {
            return blocks * 512;
        }

        /** The device as Linux's internal {@code major << 20 | minor} (glibc's dev_t is new_encode_dev). */
        public long linuxDevice() {
            return linuxDeviceId(device);
        }

        /** Whether this is the character device {@code /dev/zero} (1, 5), wherever it is. */
        public boolean isDevZero() {
            return (mode & S_IFMT) == S_IFCHR && linuxDeviceId(rdev) == ((1L << 20) | 5);
        }

        /** glibc's dev_t (new_encode_dev) as Linux's internal {@code major << 20 | minor}. */
        public static long linuxDeviceId(long dev) {
            long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
            long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
            return (major << 20) | (minor & 0xfffff);
        }
    }

    /** {@code fstat(fd)}'s modification time in nanoseconds since the epoch ({@code st_mtim}, at 88 on x86-64 and aarch64). */
    public static long mtimeNanos(int fd) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(256, 8);
            check((int) FSTAT.invokeExact(CAPTURE_BUFFER.get(), fd, st), "fstat(" + fd + ")");
            return st.get(LONG, 88) * 1_000_000_000L + st.get(LONG, 96);
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fstat(fd)} (x86-64 / aarch64 {@code struct stat} layout). */
    public static Stat fstat(int fd) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(256, 8);
            check((int) FSTAT.invokeExact(CAPTURE_BUFFER.get(), fd, st), "fstat(" + fd + ")");
            boolean x86 = "amd64".equals(System.getProperty("os.arch")) || "x86_64".equals(System.getProperty("os.arch"));
            // x86-64: dev 0, ino 8, nlink 16, mode 24, uid 28, gid 32, rdev 40, size 48, blksize 56, blocks 64.
            // aarch64 (generic): dev 0, ino 8, mode 16, nlink 20, uid 24, gid 28, rdev 32, size 48, blksize 56, blocks 64.
            int mode = st.get(INT, x86 ? 24 : 16);
            long links = x86 ? st.get(LONG, 16) : st.get(INT, 20) & 0xffffffffL;
            return new Stat(st.get(LONG, 0), st.get(LONG, 8), mode, st.get(LONG, 48), st.get(LONG, 64), links,
                    st.get(LONG, x86 ? 40 : 32));
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code open(path, flags, mode)}. */
    public static int open(String path, int flags, int mode) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            return check((int) OPEN.invokeExact(CAPTURE_BUFFER.get(), a.allocateFrom(path), flags, mode), "open(" + path + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code unlink(path)}. */
    public static void unlink(String path) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            check((int) UNLINK.invokeExact(CAPTURE_BUFFER.get(), a.allocateFrom(path)), "unlink(" + path + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code close(fd)}. */
    public static void close(int fd) throws MemmapException {
        try {
            check((int) CLOSE.invokeExact(CAPTURE_BUFFER.get(), fd), "close(" + fd + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code getpid()}. */
    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code openat(dirfd, path, flags, mode)}. */
    public static int openat(int dirfd, String path, int flags, int mode) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            return check((int) OPENAT.invokeExact(CAPTURE_BUFFER.get(), dirfd, a.allocateFrom(path), flags, mode),
                    "openat(" + dirfd + ", " + path + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code openat2(dirfd, path, {flags, mode, resolve})}.
     *
     * @throws MemmapException ENOSYS where the kernel (or a seccomp filter) does not have it
     */
    public static int openat2(int dirfd, String path, int flags, int mode, long resolve) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment how = a.allocate(24, 8); // struct open_how { u64 flags, mode, resolve; }
            how.set(LONG, 0, flags & 0xffffffffL);
            how.set(LONG, 8, mode & 0xffffffffL);
            how.set(LONG, 16, resolve);
            long rc = (long) SYSCALL4.invokeExact(CAPTURE_BUFFER.get(), SYS_OPENAT2, dirfd, a.allocateFrom(path), how, 24L);
            if (rc < 0) {
                throw failure("openat2(" + dirfd + ", " + path + ")");
            }
            return (int) rc;
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fstatfs(fd).f_type}: the file system's magic number. */
    public static long fstatfsType(int fd) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(128, 8); // struct statfs; f_type is its first word
            check((int) FSTATFS.invokeExact(CAPTURE_BUFFER.get(), fd, st), "fstatfs(" + fd + ")");
            return st.get(LONG, 0);
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fcntl(fd, cmd, arg)} for the integer-argument commands. */
    public static int fcntl(int fd, int cmd, int arg) throws MemmapException {
        try {
            return check((int) FCNTL.invokeExact(CAPTURE_BUFFER.get(), fd, cmd, arg), "fcntl(" + fd + ", " + cmd + ")");
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code readlinkat(dirfd, path)}: the target of a symbolic link. */
    public static String readlinkat(int dirfd, String path) throws MemmapException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4097);
            long n = (long) READLINKAT.invokeExact(CAPTURE_BUFFER.get(), dirfd, a.allocateFrom(path), buf, 4096L);
            if (n < 0) {
                throw failure("readlinkat(" + dirfd + ", " + path + ")");
            }
            return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), java.nio.charset.StandardCharsets.UTF_8);
        } catch (MemmapException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
