package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

import memmap.api.AddrRange;
import memmap.api.Errno;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.ResourceLimits;

/** brk (gVisor's mm.Brk and BrkSetup): growth maps [heap], shrinking unmaps, every refusal leaves the break where it was. */
class BrkTest extends TwoAnonymousProviders {
    static final long START = 0x5555_0000_0000L;

    @Test
    void theHeapGrowsShrinksAndIsInheritedByAFork() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        mm.brkSetup(CTX, START);
        assertEquals(new AddrRange(START, START), mm.heap());
        assertEquals(START + 100, mm.brk(CTX, START + 100));
        assertTrue(mm.maps(CTX).contains(Long.toHexString(START) + "-" + Long.toHexString(START + P) + " rw-p 00000000 00:00 0"), mm.maps(CTX));
        assertTrue(mm.maps(CTX).contains("[heap]"), mm.maps(CTX));
        put(mm, START + 8, 42);
        assertEquals(START + 3 * P + 1, mm.brk(CTX, START + 3 * P + 1));
        put(mm, START + 3 * P + 8, 43);
        assertEquals(4 * P, mm.usageAS(), "whole pages up to the break");
        MemoryManager child = mm.fork(CTX);
        assertEquals(mm.heap(), child.heap(), "the child has the parent's break");
        assertEquals(42, get(child, START + 8));
        assertEquals(START + P, mm.brk(CTX, START + P));
        assertEquals(P, mm.usageAS(), "shrinking unmapped the pages above the new break");
        assertEquals(42, get(mm, START + 8));
        assertEquals(START + 2 * P, mm.brk(CTX, START + 2 * P));
        assertEquals(0, get(mm, START + P + 8), "grown again: fresh zeroed memory");
        mm.checkInvariants();
        child.release(CTX);
        mm.release(CTX);
    }

    @Test
    void refusalsLeaveTheBreakWhereItWas() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        MemmapException none = assertThrows(MemmapException.class, () -> mm.brk(CTX, START));
        assertEquals(Errno.ENOMEM, none.errno());
        assertTrue(none.getMessage().contains("no heap yet"), none.getMessage());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.brkSetup(CTX, START + 1)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.brkSetup(CTX, 0)).errno());
        mm.brkSetup(CTX, START);
        mm.brk(CTX, START + P);
        String maps = mm.maps(CTX);
        MemmapException below = assertThrows(MemmapException.class, () -> mm.brk(CTX, START - P));
        assertEquals(Errno.EINVAL, below.errno());
        assertTrue(below.getMessage().contains(Long.toHexString(START - P)), below.getMessage());
        MemmapException limit = assertThrows(MemmapException.class,
                () -> mm.brk(CTX.withLimits(new ResourceLimits(ResourceLimits.INFINITY, ResourceLimits.INFINITY, 2 * P, ResourceLimits.INFINITY)),
                        START + 2 * P + 1));
        assertEquals(Errno.ENOMEM, limit.errno());
        assertTrue(limit.getMessage().contains("RLIMIT_DATA"), limit.getMessage());
        mm.mmap(CTX, MMapOpts.builder().addr(START + 4 * P).fixed(true).length(P).isPrivate(true).build());
        maps = mm.maps(CTX);
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.brk(CTX, START + 8 * P)).errno(),
                "growing into another mapping");
        assertEquals(Errno.EFAULT, assertThrows(MemmapException.class, () -> mm.brk(CTX, -1L)).errno());
        assertEquals(new AddrRange(START, START + P), mm.heap(), "every refusal left the break");
        assertEquals(maps, mm.maps(CTX), "and the mappings");
        mm.brkSetup(CTX, START + 64 * P);
        assertFalse(mm.maps(CTX).contains("[heap]"), "a new setup unmaps the old heap");
        mm.checkInvariants();
        mm.release(CTX);
    }
}
