package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import memmap.api.AllocOpts.Direction;
import memmap.api.MMapOpts;
import memmap.api.segment.Segment;

/**
 * The allocation-direction heuristic (spec §4.5; gVisor's 6-row table): the layout's default,
 * then top-down below the last fault and bottom-up above it; and what it is for, a stack
 * faulted downwards gets consecutive pages that merge into one pma.
 */
class AllocationDirectionTest extends TwoAnonymousProviders {
    static final long A = 0x7000_0000_0000L;

    @Test
    void theSixRows() {
        assertEquals(Direction.BOTTOM_UP, PmaFill.direction(0, A, false), "no fault yet, bottom-up layout");
        assertEquals(Direction.TOP_DOWN, PmaFill.direction(0, A, true), "no fault yet, top-down layout");
        assertEquals(Direction.BOTTOM_UP, PmaFill.direction(A, A, false), "the same address again: the default");
        assertEquals(Direction.TOP_DOWN, PmaFill.direction(A, A, true), "the same address again: the default");
        assertEquals(Direction.TOP_DOWN, PmaFill.direction(A, A - P, false), "below the last fault");
        assertEquals(Direction.BOTTOM_UP, PmaFill.direction(A, A + P, true), "above the last fault");
    }

    @Test
    void faultsMovingDownGetPagesThatMergeAndTheHintFollowsTheFault() throws Exception {
        // A memory file of 1 GiB chunks (the default), so that top-down allocations have room below each other.
        memmap.anon.internal.MemfdMemoryFile big = new memmap.anon.internal.MemfdMemoryFile("direction", 1L << 30, 2L << 30, 0, false);
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64,
                Backings.of(big, MemoryManagerIoTestConfig.anonymous(big)));
        long len = 8L << 20;
        long a = mm.mmap(CTX, MMapOpts.builder().length(len).isPrivate(true).build());
        for (long off = len - (2L << 20); off >= 0; off -= 2L << 20) { // one fault per huge page, downwards
            mm.write(CTX, a + off + 8, MemorySegment.ofArray(new byte[] {1}));
            assertEquals(a + off, lastFault(mm, a), "the hint is the last fault's start (page)");
        }
        assertEquals(1, pmas(mm), "top-down allocations below each other are contiguous in the memory file: one pma");
        mm.checkInvariants();
        mm.release(CTX);
        big.release();
    }

    static long lastFault(MemoryManager mm, long addr) {
        mm.mappingMu.readLock().lock();
        try {
            return mm.vmas.set.findSegment(addr).value().lastFault();
        } finally {
            mm.mappingMu.readLock().unlock();
        }
    }

    static int pmas(MemoryManager mm) {
        mm.mappingMu.readLock().lock();
        mm.activeMu.lock();
        try {
            int n = 0;
            for (Segment<Pma> p = mm.pmas.set.firstSegment(); p != null; p = p.nextSegment()) {
                n++;
            }
            return n;
        } finally {
            mm.activeMu.unlock();
            mm.mappingMu.readLock().unlock();
        }
    }
}
