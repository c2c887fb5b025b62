package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.MRemapMove;
import memmap.mm.internal.MemoryManagerTest.Recording;

/** mremap: every cell of the spec's matrix, the Mappable calls in order, data moving with the mapping. */
class MremapTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final long BASE = 0x4000_0000L;

    static MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, MemoryManagerTest.MF);
    }

    static long map(MemoryManager mm, Recording r, long addr, long len, long off, boolean shared) throws MemmapException {
        return mm.mmap(CTX, MemoryManagerTest.file(r, len, off, shared).addr(addr).fixed(true).build());
    }

    static Errno errno(MemoryManagerCallsTest.Executable e) {
        return assertThrows(MemmapException.class, e::run).errno();
    }

    @Test
    void growInPlaceAddsAFreshMappingForTheExtension() throws Exception {
        MemoryManager mm = mm();
        Recording r = new Recording("/f");
        map(mm, r, BASE, 2 * P, 0x10 * P, true);
        assertEquals(BASE, mm.mremap(CTX, BASE, 2 * P, 5 * P, MRemapMove.NO_MOVE, 0));
        assertEquals(List.of("add [0x40000000, 0x40002000) @10000 w", "add [0x40002000, 0x40005000) @12000 w"), r.calls);
        assertEquals(2, mm.maps(CTX).lines().count(), "the extension merges with the old vma");
        assertEquals(2, r.refs);
        mm.checkInvariants();
    }

    @Test
    void noMoveFailsWhereTheExtensionIsTakenAndMayMoveMovesInstead() throws Exception {
        MemoryManager mm = mm();
        Recording r = new Recording("/f");
        Recording blocker = new Recording("/b");
        map(mm, r, BASE, 2 * P, 0, true);
        map(mm, blocker, BASE + 2 * P, P, 0, true);
        assertEquals(Errno.ENOMEM, errno(() -> mm.mremap(CTX, BASE, 2 * P, 4 * P, MRemapMove.NO_MOVE, 0)));
        r.calls.clear();
        long moved = mm.mremap(CTX, BASE, 2 * P, 4 * P, MRemapMove.MAY_MOVE, 0);
        assertNotEquals(BASE, moved);
        assertEquals(List.of("copy [0x40000000, 0x40002000) -> [" + h(moved) + ", " + h(moved + 4 * P) + ")",
                "remove [0x40000000, 0x40002000) @0 w"), r.calls, "CopyMapping, then RemoveMapping of the old range");
        assertEquals(2, r.refs, "the vma's reference moved with it");
        mm.checkInvariants();
    }

    @Test
    void mustMoveUnmapsTheDestinationAndCarriesThePages() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).addr(BASE).fixed(true).build());
        mm.write(CTX, a + P, MemorySegment.ofArray("payload".getBytes(StandardCharsets.US_ASCII)));
        Recording there = new Recording("/there");
        map(mm, there, 0x5000_0000L, P, 0, true);
        long rss = mm.rss();
        assertEquals(0x5000_0000L, mm.mremap(CTX, a, 4 * P, 4 * P, MRemapMove.MUST_MOVE, 0x5000_0000L));
        assertEquals(List.of("add [0x50000000, 0x50001000) @0 w", "remove [0x50000000, 0x50001000) @0 w"), there.calls,
                "the destination was unmapped first");
        byte[] b = new byte[7];
        assertEquals(IoResult.ok(7), mm.read(CTX, 0x5000_0000L + P, MemorySegment.ofArray(b)));
        assertEquals("payload", new String(b, StandardCharsets.US_ASCII), "private pages moved with the mapping");
        assertEquals(rss, mm.rss(), "no RSS change for a move");
        assertEquals(Errno.EFAULT, mm.read(CTX, a, MemorySegment.ofArray(b)).error(), "the old range is gone");
        mm.checkInvariants();
    }

    @Test
    void shrinkInPlaceAndShrinkThenMove() throws Exception {
        MemoryManager mm = mm();
        Recording r = new Recording("/f");
        map(mm, r, BASE, 4 * P, 0, false);
        assertEquals(BASE, mm.mremap(CTX, BASE, 4 * P, P, MRemapMove.MAY_MOVE, 0));
        assertEquals("remove [0x40001000, 0x40004000) @1000", r.calls.get(1));
        r.calls.clear();
        Recording s = new Recording("/g");
        map(mm, s, 0x4800_0000L, 4 * P, 0, false);
        assertEquals(0x4900_0000L, mm.mremap(CTX, 0x4800_0000L, 4 * P, 2 * P, MRemapMove.MUST_MOVE, 0x4900_0000L));
        assertEquals(List.of("add [0x48000000, 0x48004000) @0", "remove [0x48002000, 0x48004000) @2000",
                "copy [0x48000000, 0x48002000) -> [0x49000000, 0x49002000)", "remove [0x48000000, 0x48002000) @0"), s.calls);
        mm.checkInvariants();
    }

    @Test
    void anOldSizeOfZeroCopiesWithCopyMappingOnly() throws Exception {
        MemoryManager mm = mm();
        Recording r = new Recording("/f");
        map(mm, r, BASE, 2 * P, 0x20 * P, true);
        r.calls.clear();
        long copy = mm.mremap(CTX, BASE, 0, 2 * P, MRemapMove.MAY_MOVE, 0);
        assertEquals(List.of("copy [0x40000000, 0x40000000) -> [" + h(copy) + ", " + h(copy + 2 * P) + ")"), r.calls,
                "no AddMapping");
        assertEquals(3, r.refs, "both vmas hold the identity");
        assertTrue(mm.maps(CTX).contains("00020000"), "the copy maps the same offsets");
        assertEquals(Errno.ENOMEM, errno(() -> mm.mremap(CTX, BASE, 0, P, MRemapMove.NO_MOVE, 0)));
        mm.checkInvariants();
    }

    @Test
    void badInputChangesNothing() throws Exception {
        MemoryManager mm = mm();
        Recording r = new Recording("/f");
        map(mm, r, BASE, 2 * P, 0, true);
        map(mm, new Recording("/n"), BASE + 2 * P, P, 0, true);
        String before = mm.maps(CTX);
        assertEquals(Errno.EINVAL, errno(() -> mm.mremap(CTX, BASE + 1, P, 2 * P, MRemapMove.MAY_MOVE, 0)));
        assertEquals(Errno.EINVAL, errno(() -> mm.mremap(CTX, BASE, P, 0, MRemapMove.MAY_MOVE, 0)));
        assertEquals(Errno.EFAULT, errno(() -> mm.mremap(CTX, BASE + 0x100_0000L, P, 2 * P, MRemapMove.MAY_MOVE, 0)));
        assertEquals(Errno.EFAULT, errno(() -> mm.mremap(CTX, BASE, 3 * P, 4 * P, MRemapMove.NO_MOVE, 0)), "spans two vmas");
        assertEquals(Errno.EINVAL, errno(() -> mm.mremap(CTX, BASE, 2 * P, 2 * P, MRemapMove.MUST_MOVE, BASE + P)), "overlap");
        assertEquals(Errno.EINVAL, errno(() -> mm.mremap(CTX, BASE, 2 * P, 2 * P, MRemapMove.MUST_MOVE, 0x5000_0001L)));
        assertEquals(before, mm.maps(CTX));
        assertEquals(BASE, mm.mremap(CTX, BASE, 2 * P, 2 * P, MRemapMove.NO_MOVE, 0), "same size: nothing to do");
        mm.checkInvariants();
    }

    static String h(long v) {
        return "0x" + Long.toHexString(v);
    }
}
