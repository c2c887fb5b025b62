package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.provider.AddressSpaces;

/** brk, stacks and mincore through the AddressSpaces service inside Felix (the kernel oracle compares them with Linux). */
class AddressSpaceCallsTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    @Test
    void theHeapAStackAndResidency() throws Exception {
        AddressSpace as = Framework.space(Framework.await(AddressSpaces.class, null));
        long heap = 0x5555_0000_0000L;
        as.brkSetup(CTX, heap);
        assertEquals(heap + 2 * P + 5, as.brk(CTX, heap + 2 * P + 5));
        assertEquals(new AddrRange(heap, heap + 2 * P + 5), as.heap());
        assertTrue(as.maps(CTX).contains("[heap]"), as.maps(CTX));
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> as.brk(CTX, heap - P)).errno());

        long top = 0x6000_0000_0000L;
        long s = as.mmap(CTX, MMapOpts.builder().addr(top - P).fixed(true).unmap(true).length(P).isPrivate(true).growsDown(true).build());
        assertEquals(IoResult.ok(8), as.write(CTX, s - 4 * P, MemorySegment.ofArray(new long[] {9})), "the stack grows down to the write");
        assertTrue(as.maps(CTX).contains(Long.toHexString(s - 4 * P) + "-" + Long.toHexString(top)), as.maps(CTX));
        as.mprotect(CTX, s, P, AccessType.READ, true);
        assertTrue(as.maps(CTX).contains(Long.toHexString(s - 4 * P) + "-" + Long.toHexString(s + P) + " r--p"), as.maps(CTX));

        long a = as.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        assertArrayEquals(new byte[4], as.mincore(CTX, a, 4 * P));
        as.write(CTX, a, MemorySegment.ofArray(new byte[1]));
        assertEquals(1, as.mincore(CTX, a, 4 * P)[0]);
        as.release(CTX);
    }
}
