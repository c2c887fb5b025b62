package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
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
import memmap.api.MMapPlatformEffect;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;

/** Page faults (SIGSEGV/SIGBUS with the address), population at mmap, truncation seen through the address space, bad input. */
class FaultAndPopulateTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @TempDir
    Path dir;

    MemfdMemoryFile mf;
    AnonymousProvider anon;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("mm-fault", 2L << 20, 1L << 30, 0, false);
        anon = MemoryManagerIoTestConfig.anonymous(mf);
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, anon));
    }

    @Test
    void faultsCarryTheSignalAndTheAddress() throws Exception {
        MemoryManager mm = mm();
        FaultException none = assertThrows(FaultException.class, () -> mm.fault(CTX, 0x1234_5678L, AccessType.READ));
        assertEquals(FaultException.Signal.SIGSEGV, none.signal());
        assertEquals(0x1234_5678L, none.address());
        long ro = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).perms(AccessType.READ).build());
        assertEquals(FaultException.Signal.SIGSEGV, assertThrows(FaultException.class, () -> mm.fault(CTX, ro + 5, AccessType.WRITE)).signal());
        Backing small = anon.create(CTX, new BackingRequest.Anonymous(P));
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(small.mappable()).mappingIdentity(small.identity()).build());
        long rss = mm.rss();
        mm.fault(CTX, a + 10, AccessType.WRITE);
        assertTrue(mm.rss() > rss, "the fault backed the page");
        FaultException bus = assertThrows(FaultException.class, () -> mm.fault(CTX, a + P + 7, AccessType.READ));
        assertEquals(FaultException.Signal.SIGBUS, bus.signal(), "past the end of the shared memory");
        assertEquals(a + P + 7, bus.address());
        assertTrue(bus.getMessage().startsWith("SIGBUS at 0x"), bus.getMessage());
        mm.release(CTX);
        small.identity().decRef(CTX);
    }

    @Test
    void populateAndEagerLockBackPagesAtMmap() throws Exception {
        MemoryManager mm = mm();
        mm.mmap(CTX, MMapOpts.builder().length(8 * P).isPrivate(true).platformEffect(MMapPlatformEffect.POPULATE).build());
        assertEquals(8 * P, mm.rss(), "populated");
        mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).mlockMode(MLockMode.EAGER).build());
        assertEquals(12 * P, mm.rss(), "eagerly locked pages are populated");
        mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        assertEquals(12 * P, mm.rss(), "the default effect backs nothing before first touch");
        mm.release(CTX);
    }

    @Test
    void requirePlatformEffectUndoesTheMmapWhenPopulationFails() throws Exception {
        MemoryManager mm = mm();
        Backing small = anon.create(CTX, new BackingRequest.Anonymous(P));
        String before = mm.maps(CTX);
        MemmapException e = assertThrows(MemmapException.class, () -> mm.mmap(CTX, MMapOpts.builder().length(2 * P)
                .mappable(small.mappable()).mappingIdentity(small.identity()).platformEffect(MMapPlatformEffect.POPULATE)
                .requirePlatformEffect(true).build()));
        assertEquals(Errno.EFAULT, e.errno(), "the BusError past the end, as a system call sees it");
        assertEquals(before, mm.maps(CTX), "the mapping was removed again");
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(small.mappable()).mappingIdentity(small.identity())
                .platformEffect(MMapPlatformEffect.POPULATE).build());
        assertTrue(mm.maps(CTX).contains(Long.toHexString(a)), "without requirePlatformEffect population errors are ignored");
        mm.release(CTX);
        small.identity().decRef(CTX);
    }

    @Test
    void truncatingAMappedFileIsSeenThroughTheAddressSpace() throws Exception {
        Path f = Files.write(dir.resolve("t"), new byte[(int) (4 * P)]);
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        FdMappable file = new FdMappableCache().get(fd, Posix.fstat(fd), f.toString(), true, true, true);
        MemoryManager shared = mm();
        MemoryManager priv = mm();
        long s = shared.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file).mappingIdentity(file).build());
        long p = priv.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file).mappingIdentity(file).isPrivate(true).build());
        assertEquals(IoResult.ok(4), priv.write(CTX, p + 2 * P, MemorySegment.ofArray("COW!".getBytes())));
        assertEquals(IoResult.ok(4), shared.read(CTX, s + 3 * P, MemorySegment.ofArray(new byte[4])));
        file.setSize(CTX, P);
        IoResult r = shared.read(CTX, s + 3 * P, MemorySegment.ofArray(new byte[4]));
        assertEquals(0, r.n());
        assertInstanceOf(BusError.class, r.error(), "past the new end");
        assertInstanceOf(BusError.class, priv.read(CTX, p + 2 * P, MemorySegment.ofArray(new byte[4])).error(),
                "truncation discards private copies too (InvalidatePrivate)");
        assertEquals(FaultException.Signal.SIGBUS, assertThrows(FaultException.class, () -> shared.fault(CTX, s + 2 * P, AccessType.READ)).signal());
        assertEquals(IoResult.ok(4), shared.read(CTX, s, MemorySegment.ofArray(new byte[4])), "before the end is fine");
        shared.release(CTX);
        priv.release(CTX);
        file.decRef(CTX);
    }

    @Test
    void badInputOnEveryCallLeavesTheAddressSpaceUnchanged() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        String before = mm.maps(CTX);
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.munmap(CTX, a + 3, P)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.mprotect(CTX, a + 3, P, AccessType.READ)).errno());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.mprotect(CTX, a, -1L, AccessType.READ)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.madvise(CTX, a + 3, P, MAdvice.DONTNEED)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.madvise(CTX, a, -1L, MAdvice.DONTFORK)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.msync(CTX, a + 3, P, true, false)).errno());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.msync(CTX, a, -1L, true, false)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.mlock(CTX, -P, 2 * P, MLockMode.LAZY)).errno());
        assertEquals(Errno.EFAULT, mm.read(CTX, -2L, MemorySegment.ofArray(new byte[4])).error(), "a range that wraps");
        assertEquals(before, mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
    }
}
