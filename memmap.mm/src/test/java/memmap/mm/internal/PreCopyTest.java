package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;

/**
 * The hot swap's pre-copy with real providers on real memfds: only what exists is copied,
 * writers keep running and lose nothing, forks made during the copy are caught, a copy that
 * fails leaves the backing working where it was.
 */
class PreCopyTest extends TwoAnonymousProviders {
    @Test
    void aSparseMappingCostsWhatWasTouched() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long len = 256L << 20;
        long a = mm.mmap(CTX, MMapOpts.builder().length(len).build());
        Random r = new Random(7);
        long[] pages = r.longs(len / P / 100, 0, len / P).distinct().toArray();
        for (long p : pages) {
            put(mm, a + p * P, p + 1);
        }
        long touched = anon1.usage().allocatedBytes();
        assertTrue(touched < len / 10, "1% of the pages written, fill-ahead included: " + touched);
        current.set(anon2);
        ProviderSwap.Result res = swap.migrate(CTX, anon2);
        assertEquals(1, res.backings());
        assertEquals(touched, res.bytes(), "only the pages that existed were copied");
        assertEquals(touched, anon2.usage().allocatedBytes(), "an untouched page stays untouched");
        assertTrue(mf2.usage().committed() <= touched + (2L << 20), "committed " + mf2.usage().committed() + " for " + touched);
        assertEquals(0, anon1.usage().liveBackings(), "the old provider holds nothing");
        assertEquals(0, mf1.usage().allocated());
        for (long p : pages) {
            assertEquals(p + 1, get(mm, a + p * P));
        }
        mm.release(CTX);
    }

    @Test
    void writersKeepWritingThroughTheSwapAndLoseNothing() throws Exception {
        int mappings = 600;
        int pagesEach = 16;
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long[] at = new long[mappings];
        for (int i = 0; i < mappings; i++) {
            at[i] = mm.mmap(CTX, MMapOpts.builder().length(pagesEach * P).build());
            put(mm, at[i], 1); // every backing exists before the swap
        }
        int writers = 4;
        long[][] last = new long[mappings][pagesEach];
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong writes = new AtomicLong();
        CountDownLatch running = new CountDownLatch(writers);
        List<Thread> ts = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int id = w;
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    Random r = new Random(id);
                    for (long v = 2; !stop.get(); v++) {
                        int m = writers * r.nextInt(mappings / writers) + id;
                        int p = r.nextInt(pagesEach);
                        put(mm, at[m] + p * P + 8 * id, v);
                        last[m][p] = v;
                        if (v == 1000) {
                            running.countDown();
                        }
                        writes.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                    running.countDown();
                }
            }));
        }
        running.await();
        current.set(anon2);
        // Writers run while the pages are copied: once round 0 is done, the migration waits (in
        // its hook, holding no lock) for 1,000 more writes. With every accessor stopped during the
        // migration, as before this protocol, none would come (bounded: a failure, not a hang).
        java.util.concurrent.atomic.AtomicBoolean wroteDuringCopy = new java.util.concurrent.atomic.AtomicBoolean();
        swap.phaseHook = phase -> {
            if (phase == PreCopy.Phase.ROUND_0_COPIED) {
                long from = writes.get();
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (writes.get() < from + 1000 && System.nanoTime() < deadline && failure.get() == null) {
                    Thread.onSpinWait();
                }
                wroteDuringCopy.set(writes.get() >= from + 1000);
            }
        };
        ProviderSwap.Result res = swap.migrate(CTX, anon2);
        stop.set(true); // what was written during the swap must be there, not overwritten after it
        swap.phaseHook = null;

        for (Thread t : ts) {
            t.join();
        }
        assertNull(failure.get());
        assertEquals(mappings, res.backings(), res.toString());
        assertEquals(mappings, res.vmas());
        assertTrue(res.rounds() >= 1, res.toString());
        assertTrue(res.stops() >= mappings / PreCopy.BATCH_BACKINGS, "switched in batches: " + res);
        assertTrue(wroteDuringCopy.get(), "the writers kept writing while the pages were copied");
        for (int m = 0; m < mappings; m++) {
            for (int p = 0; p < pagesEach; p++) {
                if (last[m][p] != 0) {
                    assertEquals(last[m][p], get(mm, at[m] + p * P + 8 * (m % writers)), "mapping " + m + " page " + p);
                }
            }
        }
        assertFalse(mm.pmas.dirty.tracked(), "tracking ends with the swap");
        assertEquals(0, anon1.usage().liveBackings());
        mm.checkInvariants();
        mm.release(CTX);
    }

    @Test
    void aForkMadeDuringTheCopyWritesIntoWhatMoves() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long len = 64L << 20;
        long a = mm.mmap(CTX, MMapOpts.builder().length(len).build()); // shared: a child writes into the same memory
        for (long off = 0; off < len; off += P) {
            put(mm, a + off, off); // all of it exists: round 0 takes a while
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong lastChildWrite = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch forking = new CountDownLatch(1);
        Thread forker = Thread.ofPlatform().start(() -> {
            try {
                for (long v = 1; !stop.get(); v++) {
                    MemoryManager child = mm.fork(CTX);
                    put(child, a + (v % 1024) * P, -v);
                    lastChildWrite.set(v);
                    child.release(CTX);
                    forking.countDown();
                }
            } catch (Throwable t) {
                failure.set(t);
                forking.countDown();
            }
        });
        forking.await();
        current.set(anon2);
        ProviderSwap.Result res = swap.migrate(CTX, anon2);
        stop.set(true);
        forker.join();

        assertNull(failure.get());
        assertEquals(1, res.backings(), res.toString());
        long last = lastChildWrite.get();
        for (long v = Math.max(1, last - 1023); v <= last; v++) {
            assertEquals(-v, get(mm, a + (v % 1024) * P), "the children's writes, through the moved backing");
        }
        for (long off = 1024 * P; off < len; off += 97 * P) {
            assertEquals(off, get(mm, a + off));
        }
        assertEquals(0, anon1.usage().liveBackings());
        mm.release(CTX);
    }

    /**
     * The protocol's two windows, hit on purpose (the concurrent tests hit them by chance): a
     * write after round 0 copied its page, and one after the last round — both only in the dirty
     * log — and a fork made during the copy that writes through its own (new) vma.
     */
    @Test
    void writesInEveryWindowOfTheProtocolArrive() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(64 * P).build());
        long b = mm.mmap(CTX, MMapOpts.builder().length(64 * P).build());
        for (long off = 0; off < 64 * P; off += P) {
            put(mm, a + off, 1);
            put(mm, b + off, 1);
        }
        List<MemoryManager> children = new ArrayList<>();
        java.util.Set<PreCopy.Phase> seen = java.util.EnumSet.noneOf(PreCopy.Phase.class);
        swap.phaseHook = phase -> {
            if (!seen.add(phase)) {
                return; // once: a second pass (the fork is a new address space) has nothing to copy
            }
            try {
                switch (phase) {
                    case ROUND_0_COPIED -> {
                        put(mm, a + 3 * P, 30);
                        MemoryManager child = mm.fork(CTX);
                        children.add(child);
                        put(child, b + 5 * P, 50);
                    }
                    case ROUNDS_DONE -> {
                        put(mm, a + 4 * P, 40);
                        put(children.getFirst(), b + 6 * P, 60);
                        mm.zero(CTX, b + 7 * P, 8);
                    }
                }
            } catch (MemmapException e) {
                throw new AssertionError(e);
            }
        };
        current.set(anon2);
        ProviderSwap.Result res = swap.migrate(CTX, anon2);
        assertEquals(new ProviderSwap.Result(2, 4, 0), res.counts(), "2 backings, in 2 address spaces");
        for (MemoryManager s : List.of(mm, children.getFirst())) {
            assertEquals(30, get(s, a + 3 * P));
            assertEquals(40, get(s, a + 4 * P));
            assertEquals(50, get(s, b + 5 * P));
            assertEquals(60, get(s, b + 6 * P));
            assertEquals(0, get(s, b + 7 * P));
            assertEquals(1, get(s, b + 8 * P));
        }
        assertEquals(0, anon1.usage().liveBackings());
        assertFalse(mm.pmas.dirty.tracked() || children.getFirst().pmas.dirty.tracked());
        children.getFirst().release(CTX);
        mm.release(CTX);
    }

    @Test
    void aCopyThatFailsLeavesTheBackingWorkingWhereItWas() throws Exception {
        MemfdMemoryFile small = new MemfdMemoryFile("precopy-small", 2L << 20, 1L << 20, 0, false);
        try {
            AnonymousProvider tight = new AnonymousProvider(small, MemoryManagerIoTestConfig.config(), Map.of("component.id", 3L));
            MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
            long a = mm.mmap(CTX, MMapOpts.builder().length(4L << 20).build());
            for (long off = 0; off < 4L << 20; off += P) {
                put(mm, a + off, off + 3);
            }
            current.set(tight);
            ProviderSwap.Result res = swap.migrate(CTX, tight);
            assertEquals(new ProviderSwap.Result(0, 0, 1), res.counts(), "4 MiB does not fit in 1 MiB: it stays");
            assertEquals(0, tight.usage().liveBackings(), "the twin is gone");
            assertEquals(0, small.usage().allocated(), "and its pages with it");
            assertEquals(1, anon1.usage().liveBackings());
            for (long off = 0; off < 4L << 20; off += 61 * P) {
                assertEquals(off + 3, get(mm, a + off));
            }
            put(mm, a + P, 42);
            assertEquals(42, get(mm, a + P), "still writable where it is");
            assertFalse(mm.pmas.dirty.tracked());
            mm.checkInvariants();
            mm.release(CTX);
        } finally {
            small.release();
        }
    }
}
