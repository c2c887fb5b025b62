package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.BusError;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.posix.FdMappable;
import memmap.posix.Posix;

/**
 * The software TLB and the lock-free read path: translations stay cached across page faults
 * and full-path copies, are never trusted after a change, a host file truncated behind
 * memmap's back faults through the TLB as a value, and a lock-free read never returns what
 * memory held before a change that completed before the read began.
 */
class TlbTest extends TwoAnonymousProviders {
    static final long HUGE = 2L << 20;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @TempDir
    Path dir;

    MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    static MemorySegment eight(long v) {
        MemorySegment m = Arena.ofAuto().allocate(8, 8);
        m.set(LONG, 0, v);
        return m;
    }

    /** Whether {@code [addr, addr + 8)} would be served by the TLB now. */
    static boolean cached(MemoryManager mm, long addr) {
        return mm.pmas.tlb.lookup(addr, 8, mm.pmas.version()) != null;
    }

    @Test
    void faultsAndFullPathCopiesKeepOtherTranslationsCached() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * HUGE).isPrivate(true).build());
        assertEquals(IoResult.ok(8), mm.write(CTX, a, eight(1)));
        assertTrue(cached(mm, a), "the first write's Block is remembered");
        // A fault on fresh memory elsewhere adds pmas and changes none: the first entry stays.
        assertEquals(IoResult.ok(8), mm.write(CTX, a + 5 * HUGE, eight(2)));
        assertTrue(cached(mm, a), "adding pmas leaves the TLB");
        assertTrue(cached(mm, a + 5 * HUGE));
        // A copy spanning two Blocks takes the full path and leaves both cached.
        MemorySegment two = Arena.ofAuto().allocate(16);
        assertEquals(IoResult.ok(16), mm.read(CTX, a + HUGE - 8, two));
        assertTrue(cached(mm, a));
        mm.checkInvariants();
        // A change to an existing pma retires everything.
        mm.mprotect(CTX, a + 7 * HUGE, P, AccessType.READ);
        assertFalse(cached(mm, a), "mprotect elsewhere retires the TLB (conservatively)");
        assertEquals(1, readLong(mm, a));
        mm.release(CTX);
    }

    @Test
    void aWriteNeverGoesThroughAnEntryWithoutWrite() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(HUGE).isPrivate(true).build());
        assertEquals(IoResult.ok(8), mm.write(CTX, a, eight(7)));
        MemoryManager child = mm.fork(CTX);
        assertEquals(7, readLong(child, a));
        assertEquals(7, readLong(mm, a), "the parent reads through a read-only (copy-on-write) entry");
        assertEquals(IoResult.ok(8), mm.write(CTX, a, eight(8)));
        assertEquals(8, readLong(mm, a));
        assertEquals(7, readLong(child, a), "the write broke copy-on-write instead of reaching the shared page");
        child.release(CTX);
        mm.release(CTX);
    }

    @Test
    void aHostFileTruncatedBehindMemmapsBackFaultsThroughTheTlbAsAValue() throws Exception {
        Path f = dir.resolve("t");
        FdMappable file = MemoryManagerIoTestConfig.hostFile(f, 4 * P);
        MemoryManager mm = mm();
        long s = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file).mappingIdentity(file).build());
        assertEquals(IoResult.ok(8), mm.write(CTX, s + 3 * P, eight(42)));
        assertEquals(42, readLong(mm, s + 3 * P));
        assertTrue(cached(mm, s + 3 * P), "the file's Block is in the TLB");
        int other = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        Posix.ftruncate(other, P); // behind memmap's back: no invalidation, the entry stays
        Posix.close(other);
        assertTrue(cached(mm, s + 3 * P));
        MemorySegment dst = Arena.ofAuto().allocate(8);
        for (int i = 0; i < 50; i++) { // the fault is a value every time, never an error thrown later
            IoResult r = mm.read(CTX, s + 3 * P, dst);
            assertEquals(0, r.n());
            assertInstanceOf(BusError.class, r.error(), "past the new end");
            IoResult w = mm.write(CTX, s + 2 * P + 8, eight(i));
            assertEquals(0, w.n());
            assertInstanceOf(BusError.class, w.error(), "a write past the new end");
        }
        assertEquals(IoResult.ok(8), mm.read(CTX, s, dst), "before the end is fine");
        mm.release(CTX);
        file.decRef(CTX);
    }

    /**
     * Lock-free reads against a thread that replaces the mapping (MAP_FIXED, a new generation
     * each time) and toggles PROT_NONE: a read that began after generation g was complete
     * never sees an older one, and a read that began and ended while PROT_NONE held (begun
     * after it completed, ended before PROT_READ was even started) never succeeds. Bounded by
     * the writer's program, not by time; the readers stop when it is done.
     */
    @Test
    void aLockFreeReadNeverSeesMemoryFromBeforeACompletedChange() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        AtomicLong completedGeneration = new AtomicLong();
        AtomicLong noneCompleted = new AtomicLong(); // the k of the last mprotect(NONE) done
        AtomicLong readStarted = new AtomicLong(); // the k of the last mprotect(READ) begun
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicLong reads = new AtomicLong();
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread r = new Thread(() -> {
                MemorySegment dst = Arena.ofAuto().allocate(8);
                while (!done.get() && failures.isEmpty()) {
                    long g0 = completedGeneration.get();
                    long none0 = noneCompleted.get();
                    long read0 = readStarted.get();
                    IoResult res = mm.read(CTX, a + P, dst);
                    long read1 = readStarted.get();
                    reads.incrementAndGet();
                    if (res.isOk()) {
                        long v = dst.get(LONG, 0);
                        if (v != 0 && v < g0) {
                            failures.add("read generation " + v + " after generation " + g0 + " was complete");
                        }
                        if (none0 > read0 && read1 == read0) {
                            failures.add("read succeeded while PROT_NONE held (none " + none0 + ", read " + read0 + ")");
                        }
                    }
                }
            }, "tlb-reader-" + t);
            readers.add(r);
            r.start();
        }
        SplittableRandom rnd = new SplittableRandom(14);
        long k = 0;
        for (long g = 1; g <= 3000 && failures.isEmpty(); g++) {
            if (rnd.nextInt(4) == 0) {
                k++;
                mm.mprotect(CTX, a, 4 * P, AccessType.NO_ACCESS);
                noneCompleted.set(k);
                Thread.yield();
                readStarted.set(k);
                mm.mprotect(CTX, a, 4 * P, AccessType.READ_WRITE);
            }
            mm.mmap(CTX, MMapOpts.builder().addr(a).fixed(true).unmap(true).length(4 * P).isPrivate(true).build());
            assertEquals(IoResult.ok(8), mm.write(CTX, a + P, eight(g)));
            completedGeneration.set(g);
        }
        done.set(true);
        for (Thread r : readers) {
            r.join();
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertTrue(reads.get() > 0);
        mm.checkInvariants();
        mm.release(CTX);
    }

    /**
     * Lock-free writes against mprotect: once mprotect(PROT_READ) has returned, no write of a
     * writer that was racing it lands (the TLB shootdown drained it or turned it away), for many
     * rounds; the writer's refusals are EFAULT, never an exception. Bounded by rounds, not time.
     */
    @Test
    void noFastWriteLandsAfterAChangeThatTookWriteAway() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong attempts = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        Thread writer = new Thread(() -> {
            MemorySegment src = Arena.ofAuto().allocate(8);
            for (long i = 1; !stop.get(); i++) {
                src.set(LONG, 0, i);
                IoResult r = mm.write(CTX, a + P, src);
                if (r.error() != null && !r.error().toErrno().equals(Errno.EFAULT)) {
                    failures.add("write " + i + ": " + r);
                }
                attempts.incrementAndGet();
            }
        }, "tlb-writer");
        writer.start();
        try {
            for (int round = 0; round < 300 && failures.isEmpty(); round++) {
                mm.mprotect(CTX, a, 4 * P, AccessType.READ_WRITE);
                long seen = attempts.get();
                while (attempts.get() < seen + 20) {
                    Thread.onSpinWait(); // let some writes through the TLB
                }
                mm.mprotect(CTX, a, 4 * P, AccessType.READ);
                long v1 = readLong(mm, a + P);
                seen = attempts.get();
                while (attempts.get() < seen + 20) {
                    Thread.onSpinWait(); // the writer keeps trying, refused
                }
                assertEquals(v1, readLong(mm, a + P), "round " + round + ": a write landed after mprotect(PROT_READ) returned");
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        mm.checkInvariants();
        mm.release(CTX);
    }

    static long readLong(MemoryManager mm, long addr) {
        MemorySegment dst = Arena.ofAuto().allocate(8);
        IoResult r = mm.read(CTX, addr, dst);
        assertEquals(IoResult.ok(8), r, "read at " + Long.toHexString(addr));
        return dst.get(LONG, 0);
    }
}
