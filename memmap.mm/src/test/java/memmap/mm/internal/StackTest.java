package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.Errno;
import memmap.api.FaultException;
import memmap.api.IoOpts;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.ResourceLimits;

/**
 * Stacks (Linux's MAP_GROWSDOWN): a fault or copy below a growsDown mapping grows it down,
 * within the guard gap, RLIMIT_STACK and RLIMIT_AS (ptrace's I/O too, a pin not); mprotect with
 * PROT_GROWSDOWN reaches the mapping's start. The kernel oracle compares the rest with Linux.
 */
class StackTest extends TwoAnonymousProviders {
    static final long TOP = 0x6000_0000_0000L;

    static long stack(MemoryManager mm, long pages) throws MemmapException {
        return mm.mmap(CTX, MMapOpts.builder().addr(TOP - pages * P).fixed(true).unmap(true).length(pages * P).isPrivate(true).growsDown(true).build());
    }

    @Test
    void anAccessBelowGrowsTheStackDown() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long s = stack(mm, 2);
        put(mm, s - 3 * P + 8, 7); // a write three pages below
        assertTrue(mm.maps(CTX).contains(Long.toHexString(s - 3 * P) + "-" + Long.toHexString(TOP) + " rw-p"), mm.maps(CTX));
        assertEquals(7, get(mm, s - 3 * P + 8));
        mm.fault(CTX, s - 5 * P, AccessType.READ); // a fault further down
        assertEquals(7 * P, mm.usageAS());
        mm.checkInvariants();
        mm.release(CTX);
    }

    @Test
    void theGuardGapAndTheLimitsBoundGrowth() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long s = stack(mm, 1);
        long below = s - VmaLayer.GUARD_BYTES - 4 * P;
        mm.mmap(CTX, MMapOpts.builder().addr(below).fixed(true).unmap(true).length(2 * P).isPrivate(true).build());
        // Growing to within the guard gap of the mapping below is refused.
        assertEquals(Errno.EFAULT, mm.read(CTX, below + 2 * P + 8, MemorySegment.ofArray(new byte[8])).error());
        assertEquals(FaultException.Signal.SIGSEGV, assertThrows(FaultException.class,
                () -> mm.fault(CTX, below + 3 * P, AccessType.WRITE)).signal());
        // Growing to the guard's edge is fine.
        put(mm, below + 2 * P + VmaLayer.GUARD_BYTES, 1);
        // A PROT_NONE mapping below does not count (vma_is_accessible).
        MemoryManager other = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long s2 = stack(other, 1);
        other.mmap(CTX, MMapOpts.builder().addr(s2 - 8 * P).fixed(true).unmap(true).length(P).isPrivate(true).perms(AccessType.NO_ACCESS).build());
        put(other, s2 - 6 * P, 2);
        // /proc/pid/mem I/O (IgnorePermissions) grows a stack too, as Linux's does; a pin does not.
        assertEquals(8, other.write(CTX, s2 - 7 * P, MemorySegment.ofArray(new byte[8]), IoOpts.FORCE).n());
        assertEquals(Errno.EFAULT, assertThrows(MemmapException.class, () -> other.pin(CTX, s2 - 7 * P - P, P, AccessType.READ, false)).errno());
        // RLIMIT_STACK bounds the stack's size.
        MemoryManager limited = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long s3 = stack(limited, 1);
        var ctx = CTX.withLimits(new ResourceLimits(ResourceLimits.INFINITY, ResourceLimits.INFINITY, ResourceLimits.INFINITY, 4 * P));
        assertEquals(8, limited.write(ctx, s3 - 3 * P, MemorySegment.ofArray(new byte[8])).n(), "a 4-page stack");
        assertEquals(Errno.EFAULT, limited.write(ctx, s3 - 4 * P, MemorySegment.ofArray(new byte[8])).error(), "a 5th page passes the limit");
        mm.checkInvariants();
        other.checkInvariants();
        mm.release(CTX);
        other.release(CTX);
        limited.release(CTX);
    }

    @Test
    void mprotectGrowsDownReachesTheStacksStart() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long s = stack(mm, 4);
        mm.mprotect(CTX, s + 2 * P, P, AccessType.READ, true);
        assertTrue(mm.maps(CTX).contains(Long.toHexString(s) + "-" + Long.toHexString(s + 3 * P) + " r--p"), mm.maps(CTX));
        long plain = mm.mmap(CTX, MMapOpts.builder().length(2 * P).isPrivate(true).build());
        MemmapException notDown = assertThrows(MemmapException.class, () -> mm.mprotect(CTX, plain, P, AccessType.READ, true));
        assertEquals(Errno.EINVAL, notDown.errno());
        assertTrue(notDown.getMessage().contains("PROT_GROWSDOWN"), notDown.getMessage());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.mprotect(CTX, s - 8 * P, P, AccessType.READ, true)).errno(),
                "the stack starts after the range's end");
        mm.mprotect(CTX, s - 8 * P, 9 * P, AccessType.READ_WRITE, true); // from a hole below: the hole is left alone
        assertTrue(mm.maps(CTX).contains(Long.toHexString(s) + "-" + Long.toHexString(s + P) + " rw-p"), mm.maps(CTX));
        mm.checkInvariants();
        mm.release(CTX);
    }
}
