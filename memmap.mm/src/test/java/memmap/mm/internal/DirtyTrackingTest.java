package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.DirtyTracker;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapException;

/**
 * Dirty tracking against a model: generated programs (seeded, reproducible, shrunk on failure)
 * of mmap, munmap, mprotect, mremap, fork, writes (fast path and slow), zeroes, faults and reads
 * over private and shared anonymous memory, with a tracker over a fixed window. The model is
 * the contract of {@link DirtyTracker}: the set of pages of the window that a successful write
 * reached (from the bytes the write reports done) or that mremap moved into it since the last
 * collect. After every step the invariants are checked; at every collect the tracker's answer
 * must be exactly the model's — a page missing is a lost write for whoever copies live memory,
 * a page too many is a copy wasted.
 */
class DirtyTrackingTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final long BASE = 0x5000_0000L;
    static final int PAGES = 64;
    /** The tracked window: pages [8, 56) of the area programs use. */
    static final AddrRange WINDOW = new AddrRange(BASE + 8 * P, BASE + 56 * P);

    MemfdMemoryFile mf;
    AnonymousProvider anon;
    Backings backings;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("dirty", 2L << 20, 1L << 30, 0, false);
        anon = new AnonymousProvider(mf, MemoryManagerIoTestConfig.config(), Map.of("component.id", 1L));
        backings = Backings.swapping(new ProviderSwap(), () -> mf, () -> List.of(anon), () -> null, () -> null);
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    /** One step of a program. */
    record Step(int op, long a, long b, long c) {
        @Override
        public String toString() {
            String[] names = {"mmapPrivate", "mmapShared", "munmap", "mprotect", "write", "writeAgain", "zero", "fault", "read",
                    "fork+childWrite", "mremap", "collect"};
            return names[op] + "(" + a + ", " + b + ", " + c + ")";
        }
    }

    static List<Step> generate(long seed, int n) {
        Random r = new Random(seed);
        List<Step> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int op = r.nextInt(12);
            long page = r.nextInt(PAGES);
            long len = 1 + r.nextInt(12);
            out.add(new Step(op, page, len, r.nextInt(1 << 20)));
        }
        out.add(new Step(11, 0, 0, 0));
        return out;
    }

    /** Runs {@code program}; returns null if tracker and model agree throughout, else what differed. */
    String run(List<Step> program) throws MemmapException {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        List<MemoryManager> children = new ArrayList<>();
        DirtyTracker t = mm.trackWrites(CTX, WINDOW);
        TreeSet<Long> model = new TreeSet<>();
        try {
            for (int i = 0; i < program.size(); i++) {
                Step s = program.get(i);
                long addr = BASE + s.a * P;
                long len = s.b * P;
                switch (s.op) {
                    case 0, 1 -> {
                        try {
                            mm.mmap(CTX, MMapOpts.builder().addr(addr).length(len).fixed(true).isPrivate(s.op == 0)
                                    .perms(AccessType.READ_WRITE).maxPerms(AccessType.ANY_ACCESS).build());
                        } catch (MemmapException e) {
                            // refused: nothing changed
                        }
                    }
                    case 2 -> mm.munmap(CTX, addr, len);
                    case 3 -> {
                        try {
                            mm.mprotect(CTX, addr, len, s.c % 2 == 0 ? AccessType.READ : AccessType.READ_WRITE);
                        } catch (MemmapException e) {
                            // a hole: what came before changed, as Linux does
                        }
                    }
                    case 4, 5, 6 -> {
                        long at = addr + (s.c % P);
                        long n = Math.min(len, 3 * P);
                        IoResult res = s.op == 6 ? mm.zero(CTX, at, n) : mm.write(CTX, at, MemorySegment.ofArray(new byte[(int) n]).fill((byte) s.c));
                        wrote(model, at, res.n());
                        if (s.op == 5 && res.n() > 0) {
                            // Again: the pages are writable now (the fast path may take it), and still dirty.
                            res = mm.write(CTX, at, MemorySegment.ofArray(new byte[(int) Math.min(8, res.n())]).fill((byte) 7));
                            wrote(model, at, res.n());
                        }
                    }
                    case 7 -> {
                        try {
                            mm.fault(CTX, addr, s.c % 2 == 0 ? AccessType.WRITE : AccessType.READ);
                            if (s.c % 2 == 0) {
                                wrote(model, addr, P); // a write fault makes the page writable: it counts
                            }
                        } catch (memmap.api.FaultException e) {
                            // SIGSEGV: nothing written
                        }
                    }
                    case 8 -> mm.read(CTX, addr, MemorySegment.ofArray(new byte[(int) Math.min(len, 3 * P)]));
                    case 9 -> {
                        MemoryManager child = mm.fork(CTX);
                        children.add(child);
                        child.write(CTX, addr, MemorySegment.ofArray(new byte[64]).fill((byte) 9)); // not the parent's write
                    }
                    case 10 -> {
                        long to = BASE + ((s.c >> 8) % PAGES) * P;
                        try {
                            long dst = mm.mremap(CTX, addr, len, len, MRemapMove.MUST_MOVE, to);
                            for (long p = dst; p < dst + len; p += P) {
                                if (inWindow(p)) {
                                    model.add(p); // moved into the window: its address changed
                                }
                            }
                        } catch (MemmapException e) {
                            // not one mapping, or overlapping: refused
                        }
                    }
                    case 11 -> {
                        TreeSet<Long> got = new TreeSet<>();
                        for (AddrRange r : t.collect()) {
                            assertTrue(r.start() % P == 0 && r.end() % P == 0, "page-aligned: " + r);
                            for (long p = r.start(); p < r.end(); p += P) {
                                got.add(p);
                            }
                        }
                        if (!got.equals(model)) {
                            TreeSet<Long> missing = new TreeSet<>(model);
                            missing.removeAll(got);
                            TreeSet<Long> extra = new TreeSet<>(got);
                            extra.removeAll(model);
                            return "step " + i + ": missing pages " + pages(missing) + ", extra pages " + pages(extra);
                        }
                        model.clear();
                    }
                    default -> throw new AssertionError(s);
                }
                mm.checkInvariants();
            }
            return null;
        } finally {
            t.close();
            children.forEach(c -> c.release(CTX));
            mm.release(CTX);
        }
    }

    static boolean inWindow(long p) {
        return Long.compareUnsigned(p, WINDOW.start()) >= 0 && Long.compareUnsigned(p, WINDOW.end()) < 0;
    }

    static void wrote(TreeSet<Long> model, long at, long n) {
        for (long p = at & -P; n > 0 && p < at + n; p += P) {
            if (inWindow(p)) {
                model.add(p);
            }
        }
    }

    static String pages(TreeSet<Long> s) {
        return s.stream().map(p -> Long.toString((p - BASE) / P)).toList().toString();
    }

    @Test
    void generatedProgramsAgreeWithTheModel() throws MemmapException {
        for (long seed = 1; seed <= 400; seed++) {
            List<Step> program = generate(seed, 80);
            String diff = run(program);
            if (diff != null) {
                List<Step> small = shrink(program);
                fail("seed " + seed + ": " + diff + "\nshrunk program (" + small.size() + " steps): " + small + "\n -> " + run(small));
            }
        }
    }

    /** Removes steps one at a time while the program still fails. */
    List<Step> shrink(List<Step> program) throws MemmapException {
        List<Step> cur = new ArrayList<>(program);
        boolean again = true;
        while (again) {
            again = false;
            for (int i = 0; i < cur.size() - 1; i++) {
                List<Step> next = new ArrayList<>(cur);
                next.remove(i);
                if (run(next) != null) {
                    cur = next;
                    again = true;
                    i--;
                }
            }
        }
        return cur;
    }

    @Test
    void anUntrackedSpacePaysNothingAndAClosedTrackerStops() throws MemmapException {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        assertFalse(mm.pmas.dirty.tracked());
        DirtyTracker t = mm.trackWrites(CTX, new AddrRange(a, a + 4 * P));
        assertTrue(mm.pmas.dirty.tracked());
        mm.write(CTX, a + P, MemorySegment.ofArray(new byte[8]));
        assertEquals(List.of(new AddrRange(a + P, a + 2 * P)), t.collect());
        assertEquals(List.of(), t.collect(), "collected: cleared");
        t.close();
        t.close();
        assertFalse(mm.pmas.dirty.tracked());
        assertThrows(IllegalStateException.class, t::collect);
        assertEquals(8, mm.write(CTX, a + P, MemorySegment.ofArray(new byte[8])).n(), "writable again after close");
        mm.checkInvariants();
        assertThrows(IllegalArgumentException.class, () -> mm.trackWrites(CTX, new AddrRange(a + 1, a + P)));
        assertThrows(IllegalArgumentException.class, () -> mm.trackWrites(CTX, new AddrRange(a, a)));
        mm.release(CTX);
    }

    @Test
    void concurrentWritersAreNeverMissed() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        int pages = 256;
        long a = mm.mmap(CTX, MMapOpts.builder().length(pages * P).build()); // shared anonymous
        DirtyTracker t = mm.trackWrites(CTX, new AddrRange(a, a + pages * P));
        // Each writer writes an increasing counter into its own pages; a copier that copies only
        // what collect reports must end with the last value of every page.
        long[] copy = new long[pages];
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(4);
        List<Thread> writers = new ArrayList<>();
        long[][] last = new long[4][pages];
        for (int w = 0; w < 4; w++) {
            int id = w;
            writers.add(Thread.ofPlatform().start(() -> {
                Random r = new Random(id);
                started.countDown();
                for (long v = 1; !stop.get() || v < 20_000; v++) {
                    int page = 4 * r.nextInt(pages / 4) + id;
                    assertEquals(8, mm.write(CTX, a + page * P, MemorySegment.ofArray(new long[] {v})).n());
                    last[id][page] = v;
                }
            }));
        }
        started.await();
        for (int round = 0; round < 200; round++) {
            for (AddrRange r : t.collect()) {
                for (long p = r.start(); p < r.end(); p += P) {
                    copy[(int) ((p - a) / P)] = read(mm, p);
                }
            }
        }
        stop.set(true);
        for (Thread w : writers) {
            w.join();
        }
        for (AddrRange r : t.collect()) {
            for (long p = r.start(); p < r.end(); p += P) {
                copy[(int) ((p - a) / P)] = read(mm, p);
            }
        }
        for (int page = 0; page < pages; page++) {
            assertEquals(last[page % 4][page], copy[page], "page " + page + ": the copy holds the last write");
        }
        t.close();
        mm.release(CTX);
    }

    static long read(MemoryManager mm, long addr) {
        long[] v = new long[1];
        assertEquals(8, mm.read(CTX, addr, MemorySegment.ofArray(v)).n());
        return v[0];
    }
}
