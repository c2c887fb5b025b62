package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FaultException;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapException;
import memmap.api.MemoryUsage;
import memmap.api.NameMut;
import memmap.api.provider.SysVSharedMemory;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;
import memmap.shm.internal.ShmProvider;

/**
 * Every public entry point of an address space fed the classic bad values (negative, 2^63,
 * 2^64−1, unaligned, zero, an overflowing {@code addr + len}, null, empty, huge, unknown,
 * non-ASCII): each is refused with an error naming the argument and the value, and afterwards
 * maps, smaps, the address space's usage, the memory file's usage, the System V segments and
 * the process's descriptors are exactly as before. Then the hardening cases of the same
 * entry points that are not refusals: a fault past a truncated file's end, a deleted file in
 * maps.
 */
class BadInputTest {
    static final Context CTX = Context.background();
    static final long P = 4096;
    static final long TOP = 1L << 63;
    static final long MAX = -1L;

    @TempDir
    Path dir;
    MemfdMemoryFile mf;
    ShmProvider shm;
    MemoryManager mm;
    long anon;
    long named;
    int shmid;
    final FdMappableCache files = new FdMappableCache();

    @BeforeEach
    void setUp() throws Exception {
        mf = new MemfdMemoryFile("mm-bad-input", 2L << 20, 1L << 30, 0, false);
        shm = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", 1L));
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, MemoryManagerIoTestConfig.anonymous(mf), shm));
        anon = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        named = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).nameMut(NameMut.ANON).build());
        assertEquals(IoResult.ok(3), mm.write(CTX, anon + P, MemorySegment.ofArray(new byte[] {1, 2, 3})));
        shmid = shm.get(CTX, 4242, 2 * P, SysVSharedMemory.IPC_CREAT | 0600);
    }

    @AfterEach
    void tearDown() throws Exception {
        mm.release(CTX);
        shm.remove(CTX, shmid);
        mf.release();
    }

    /** Everything a refusal must leave as it was. */
    record State(String maps, String smaps, long usageAS, long rss, MemoryUsage memoryFile, List<SysVSharedMemory.ShmStat> segments,
            long descriptors) {}

    State state() throws Exception {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return new State(mm.maps(CTX), mm.smaps(CTX), mm.usageAS(), mm.rss(), mf.usage(), shm.list(), fds.count());
        }
    }

    interface Call {
        void run() throws Exception;
    }

    /** A call that must be refused: by {@code type}, with {@code errno} (or null) and a message containing {@code says}. */
    record Case(String what, Call call, Class<? extends Exception> type, Errno errno, String says) {}

    static Case errno(String what, Errno e, String says, Call c) {
        return new Case(what, c, MemmapException.class, e, says);
    }

    static Case npe(String what, String says, Call c) {
        return new Case(what, c, NullPointerException.class, null, says);
    }

    static Case iae(String what, String says, Call c) {
        return new Case(what, c, IllegalArgumentException.class, null, says);
    }

    /** An I/O call reports a short count and its error, never throws. */
    static Case io(String what, Errno e, java.util.function.Supplier<IoResult> c) {
        return new Case(what, () -> {
            IoResult r = c.get();
            assertEquals(0, r.n(), what + ": nothing done");
            assertEquals(e, r.error(), what + ": " + r.error());
            throw new MemmapException(r.error());
        }, MemmapException.class, e, "");
    }

    List<Case> cases() {
        List<Case> cs = new ArrayList<>();
        MemorySegment eight = MemorySegment.ofArray(new byte[8]);
        // mmap: the options are checked before anything is mapped.
        cs.add(npe("mmap null opts", "opts = null", () -> mm.mmap(CTX, null)));
        cs.add(npe("mmap null ctx", "ctx = null", () -> mm.mmap(null, MMapOpts.builder().length(P).build())));
        cs.add(errno("mmap length 0", Errno.EINVAL, "length = 0", () -> mm.mmap(CTX, MMapOpts.builder().length(0).isPrivate(true).build())));
        cs.add(errno("mmap length 2^64-1", Errno.ENOMEM, "length = 0xffffffffffffffff",
                () -> mm.mmap(CTX, MMapOpts.builder().length(MAX).isPrivate(true).build())));
        cs.add(errno("mmap length 2^63", Errno.ENOMEM, "0x8000000000000000",
                () -> mm.mmap(CTX, MMapOpts.builder().length(TOP).isPrivate(true).build())));
        cs.add(errno("mmap fixed unaligned", Errno.EINVAL, "addr = 0x10001",
                () -> mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).addr(0x10001).fixed(true).unmap(true).build())));
        cs.add(errno("mmap fixed past the top", Errno.ENOMEM, "",
                () -> mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).addr(MAX - P + 1).fixed(true).unmap(true).build())));
        cs.add(errno("mmap perms over maxPerms", Errno.EACCES, "perms = rw- exceed maxPerms = r--", () -> mm.mmap(CTX,
                MMapOpts.builder().length(P).isPrivate(true).perms(AccessType.READ_WRITE).maxPerms(AccessType.READ).build())));
        cs.add(iae("mmap name with a newline", "control character 0xa",
                () -> mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).name("x\n7f00-7f01 rw-p 0 0:0 0 [stack]").build())));
        cs.add(iae("mmap unmap without fixed", "unmap = true requires fixed = true",
                () -> mm.mmap(CTX, MMapOpts.builder().length(P).unmap(true).build())));
        // munmap
        cs.add(errno("munmap length 0", Errno.EINVAL, "length = 0", () -> mm.munmap(CTX, anon, 0)));
        cs.add(errno("munmap unaligned", Errno.EINVAL, "addr = " + hex(anon + 1), () -> mm.munmap(CTX, anon + 1, P)));
        cs.add(errno("munmap addr+len overflows", Errno.EINVAL, "overflows", () -> mm.munmap(CTX, anon, MAX - anon)));
        cs.add(errno("munmap 2^64-1", Errno.EINVAL, "overflows", () -> mm.munmap(CTX, anon, MAX)));
        // mremap
        cs.add(npe("mremap null move", "move = null", () -> mm.mremap(CTX, anon, P, 2 * P, null, 0)));
        cs.add(errno("mremap unaligned", Errno.EINVAL, "oldAddr = " + hex(anon + 1), () -> mm.mremap(CTX, anon + 1, P, P, MRemapMove.MAY_MOVE, 0)));
        cs.add(errno("mremap new size 0", Errno.EINVAL, "newSize = 0x0", () -> mm.mremap(CTX, anon, P, 0, MRemapMove.MAY_MOVE, 0)));
        cs.add(errno("mremap new size 2^64-1", Errno.EINVAL, "newSize = 0xffffffffffffffff",
                () -> mm.mremap(CTX, anon, P, MAX, MRemapMove.MAY_MOVE, 0)));
        cs.add(errno("mremap old range overflows", Errno.EINVAL, "overflows", () -> mm.mremap(CTX, anon, -anon + P, P, MRemapMove.MAY_MOVE, 0)));
        cs.add(errno("mremap not mapped", Errno.EFAULT, "", () -> mm.mremap(CTX, 0x10000, P, 2 * P, MRemapMove.MAY_MOVE, 0)));
        // mprotect
        cs.add(npe("mprotect null perms", "perms = null", () -> mm.mprotect(CTX, anon, P, null)));
        cs.add(errno("mprotect unaligned", Errno.EINVAL, "addr = " + hex(anon + 1), () -> mm.mprotect(CTX, anon + 1, P, AccessType.READ)));
        cs.add(errno("mprotect 2^64-1", Errno.ENOMEM, "", () -> mm.mprotect(CTX, anon, MAX, AccessType.READ)));
        cs.add(errno("mprotect a hole", Errno.ENOMEM, "", () -> mm.mprotect(CTX, 0x10000, P, AccessType.READ)));
        // msync
        cs.add(errno("msync unaligned", Errno.EINVAL, "addr = " + hex(anon + 1), () -> mm.msync(CTX, anon + 1, P, true, false)));
        cs.add(errno("msync 2^63", Errno.ENOMEM, "", () -> mm.msync(CTX, anon, TOP, true, false)));
        // madvise
        cs.add(npe("madvise null advice", "advice = null", () -> mm.madvise(CTX, anon, P, null)));
        cs.add(errno("madvise unaligned", Errno.EINVAL, "addr = " + hex(anon + 1), () -> mm.madvise(CTX, anon + 1, P, MAdvice.DONTNEED)));
        cs.add(errno("madvise 2^64-1", Errno.EINVAL, "", () -> mm.madvise(CTX, anon, MAX, MAdvice.DONTNEED)));
        // mlock, mlockall
        cs.add(npe("mlock null mode", "mode = null", () -> mm.mlock(CTX, anon, P, null)));
        cs.add(errno("mlock addr+len overflows", Errno.EINVAL, "overflows", () -> mm.mlock(CTX, anon, MAX - P, MLockMode.EAGER)));
        cs.add(npe("mlockAll null mode", "mode = null", () -> mm.mlockAll(CTX, true, false, null)));
        cs.add(errno("mlockAll neither", Errno.EINVAL, "MCL_CURRENT or MCL_FUTURE", () -> mm.mlockAll(CTX, false, false, MLockMode.EAGER)));
        // setName
        cs.add(errno("setName 80 bytes", Errno.EINVAL, "name is 80 bytes", () -> mm.setName(CTX, named, P, "n".repeat(80))));
        cs.add(errno("setName 1000 characters", Errno.EINVAL, "name is 1000 bytes", () -> mm.setName(CTX, named, P, "n".repeat(1000))));
        cs.add(errno("setName 40 é (80 bytes)", Errno.EINVAL, "name is 80 bytes", () -> mm.setName(CTX, named, P, "é".repeat(40))));
        cs.add(errno("setName newline", Errno.EINVAL, "the character 10", () -> mm.setName(CTX, named, P, "a\nb")));
        cs.add(errno("setName non-ASCII", Errno.EINVAL, "the character 233", () -> mm.setName(CTX, named, P, "é")));
        cs.add(errno("setName unaligned", Errno.EINVAL, "addr = " + hex(named + 1), () -> mm.setName(CTX, named + 1, P, "ok")));
        cs.add(errno("setName not renamable", Errno.EBADF, "may not be renamed", () -> mm.setName(CTX, anon, P, "ok")));
        // shmat, shmdt
        cs.add(errno("shmat unknown id", Errno.EINVAL, "", () -> mm.shmat(CTX, 987654, 0, 0)));
        cs.add(errno("shmat negative id", Errno.EINVAL, "", () -> mm.shmat(CTX, -1, 0, 0)));
        cs.add(errno("shmat SHM_REMAP unaligned", Errno.EINVAL, "addr = 0x10001", () -> mm.shmat(CTX, shmid, 0x10001, SysVSharedMemory.SHM_REMAP)));
        cs.add(errno("shmdt unaligned", Errno.EINVAL, "addr = 0x10001", () -> mm.shmdt(CTX, 0x10001)));
        cs.add(errno("shmdt nothing attached", Errno.EINVAL, "", () -> mm.shmdt(CTX, anon)));
        // System V
        cs.add(errno("IPC_SET uid -1", Errno.EINVAL, "uid = -1", () -> shm.set(CTX, shmid, -1, 0, 0600)));
        cs.add(errno("IPC_SET gid -1", Errno.EINVAL, "gid = -1", () -> shm.set(CTX, shmid, 0, -1, 0600)));
        cs.add(errno("shmget size 2^63", Errno.ENOMEM, "9223372036854775808", () -> shm.get(CTX, 4343, TOP, SysVSharedMemory.IPC_CREAT | 0600)));
        cs.add(errno("shmget size 2^64-1", Errno.EINVAL, "size = 18446744073709551615", () -> shm.get(CTX, 4343, MAX, SysVSharedMemory.IPC_CREAT | 0600)));
        // read, write, zero: a short count and the error
        cs.add(io("read at 2^64-8", Errno.EFAULT, () -> mm.read(CTX, MAX - 7, eight)));
        cs.add(io("read overflowing", Errno.EFAULT, () -> mm.read(CTX, MAX - 3, eight)));
        cs.add(io("write unmapped", Errno.EFAULT, () -> mm.write(CTX, 0x1000, eight)));
        cs.add(io("zero 2^64-1", Errno.EFAULT, () -> mm.zero(CTX, anon + 4 * P, MAX)));
        // fault
        cs.add(new Case("fault unmapped", () -> mm.fault(CTX, 0x1000, AccessType.READ), FaultException.class, Errno.EFAULT, "no mapping"));
        cs.add(new Case("fault at 2^64-1", () -> mm.fault(CTX, MAX, AccessType.READ), FaultException.class, Errno.EFAULT, "no mapping"));
        return cs;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    @Test
    void everyEntryPointRefusesBadValuesNamingThemAndChangesNothing() throws Exception {
        int n = 0;
        for (Case c : cases()) {
            State before = state();
            Exception e = assertThrows(c.type(), () -> c.call().run(), c.what());
            if (c.errno() != null) {
                assertEquals(c.errno(), ((MemmapException) e).errno(), c.what() + ": " + e.getMessage());
            }
            assertTrue(e.getMessage() != null && e.getMessage().contains(c.says()),
                    c.what() + ": the message names the argument: " + e.getMessage());
            assertEquals(before, state(), c.what() + " left everything as it was");
            n++;
        }
        assertTrue(n >= 50, "the table is the test: " + n);
    }

    @Test
    void safemensCountsAreUnsigned() {
        var bs = memmap.api.safemem.BlockSeq.of(memmap.api.safemem.Block.ofSafe(MemorySegment.ofArray(new byte[16])));
        assertTrue(bs.dropFirst(TOP).isEmpty());
        assertEquals(16, bs.takeFirst(MAX).numBytes());
    }

    // ---------------------------------------------------------------- what is not a refusal

    FdMappable file(Path f) throws Exception {
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        return files.get(fd, Posix.fstat(fd), f.toString(), true, true, true);
    }

    @Test
    void aFaultPastTheEndOfAFileTruncatedBehindOurBackIsSigbus() throws Exception {
        Path f = Files.write(dir.resolve("shrinks"), new byte[(int) (2 * P)]);
        FdMappable m = file(f);
        for (boolean priv : new boolean[] {false, true}) {
            long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(priv).perms(AccessType.READ).mappable(m).mappingIdentity(m).build());
            mm.fault(CTX, a + P, AccessType.READ); // a pma for the second page, while it exists
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(P); // by someone else: memmap is not told
            }
            FaultException e = assertThrows(FaultException.class, () -> mm.fault(CTX, a + P + 8, AccessType.READ), "private " + priv);
            assertEquals(FaultException.Signal.SIGBUS, e.signal(), e.getMessage());
            assertEquals(a + P + 8, e.address());
            assertInstanceOf(BusError.class, mm.read(CTX, a + P, MemorySegment.ofArray(new byte[1])).error(), "read says the same");
            mm.fault(CTX, a, AccessType.READ); // the page still inside is fine
            mm.munmap(CTX, a, 2 * P);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(2 * P);
            }
        }
        m.decRef(CTX);
    }

    @Test
    void aDeletedFileIsMarkedDeletedInMapsAsLinuxPrintsIt() throws Exception {
        Path f = Files.write(dir.resolve("goes away"), new byte[(int) P]);
        FdMappable m = file(f);
        long a = mm.mmap(CTX, MMapOpts.builder().length(P).perms(AccessType.READ).mappable(m).mappingIdentity(m).build());
        m.decRef(CTX);
        String line = mm.maps(CTX).lines().filter(l -> l.startsWith(Long.toHexString(a))).findFirst().orElseThrow();
        assertTrue(line.endsWith(f.toString()), line);
        Files.delete(f);
        line = mm.maps(CTX).lines().filter(l -> l.startsWith(Long.toHexString(a))).findFirst().orElseThrow();
        assertTrue(line.endsWith(f + " (deleted)"), line);
        mm.munmap(CTX, a, P);
    }

    @Test
    void aNameOf79BytesIsTheLongestLinuxTakes() throws Exception {
        mm.setName(CTX, named, P, "n".repeat(79));
        assertTrue(mm.maps(CTX).contains("[anon:" + "n".repeat(79) + "]"));
    }
}
