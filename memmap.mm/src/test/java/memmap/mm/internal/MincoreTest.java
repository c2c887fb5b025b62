package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import memmap.api.Errno;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;

/** mincore: residency per page, Linux's argument checks, a hole is ENOMEM (the kernel oracle compares the rest). */
class MincoreTest extends TwoAnonymousProviders {
    @Test
    void anonymousPagesAreResidentOnceBackedAndBadInputIsRefused() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        assertArrayEquals(new byte[4], mm.mincore(CTX, a, 4 * P), "never touched: nothing resident");
        mm.write(CTX, a + P, MemorySegment.ofArray(new byte[1]));
        byte[] v = mm.mincore(CTX, a, 4 * P - 1);
        assertEquals(4, v.length, "the length is rounded up to whole pages");
        assertEquals(1, v[1], "the written page");
        assertArrayEquals(new byte[0], mm.mincore(CTX, a, 0));
        MemmapException unaligned = assertThrows(MemmapException.class, () -> mm.mincore(CTX, a + 1, P));
        assertEquals(Errno.EINVAL, unaligned.errno());
        assertTrue(unaligned.getMessage().contains(Long.toHexString(a + 1)), unaligned.getMessage());
        mm.munmap(CTX, a + 2 * P, P);
        MemmapException hole = assertThrows(MemmapException.class, () -> mm.mincore(CTX, a, 4 * P));
        assertEquals(Errno.ENOMEM, hole.errno());
        assertTrue(hole.getMessage().contains(Long.toHexString(a + 2 * P)), hole.getMessage());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.mincore(CTX, a, -P)).errno());
        mm.release(CTX);
    }
}
