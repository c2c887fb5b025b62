package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.DirtyTracker;
import memmap.api.Errno;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapException;
import memmap.api.PinnedView;
import memmap.posix.FdMappable;
import memmap.posix.Posix;

/**
 * Pinned views (gVisor's Pin/Unpin with internal mappings) and I/O that ignores permissions,
 * on real memfds and real files: the view and the address space see each other's writes,
 * pages outlive munmap until the view closes, staleness is told before the change (a hot swap
 * loses nothing the holder wrote before its listener returned), fork copies write-pinned
 * pages, dirty tracking counts them, and bad input pins nothing.
 */
class PinnedViewTest extends TwoAnonymousProviders {
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @TempDir
    Path dir;

    MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    static int open(MemoryManager mm) {
        mm.activeMu.lock();
        try {
            return mm.pins.openLocked();
        } finally {
            mm.activeMu.unlock();
        }
    }

    @Test
    void theViewAndTheAddressSpaceSeeEachOthersWrites() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        put(mm, a + P, 11);
        try (PinnedView v = mm.pin(CTX, a + 8, 3 * P, AccessType.READ_WRITE, false)) {
            assertEquals(new AddrRange(a + 8, a + 8 + 3 * P), v.range());
            long covered = 0;
            long at = a + 8;
            for (PinnedView.Piece p : v.pieces()) {
                assertEquals(at, p.range().start(), "pieces in order, without gaps");
                assertEquals(p.range().length(), p.segment().byteSize());
                at = p.range().end();
                covered += p.range().length();
            }
            assertEquals(3 * P, covered, "the pieces cover the range exactly");
            assertEquals(11, v.segment(a + P, 8).get(LONG, 0), "the view shows the address space's write");
            v.segment(a + 2 * P, 8).set(LONG, 0, 22);
            assertEquals(22, get(mm, a + 2 * P), "the address space sees the view's write");
            assertFalse(v.isStale());
            IllegalArgumentException out = assertThrows(IllegalArgumentException.class, () -> v.segment(a, 8));
            assertTrue(out.getMessage().contains(Long.toHexString(a)), out.getMessage());
            assertEquals(Errno.EFAULT, v.read(a, MemorySegment.ofArray(new byte[8])).error(), "outside the view");
        }
        assertEquals(0, open(mm));
        mm.checkInvariants();
        mm.release(CTX);
    }

    @Test
    void pagesOutliveMunmapUntilTheViewClosesAndTheViewIsToldFirst() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        put(mm, a, 5);
        PinnedView v = mm.pin(CTX, a, 2 * P, AccessType.READ_WRITE, false);
        List<AddrRange> told = new CopyOnWriteArrayList<>();
        List<Long> seenWhenTold = new ArrayList<>();
        v.onStale(r -> {
            told.add(r);
            seenWhenTold.add(v.segment(a, 8).get(LONG, 0)); // the holder's last look, before the change
        });
        long held = mf1.usage().allocated();
        mm.munmap(CTX, a, 2 * P);
        assertEquals(List.of(new AddrRange(a, a + 2 * P)), told);
        assertEquals(List.of(5L), seenWhenTold);
        assertTrue(v.isStale());
        assertEquals(Errno.EFAULT, mm.read(CTX, a, MemorySegment.ofArray(new byte[8])).error(), "unmapped");
        assertEquals(5, v.segment(a, 8).get(LONG, 0), "the page is still there for the holder");
        v.segment(a, 8).set(LONG, 0, 6);
        assertEquals(held, mf1.usage().allocated(), "the pinned pages are not freed");
        MemorySegment seg = v.segment(a, 8);
        v.close();
        v.close();
        assertThrows(IllegalStateException.class, () -> seg.get(LONG, 0), "no access after close");
        assertEquals(Errno.EBADF, v.read(a, MemorySegment.ofArray(new byte[8])).error());
        assertEquals(0, mf1.usage().allocated(), "closing the view freed the pages");
        mm.release(CTX);
    }

    @Test
    void aListenerMayCloseItsViewAndTheOthersAreStillTold() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        PinnedView first = mm.pin(CTX, a, P, AccessType.READ, false);
        PinnedView second = mm.pin(CTX, a, 2 * P, AccessType.READ, false);
        first.onStale(r -> first.close()); // the holder unpins as soon as it hears
        List<AddrRange> told = new CopyOnWriteArrayList<>();
        second.onStale(told::add);
        mm.munmap(CTX, a, 2 * P);
        assertEquals(List.of(new AddrRange(a, a + 2 * P)), told, "the view after the closed one is told too");
        assertEquals(1, open(mm));
        assertEquals("dst = null", assertThrows(NullPointerException.class, () -> second.read(a, null)).getMessage());
        second.close();
        assertEquals(0, open(mm));
        assertEquals(0, mf1.usage().allocated());
        mm.release(CTX);
    }

    @Test
    void forkCopiesWritePinnedPagesAndKeepsTheViewLive() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        for (int i = 0; i < 4; i++) {
            put(mm, a + i * P, 100 + i);
        }
        try (PinnedView v = mm.pin(CTX, a + P, 2 * P, AccessType.WRITE, false)) {
            MemoryManager child = mm.fork(CTX);
            assertFalse(v.isStale(), "fork leaves a write view live");
            v.segment(a + P, 8).set(LONG, 0, 7);
            assertEquals(7, get(mm, a + P), "the parent sees its view's write");
            assertEquals(101, get(child, a + P), "the child has its own copy of the pinned page");
            put(child, a + 2 * P, 9);
            assertEquals(9, get(child, a + 2 * P));
            assertEquals(102, v.segment(a + 2 * P, 8).get(LONG, 0), "nor does the child's write reach the view");
            put(mm, a, 1);
            assertEquals(100, get(child, a), "unpinned pages are still copy-on-write");
            mm.checkInvariants();
            child.checkInvariants();
            child.release(CTX);
        }
        mm.release(CTX);
    }

    @Test
    void copyOnWriteAndMremapMakeViewsStale() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        put(mm, a, 3);
        MemoryManager child = mm.fork(CTX);
        PinnedView r = mm.pin(CTX, a, P, AccessType.READ, false);
        assertThrows(IllegalArgumentException.class, () -> r.segment(a, 8).set(LONG, 0, 1), "a read view is read-only");
        List<AddrRange> told = new CopyOnWriteArrayList<>();
        r.onStale(told::add);
        put(mm, a, 4); // breaks copy-on-write: the parent now maps another page
        assertEquals(List.of(new AddrRange(a, a + P)), told);
        assertEquals(3, r.segment(a, 8).get(LONG, 0), "the view still shows the page it pinned");
        r.close();
        PinnedView w = mm.pin(CTX, a + P, P, AccessType.READ_WRITE, false);
        long dest = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        mm.munmap(CTX, dest, 2 * P);
        long moved = mm.mremap(CTX, a, 2 * P, 2 * P, MRemapMove.MUST_MOVE, dest);
        assertEquals(dest, moved);
        assertTrue(w.isStale(), "mremap moved the pinned page away from its address");
        w.close();
        assertEquals(4, get(mm, moved));
        assertEquals(3, get(child, a));
        child.release(CTX);
        mm.release(CTX);
    }

    @Test
    void dirtyTrackingCountsWriteViewsAtEveryCollect() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).isPrivate(true).build());
        mm.zero(CTX, a, 8 * P);
        DirtyTracker t = mm.trackWrites(CTX, new AddrRange(a, a + 8 * P));
        t.collect();
        try (PinnedView v = mm.pin(CTX, a + 2 * P, 2 * P, AccessType.WRITE, false)) {
            assertEquals(List.of(new AddrRange(a + 2 * P, a + 4 * P)), t.collect());
            v.segment(a + 3 * P, 8).set(LONG, 0, 1); // unseen by any fault
            assertEquals(List.of(new AddrRange(a + 2 * P, a + 4 * P)), t.collect(), "still written, collect after collect");
        }
        assertEquals(List.of(new AddrRange(a + 2 * P, a + 4 * P)), t.collect(), "written while it was open, since the last collect");
        assertEquals(List.of(), t.collect(), "closed: no longer written");
        t.close();
        mm.release(CTX);
    }

    @Test
    void aHotSwapTellsTheViewBeforeItCopiesSoTheHoldersLastWriteIsKept() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        put(mm, a + P, 1);
        PinnedView v = mm.pin(CTX, a + P, P, AccessType.READ_WRITE, false);
        v.onStale(r -> v.segment(a + P, 8).set(LONG, 0, 99)); // the holder's last write, as it stops
        assertTrue(swap.migratePrivatePages(CTX, mf2) > 0);
        assertTrue(v.isStale());
        assertEquals(99, get(mm, a + P), "written before the listener returned, so copied");
        v.close();
        assertEquals(0, mf1.usage().allocated(), "the old memory file is empty once the view is closed");
        mm.release(CTX);
    }

    @Test
    void ignoringPermissionsReadsAndWritesWhatTheProtectionRefusesAsFollForceDoes() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        put(mm, a, 8);
        MemoryManager child = mm.fork(CTX);
        mm.mprotect(CTX, a, 2 * P, AccessType.NO_ACCESS);
        MemorySegment eight = MemorySegment.ofArray(new long[1]);
        assertEquals(Errno.EFAULT, mm.read(CTX, a, eight).error(), "PROT_NONE");
        assertEquals(IoResult.ok(8), mm.read(CTX, a, eight, IoOpts.FORCE));
        assertEquals(8, eight.get(LONG, 0));
        eight.set(LONG, 0, 9);
        assertEquals(IoResult.ok(8), mm.write(CTX, a, eight, IoOpts.FORCE));
        assertEquals(Errno.EFAULT, mm.write(CTX, a, eight).error(), "the protection is unchanged");
        assertEquals(8, get(child, a), "the forced write broke copy-on-write");
        mm.mprotect(CTX, a, 2 * P, AccessType.READ);
        assertEquals(9, get(mm, a));
        assertTrue(mm.maps(CTX).contains("r--p"), mm.maps(CTX));
        try (PinnedView v = mm.pin(CTX, a, P, AccessType.WRITE, true)) {
            v.segment(a, 8).set(LONG, 0, 10);
        }
        assertEquals(10, get(mm, a));
        assertEquals(Errno.EFAULT, assertThrows(MemmapException.class, () -> mm.pin(CTX, a, P, AccessType.WRITE, false)).errno());

        Path f = dir.resolve("ro");
        FdMappable file = MemoryManagerIoTestConfig.hostFile(f, P);
        long s = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(file).mappingIdentity(file).perms(AccessType.READ).build());
        IoResult refused = mm.write(CTX, s, eight, IoOpts.FORCE);
        assertEquals(0, refused.n());
        assertEquals(Errno.EFAULT, refused.error(), "Linux refuses a forced write to a shared mapping without write");
        assertEquals(IoResult.ok(8), mm.read(CTX, s, eight, IoOpts.FORCE));
        mm.checkInvariants();
        child.release(CTX);
        mm.release(CTX);
        file.decRef(CTX);
    }

    @Test
    void aTruncatedFileFaultsThroughTheViewAsAValue() throws Exception {
        MemoryManager mm = mm();
        Path f = dir.resolve("t");
        FdMappable file = MemoryManagerIoTestConfig.hostFile(f, 4 * P);
        long s = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file).mappingIdentity(file).build());
        try (PinnedView v = mm.pin(CTX, s, 4 * P, AccessType.READ_WRITE, false)) {
            assertTrue(v.pieces().stream().allMatch(PinnedView.Piece::mayFault), "a host file's pages may fault");
            int other = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
            Posix.ftruncate(other, P); // behind memmap's back
            Posix.close(other);
            IoResult r = v.read(s + 3 * P, MemorySegment.ofArray(new byte[8]));
            assertEquals(0, r.n());
            assertInstanceOf(BusError.class, r.error());
            IoResult w = v.write(s + 2 * P, MemorySegment.ofArray(new byte[8]));
            assertInstanceOf(BusError.class, w.error());
            assertEquals(IoResult.ok(8), v.read(s, MemorySegment.ofArray(new byte[8])), "before the end is fine");
        }
        mm.release(CTX);
        file.decRef(CTX);
    }

    @Test
    void aViewAcrossMappingsAndFilesIsOneSegment() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        Path f = dir.resolve("two");
        FdMappable file = MemoryManagerIoTestConfig.hostFile(f, 2 * P);
        mm.mmap(CTX, MMapOpts.builder().addr(a + 2 * P).fixed(true).unmap(true).length(2 * P).mappable(file).mappingIdentity(file).build());
        put(mm, a + 8, 1);
        put(mm, a + 3 * P, 2);
        try (PinnedView v = mm.pin(CTX, a + 8, 4 * P - 16, AccessType.READ, false)) {
            MemorySegment all = v.segment();
            assertEquals(4 * P - 16, all.byteSize());
            assertEquals(1, all.get(LONG, 0), "byte 0 is the view's first address");
            assertEquals(2, all.get(LONG, 3 * P - 8), "the file's page, side by side with the anonymous ones");
            assertEquals(2, v.pieces().size(), "memory that cannot fault, then a file's that may");
            assertFalse(v.pieces().get(0).mayFault());
            assertTrue(v.pieces().get(1).mayFault());
            assertEquals(a + 2 * P, v.pieces().get(1).range().start());
            assertThrows(IllegalArgumentException.class, () -> all.set(LONG, 0, 5), "read-only");
            put(mm, a + 3 * P, 3);
            assertEquals(3, all.get(LONG, 3 * P - 8), "the same page as the address space's");
        }
        mm.release(CTX);
        file.decRef(CTX);
    }

    @Test
    void badInputPinsNothing() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        mm.zero(CTX, a, 2 * P);
        long allocated = mf1.usage().allocated();
        String maps = mm.maps(CTX);
        MemmapException zero = assertThrows(MemmapException.class, () -> mm.pin(CTX, a, 0, AccessType.READ, false));
        assertEquals(Errno.EINVAL, zero.errno());
        assertTrue(zero.getMessage().contains("length = 0"), zero.getMessage());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.pin(CTX, a, P, AccessType.NO_ACCESS, false)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class,
                () -> mm.pin(CTX, a, P, new AccessType(false, false, true), false)).errno(), "execute alone pins nothing");
        assertEquals("at = null", assertThrows(NullPointerException.class, () -> mm.pin(CTX, a, P, null, false)).getMessage());
        assertEquals("opts = null", assertThrows(NullPointerException.class,
                () -> mm.read(CTX, a, MemorySegment.ofArray(new byte[1]), null)).getMessage());
        assertEquals(Errno.EFAULT, assertThrows(MemmapException.class, () -> mm.pin(CTX, -P, 2 * P, AccessType.READ, false)).errno());
        MemmapException past = assertThrows(MemmapException.class, () -> mm.pin(CTX, a + P, 2 * P, AccessType.READ, false));
        assertEquals(Errno.EFAULT, past.errno(), "the range runs past the mapping");
        assertTrue(past.getMessage().contains(Long.toHexString(a + 2 * P)), past.getMessage());
        assertEquals(0, open(mm));
        assertEquals(allocated, mf1.usage().allocated(), "no page reference leaked");
        assertEquals(maps, mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
        assertEquals(0, mf1.usage().allocated());
    }
}
