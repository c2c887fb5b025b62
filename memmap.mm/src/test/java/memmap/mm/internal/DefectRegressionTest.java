package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AllocOpts;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.InvalidateOpts;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.NameMut;
import memmap.api.TranslateResult;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;
import memmap.shm.internal.ShmProvider;

/**
 * One test per defect of the address-space review (issue 11), each written to fail on the
 * code before the fix. Numbers refer to the list.
 */
class DefectRegressionTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @TempDir
    Path dir;
    MemfdMemoryFile mf;
    AnonymousProvider anon;
    final FdMappableCache files = new FdMappableCache();

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("mm-defects", 2L << 20, 1L << 30, 0, false);
        anon = MemoryManagerIoTestConfig.anonymous(mf);
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, anon));
    }

    /** An 8-page file whose page i is filled with byte i. */
    FdMappable pagesFile(String name) throws Exception {
        byte[] data = new byte[(int) (8 * P)];
        for (int i = 0; i < 8; i++) {
            Arrays.fill(data, (int) (i * P), (int) ((i + 1) * P), (byte) i);
        }
        Path f = Files.write(dir.resolve(name), data);
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        return files.get(fd, Posix.fstat(fd), f.toString(), true, true, true);
    }

    FdMappable file(String name, byte[] data, boolean mappable) throws Exception {
        Path f = Files.write(dir.resolve(name), data);
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        return files.get(fd, Posix.fstat(fd), f.toString(), true, mappable, true);
    }

    static byte[] read(MemoryManager mm, long addr, int n) {
        byte[] b = new byte[n];
        assertEquals(IoResult.ok(n), mm.read(CTX, addr, MemorySegment.ofArray(b)), "read of " + n + " at " + Long.toHexString(addr));
        return b;
    }

    static IoResult write(MemoryManager mm, long addr, byte... bytes) {
        return mm.write(CTX, addr, MemorySegment.ofArray(bytes));
    }

    static byte[] filled(int n, int b) {
        byte[] a = new byte[n];
        Arrays.fill(a, (byte) b);
        return a;
    }

    // ---------------------------------------------------------------- 1: split pieces keep their offset

    @Test
    void d1_mprotectInsideASharedFileMappingKeepsTheSplitPiecesOffset() throws Exception {
        FdMappable f = pagesFile("pages.bin");
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).mappable(f).mappingIdentity(f).build());
        mm.mprotect(CTX, a + 4 * P, 4 * P, AccessType.ANY_ACCESS);
        assertArrayEquals(filled(4, 4), read(mm, a + 4 * P, 4), "page 4 of the file at A+16K");
        assertArrayEquals(filled(4, 0), read(mm, a, 4));
        assertEquals(IoResult.ok(7), write(mm, a + 4 * P, "CORRUPT".getBytes()));
        byte[] onDisk = Files.readAllBytes(Path.of(f.mappedName(CTX)));
        assertEquals('C', onDisk[(int) (4 * P)], "the write reached file offset 16K");
        assertEquals(0, onDisk[0], "and not file offset 0");
        assertTrue(mm.maps(CTX).contains(String.format("%08x-%08x rwxs %08x", a + 4 * P, a + 8 * P, 4 * P)), mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
        assertEquals("", mm.maps(CTX).lines().filter(l -> !l.contains("[vsyscall]")).reduce("", String::concat), "fully torn down");
        f.decRef(CTX);
    }

    @Test
    void d1_setNameMadviseAndMlockInsideAMappingKeepTheSplitPiecesOffset() throws Exception {
        FdMappable f = pagesFile("names.bin");
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).mappable(f).mappingIdentity(f).isPrivate(true).build());
        assertEquals(Errno.EBADF, assertThrows(MemmapException.class, () -> mm.setName(CTX, a + 2 * P, P, "x")).errno(),
                "file mappings cannot be named, as in Linux");
        mm.madvise(CTX, a + 3 * P, P, MAdvice.DONTFORK);
        mm.mlock(CTX, a + 5 * P, P, MLockMode.LAZY);
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(filled(2, i), read(mm, a + i * P, 2), "page " + i);
        }
        assertTrue(mm.maps(CTX).contains(String.format("%08x-%08x rw-p %08x", a + 5 * P, a + 6 * P, 5 * P)), mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void d1_mprotectInsideSharedAnonymousMemoryAndSysVAttachments() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).nameMut(NameMut.ANON_SHMEM).build());
        for (int i = 0; i < 4; i++) {
            assertEquals(IoResult.ok(1), write(mm, a + i * P, (byte) (10 + i)));
        }
        mm.mprotect(CTX, a + 2 * P, 2 * P, AccessType.READ);
        mm.setName(CTX, a + P, P, "named");
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(new byte[] {(byte) (10 + i)}, read(mm, a + i * P, 1), "page " + i);
        }
        assertTrue(mm.maps(CTX).contains(String.format("%08x-%08x rw-s %08x", a + P, a + 2 * P, P)), mm.maps(CTX));
        assertTrue(mm.maps(CTX).contains(String.format("%08x-%08x r--s %08x", a + 2 * P, a + 4 * P, 2 * P)), mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);

        ShmProvider shm = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", 2L));
        MemoryManager mm2 = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, anon, shm));
        int id = shm.get(CTX, 0, 4 * P, SysVSharedMemory.IPC_CREAT | 0600);
        long s = mm2.shmat(CTX, id, 0, 0);
        for (int i = 0; i < 4; i++) {
            assertEquals(IoResult.ok(1), write(mm2, s + i * P, (byte) (20 + i)));
        }
        mm2.mprotect(CTX, s + P, P, AccessType.READ);
        assertArrayEquals(new byte[] {21}, read(mm2, s + P, 1));
        assertArrayEquals(new byte[] {23}, read(mm2, s + 3 * P, 1));
        mm2.shmdt(CTX, s);
        assertEquals(Errno.EFAULT, mm2.read(CTX, s + 3 * P, MemorySegment.ofArray(new byte[1])).error(), "every piece detached");
        mm2.checkInvariants();
        shm.remove(CTX, id);
        mm2.release(CTX);
    }

    // ---------------------------------------------------------------- 2: I/O stops where the pmas stop

    @Test
    void d2a_aWriteAfterAFailedCopyOnWriteBreakNeverReachesTheChildsPage() throws Exception {
        MemfdMemoryFile small = new MemfdMemoryFile("mm-small", 2L << 20, 16 * P, 0, false);
        try {
            MemoryManager parent = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, small);
            long a = parent.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).build());
            assertEquals(IoResult.ok(4), write(parent, a, "kid!".getBytes()));
            MemoryManager child = parent.fork(CTX);
            List<FileRange> hog = new ArrayList<>();
            try {
                while (true) {
                    hog.add(small.allocate(P, AllocOpts.DEFAULT));
                }
            } catch (MemmapException e) {
                assertEquals(Errno.ENOMEM, e.errno());
            }
            IoResult r = write(parent, a, "BAD!".getBytes());
            assertEquals(0, r.n(), "nothing written: the copy-on-write break failed");
            assertEquals(Errno.ENOMEM, r.error().toErrno());
            assertEquals("kid!", new String(read(child, a, 4)), "the child's page is untouched");
            assertEquals("kid!", new String(read(parent, a, 4)));
            hog.forEach(small::decRef);
            assertEquals(IoResult.ok(4), write(parent, a, "mine".getBytes()));
            assertEquals("kid!", new String(read(child, a, 4)));
            parent.checkInvariants();
            child.checkInvariants();
            parent.release(CTX);
            child.release(CTX);
            assertEquals(0, small.usage().allocated(), "every page freed");
        } finally {
            small.release();
        }
    }

    @Test
    void d2b_aWriteIntoAPrivateFileMappingThatRunsPastTheEndOfTheFileWritesWhatItCan() throws Exception {
        FdMappable f = file("short.bin", filled((int) P, 7), true);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(f).mappingIdentity(f).isPrivate(true).build());
        IoResult r = mm.write(CTX, a + 0x800, MemorySegment.ofArray(filled(0x1000, 9)));
        assertEquals(0x800, r.n(), "the bytes before the end of the file");
        assertInstanceOf(BusError.class, r.error(), "then SIGBUS");
        assertArrayEquals(filled(0x800, 9), read(mm, a + 0x800, 0x800));
        assertArrayEquals(filled((int) P, 7), Files.readAllBytes(Path.of(f.mappedName(CTX))), "a private mapping never writes the file");
        mm.checkInvariants();
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void d2c_aPrivateMappingOfAFileServedByTheFallbackNeverWritesTheFile() throws Exception {
        FdMappable f = file("fallback.bin", filled((int) (2 * P), 3), false);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(f).mappingIdentity(f).isPrivate(true).build());
        assertArrayEquals(filled(8, 3), read(mm, a + P, 8));
        assertEquals(IoResult.ok(4), write(mm, a + P, "priv".getBytes()));
        assertEquals("priv", new String(read(mm, a + P, 4)));
        assertArrayEquals(filled((int) (2 * P), 3), Files.readAllBytes(Path.of(f.mappedName(CTX))), "the file is unchanged");
        MemoryManager other = mm();
        long b = other.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(f).mappingIdentity(f).isPrivate(true).build());
        assertArrayEquals(filled(4, 3), read(other, b + P, 4), "another private mapping sees the file");
        mm.checkInvariants();
        mm.release(CTX);
        other.release(CTX);
        f.decRef(CTX);
    }

    // ---------------------------------------------------------------- 3: a pma lies within one vma

    @Test
    void d3_aWriteNeverReachesAReadOnlyPageAfterTheUniqueReferenceTakeover() throws Exception {
        MemoryManager parent = mm();
        long a = parent.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        assertEquals(IoResult.ok(1), write(parent, a, (byte) 1));
        assertEquals(IoResult.ok(1), write(parent, a + P, (byte) 2));
        parent.mprotect(CTX, a, P, AccessType.READ);
        MemoryManager child = parent.fork(CTX);
        child.checkInvariants();
        parent.release(CTX);
        assertEquals(Errno.EFAULT, write(child, a, (byte) 9).error());
        assertEquals(IoResult.ok(1), write(child, a + P, (byte) 8));
        assertEquals(Errno.EFAULT, write(child, a, (byte) 9).error(), "still read-only after the takeover");
        assertArrayEquals(new byte[] {1}, read(child, a, 1));
        child.checkInvariants();
        child.release(CTX);
    }

    // ---------------------------------------------------------------- 4: fork next to DONTFORK

    @Test
    void d4_forkKeepsPrivatePagesNextToADontforkRange() throws Exception {
        MemoryManager parent = mm();
        long a = parent.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        assertEquals(IoResult.ok(1), write(parent, a, (byte) 1));
        assertEquals(IoResult.ok(1), write(parent, a + P, (byte) 2));
        parent.madvise(CTX, a, P, MAdvice.DONTFORK);
        MemoryManager child = parent.fork(CTX);
        assertArrayEquals(new byte[] {2}, read(child, a + P, 1), "the page after the DONTFORK range is inherited");
        assertEquals(Errno.EFAULT, child.read(CTX, a, MemorySegment.ofArray(new byte[1])).error(), "the DONTFORK page is not");
        parent.checkInvariants();
        child.checkInvariants();
        parent.release(CTX);
        child.release(CTX);
        assertEquals(0, mf.usage().allocated());
    }

    // ---------------------------------------------------------------- 5: msync sees writes through read translations

    @Test
    void d5_aWriteThroughAPmaTranslatedForReadingIsDirtyForMsync() throws Exception {
        FdMappable f = pagesFile("dirty.bin");
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).mappable(f).mappingIdentity(f).build());
        read(mm, a, 8 * (int) P);
        assertEquals(0, f.dirtyBytes(), "reading dirties nothing");
        assertEquals(IoResult.ok(1), write(mm, a + 3 * P, (byte) 42));
        assertTrue(f.dirtyBytes() >= P, "the written page is dirty: " + f.dirtyBytes());
        mm.msync(CTX, a, 8 * P, true, false);
        mm.release(CTX);
        assertEquals(42, Files.readAllBytes(Path.of(f.mappedName(CTX)))[(int) (3 * P)]);
        f.decRef(CTX);
    }

    @Test
    void found_msyncOfAHoleBeforeASharedFileMappingIsENOMEM() throws Exception {
        // Found by ProgramModelTest (seed 2011): the next vma starting past the range made an ill-formed range.
        FdMappable f = pagesFile("hole.bin");
        MemoryManager mm = mm();
        long base = 0x5000_0000_0000L;
        mm.mmap(CTX, MMapOpts.builder().addr(base + 4 * P).fixed(true).length(2 * P).mappable(f).mappingIdentity(f).build());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.msync(CTX, base, 2 * P, true, false)).errno());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.msync(CTX, base + 2 * P, 4 * P, true, false)).errno(),
                "a hole before the mapping: the mapped part is synced, then ENOMEM");
        mm.msync(CTX, base + 4 * P, 2 * P, true, false);
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void found_msyncWritesBackOnlyItsRange() throws Exception {
        // Found by KernelOracleTest (seed 14963): msync of one page fdatasync'ed the whole file, so
        // the kernel wrote back the last page too and zeroed the bytes written past the end of the
        // file there, which Linux's msync of that one page leaves in the page cache.
        FdMappable f = pagesFile("tail.bin");
        f.setSize(CTX, 6 * P + 0x68d);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(7 * P).mappable(f).mappingIdentity(f).build());
        assertEquals(IoResult.ok(0x100), mm.write(CTX, a + 6 * P + 0x600, MemorySegment.ofArray(filled(0x100, 0x77))));
        assertEquals(IoResult.ok(1), write(mm, a + 5 * P, (byte) 1));
        mm.msync(CTX, a + 5 * P, P, true, false);
        assertArrayEquals(filled(0x100, 0x77), read(mm, a + 6 * P + 0x600, 0x100), "the last page was not written back");
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void found_msyncWritesBackOnlyItsRangeAlsoAfterItsPagesWereUnmapped() throws Exception {
        // The same (seed 14963's second minimal program): the written pages' chunk mapping was gone
        // by the time of the msync, which then fdatasync'ed the whole file.
        FdMappable f = pagesFile("tail2.bin");
        f.setSize(CTX, 6 * P + 0x68d);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(7 * P).mappable(f).mappingIdentity(f).build());
        assertEquals(IoResult.ok(0x100), mm.write(CTX, a + 6 * P + 0x600, MemorySegment.ofArray(filled(0x100, 0x77))));
        mm.munmap(CTX, a, 7 * P); // the last pma goes: the chunk mapping closes
        long b = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(f).mappingIdentity(f).offset(5 * P).build());
        mm.msync(CTX, b, P, true, false);
        long c = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(f).mappingIdentity(f).offset(6 * P).build());
        assertArrayEquals(filled(0x100, 0x77), read(mm, c + 0x600, 0x100), "the last page was not written back");
        mm.release(CTX);
        f.decRef(CTX);
    }

    // ---------------------------------------------------------------- 6: truncation stores the size first

    @Test
    void d6_aTranslationDuringTheTruncationsInvalidationSeesTheNewSize() throws Exception {
        FdMappable f = pagesFile("trunc.bin");
        List<TranslateResult> seen = new ArrayList<>();
        MappingSpace racer = new MappingSpace() {
            @Override
            public void invalidate(AddrRange ar, InvalidateOpts opts) {
                // A fault arriving while the truncation invalidates: it must see the new size.
                seen.add(f.translate(CTX, new MappableRange(6 * P, 7 * P), new MappableRange(0, 8 * P), AccessType.READ));
            }
        };
        f.addMapping(CTX, racer, new AddrRange(0x10000, 0x10000 + 8 * P), 0, false);
        f.setSize(CTX, 2 * P);
        assertFalse(seen.isEmpty(), "the mapping was invalidated");
        for (TranslateResult t : seen) {
            assertTrue(t.translations().isEmpty(), "no page past the new end is translated: " + t);
            assertInstanceOf(BusError.class, t.error());
        }
        f.removeMapping(CTX, racer, new AddrRange(0x10000, 0x10000 + 8 * P), 0, false);
        f.decRef(CTX);
    }

    // ---------------------------------------------------------------- 7

    /** A Mappable that delegates, with hooks for the tests. */
    static class Hooked implements Mappable {
        final Mappable inner;
        volatile java.util.function.Consumer<MappingSpace> onAdd = ms -> { };
        volatile MemmapException translateFailure;

        Hooked(Mappable inner) {
            this.inner = inner;
        }

        @Override
        public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException {
            inner.addMapping(ctx, ms, ar, offset, writable);
            onAdd.accept(ms);
        }

        @Override
        public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
            inner.removeMapping(ctx, ms, ar, offset, writable);
        }

        @Override
        public void copyMapping(Context ctx, MappingSpace ms, AddrRange srcAR, AddrRange dstAR, long offset, boolean writable)
                throws MemmapException {
            inner.copyMapping(ctx, ms, srcAR, dstAR, offset, writable);
        }

        @Override
        public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
            MemmapException e = translateFailure;
            return e != null ? TranslateResult.failure(e.error()) : inner.translate(ctx, required, optional, at);
        }

        @Override
        public void invalidateUnsavable(Context ctx) throws MemmapException {
            inner.invalidateUnsavable(ctx);
        }
    }

    @Test
    void d7_forkReplaysInvalidationsThatArriveWhileItCopies() throws Exception {
        FdMappable f = pagesFile("forkinv.bin");
        Hooked h = new Hooked(f);
        MemoryManager parent = mm();
        long a = parent.mmap(CTX, MMapOpts.builder().length(8 * P).mappable(h).mappingIdentity(f).isPrivate(true).build());
        assertEquals(IoResult.ok(1), write(parent, a, (byte) 99));
        MemoryManager[] childSeen = new MemoryManager[1];
        // A truncation's invalidation reaches the child right after AddMapping, before the pmas are copied.
        h.onAdd = ms -> {
            if (ms != parent) {
                childSeen[0] = (MemoryManager) ms;
                ms.invalidate(new AddrRange(a, a + 8 * P), InvalidateOpts.PRIVATE);
            }
        };
        MemoryManager child = parent.fork(CTX);
        assertSame(child, childSeen[0]);
        assertArrayEquals(new byte[] {0}, read(child, a, 1), "the child's private copy was invalidated: it sees the file again");
        assertArrayEquals(new byte[] {99}, read(parent, a, 1), "the parent was not invalidated");
        parent.checkInvariants();
        child.checkInvariants();
        parent.release(CTX);
        child.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void d7_mlockAllCurrentEagerPopulates() throws Exception {
        MemoryManager mm = mm();
        mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).perms(AccessType.NO_ACCESS).build());
        assertEquals(0, mm.rss());
        mm.mlockAll(CTX, true, false, MLockMode.EAGER);
        assertEquals(4 * P, mm.rss(), "every accessible page is backed, PROT_NONE ones are not");
        mm.checkInvariants();
        mm.release(CTX);
    }

    @Test
    void d7_mremapOfAnEagerlyLockedMappingIgnoresThePopulateError() throws Exception {
        FdMappable f = file("grow.bin", filled((int) P, 5), true);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(f).mappingIdentity(f).build());
        mm.mlock(CTX, a, P, MLockMode.EAGER);
        assertEquals(a, mm.mremap(CTX, a, P, 2 * P, MRemapMove.NO_MOVE, 0), "grown in place although page 2 is past the end");
        assertTrue(mm.maps(CTX).contains(String.format("%08x-%08x", a, a + 2 * P)), mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void d7_eagerMlockErrorsAreLinuxs() throws Exception {
        FdMappable f = file("lock.bin", filled((int) P, 5), true);
        Hooked h = new Hooked(f);
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(f).mappingIdentity(f).build());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.mlock(CTX, a, 2 * P, MLockMode.EAGER)).errno(),
                "SIGBUS past the end is EFAULT in the kernel, which mlock reports as ENOMEM");
        long b = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(h).mappingIdentity(f).build());
        h.translateFailure = Errno.EIO.exception("disk on fire");
        assertEquals(Errno.EIO, assertThrows(MemmapException.class, () -> mm.mlock(CTX, b, P, MLockMode.EAGER)).errno(),
                "other errors are returned as they are");
        MemfdMemoryFile small = new MemfdMemoryFile("mm-lock", 2L << 20, 2 * P, 0, false);
        try {
            MemoryManager tiny = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, small);
            long c = tiny.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
            assertEquals(Errno.EAGAIN, assertThrows(MemmapException.class, () -> tiny.mlock(CTX, c, 4 * P, MLockMode.EAGER)).errno(),
                    "out of memory is EAGAIN");
            tiny.release(CTX);
        } finally {
            small.release();
        }
        mm.release(CTX);
        f.decRef(CTX);
    }

    @Test
    void d7_ioAcrossTheSignBitOfTheAddressSpace() throws Exception {
        long top = 0x8000_0000_0000_0000L;
        MemoryManager.Layout high = new MemoryManager.Layout(0x10000L, -P, 0x10000L, -P, true);
        MemoryManager mm = new MemoryManager(high, Backings.of(mf, anon));
        long a = mm.mmap(CTX, MMapOpts.builder().addr(top - 2 * P).fixed(true).length(4 * P).isPrivate(true).build());
        assertEquals(top - 2 * P, a);
        byte[] data = filled((int) (4 * P), 0x5a);
        IoResult w = assertTimeoutPreemptively(Duration.ofMinutes(2), () -> mm.write(CTX, a, MemorySegment.ofArray(data)));
        assertEquals(IoResult.ok(4 * P), w);
        assertArrayEquals(data, read(mm, a, (int) (4 * P)));
        assertEquals(IoResult.ok(4), assertTimeoutPreemptively(Duration.ofMinutes(2),
                () -> mm.zero(CTX, top - 2, 4)));
        assertArrayEquals(new byte[] {0x5a, 0, 0, 0, 0, 0x5a}, read(mm, top - 3, 6));
        mm.checkInvariants();
        mm.release(CTX);
    }
}
