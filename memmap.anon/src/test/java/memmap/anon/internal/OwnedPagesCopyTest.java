package memmap.anon.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.OwnedPages;
import memmap.api.TranslateResult;
import memmap.api.Translation;

/**
 * {@link OwnedPages#copy} and {@link OwnedPages#copyAll} between real shared anonymous memory
 * on real memfds, against a model: generated sparse sources (seeded), destinations reserved
 * ahead or not and partly written, generated sets of ranges. After each copy: every page of the
 * ranges that exists in the source holds the source's bytes, every other page of the
 * destination holds what it held, and the destination allocated nothing the source lacks.
 */
class OwnedPagesCopyTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final int PAGES = 300;

    MemfdMemoryFile mf;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("owned-copy", 2L << 20, 1L << 30, 0, false);
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    SharedAnonymousMemory make() {
        return new SharedAnonymousMemory(mf, PAGES * P, 1, 0, P, false, null);
    }

    /** Writes {@code v} at the start of page {@code page} (allocating it). */
    static void put(SharedAnonymousMemory m, long page, long v) throws MemmapException {
        MappableRange r = new MappableRange(page * P, page * P + P);
        TranslateResult t = m.translate(CTX, r, r, AccessType.WRITE);
        assertNull(t.error());
        Translation tr = t.translations().getFirst();
        tr.file().mapInternal(tr.fileRange(), AccessType.WRITE).head().segment().set(ValueLayout.JAVA_LONG, 0, v);
    }

    /** The first word of page {@code page}, 0 if it does not exist (read without allocating). */
    static long get(SharedAnonymousMemory m, long page) throws MemmapException {
        List<Translation> ts = m.existing(new MappableRange(page * P, page * P + P));
        if (ts.isEmpty()) {
            return 0;
        }
        Translation tr = ts.getFirst();
        MemorySegment s = tr.file().mapInternal(tr.fileRange(), AccessType.READ).head().segment();
        return s.get(ValueLayout.JAVA_LONG, 0);
    }

    /**
     * The same memory seen as a plain Mappable, not {@link OwnedPages}: what a third party's
     * backing may be. A copy from it cannot know which pages exist, so it copies whole ranges.
     */
    record Plain(SharedAnonymousMemory m) implements memmap.api.Mappable {
        @Override
        public void addMapping(Context ctx, memmap.api.MappingSpace ms, memmap.api.AddrRange ar, long offset, boolean writable) {
            m.addMapping(ctx, ms, ar, offset, writable);
        }

        @Override
        public void removeMapping(Context ctx, memmap.api.MappingSpace ms, memmap.api.AddrRange ar, long offset, boolean writable) {
            m.removeMapping(ctx, ms, ar, offset, writable);
        }

        @Override
        public void copyMapping(Context ctx, memmap.api.MappingSpace ms, memmap.api.AddrRange srcAR, memmap.api.AddrRange dstAR,
                long offset, boolean writable) {
            m.copyMapping(ctx, ms, srcAR, dstAR, offset, writable);
        }

        @Override
        public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
            return m.translate(ctx, required, optional, at);
        }

        @Override
        public void invalidateUnsavable(Context ctx) {
            m.invalidateUnsavable(ctx);
        }
    }

    static TreeSet<Long> pages(List<MappableRange> rs) {
        TreeSet<Long> out = new TreeSet<>();
        for (MappableRange r : rs) {
            for (long p = r.start(); p < r.end(); p += P) {
                out.add(p / P);
            }
        }
        return out;
    }

    @Test
    void generatedCopiesAgreeWithTheModel() throws MemmapException {
        for (long seed = 1; seed <= 150; seed++) {
            Random r = new Random(seed);
            SharedAnonymousMemory src = make();
            SharedAnonymousMemory dst = make();
            long[] model = new long[PAGES];
            int written = r.nextInt(PAGES / 3);
            for (int i = 0; i < written; i++) {
                int page = r.nextInt(PAGES);
                // Runs of a few pages now and then, single pages mostly.
                for (int k = 0, len = r.nextInt(8) == 0 ? 1 + r.nextInt(6) : 1; k < len && page + k < PAGES; k++) {
                    put(src, page + k, seed * 100_000 + page + k);
                }
            }
            if (r.nextBoolean()) {
                dst.reserve(src.populated(new MappableRange(0, PAGES * P)));
            }
            long[] dstModel = new long[PAGES];
            for (int i = 0, n = r.nextInt(10); i < n; i++) {
                int page = r.nextInt(PAGES);
                put(dst, page, -page - 1);
                dstModel[page] = -page - 1;
            }
            for (int p = 0; p < PAGES; p++) {
                model[p] = get(src, p);
            }
            TreeSet<Long> srcPages = pages(src.populated(new MappableRange(0, PAGES * P)));
            TreeSet<Long> dstBefore = pages(dst.populated(new MappableRange(0, PAGES * P)));
            // The ranges: all of it, or a generated set.
            List<MappableRange> ranges = new ArrayList<>();
            if (r.nextInt(4) == 0) {
                ranges.add(new MappableRange(0, PAGES * P));
            } else {
                for (long p = r.nextInt(5); p < PAGES; p += 1 + r.nextInt(20)) {
                    long e = Math.min(PAGES, p + 1 + r.nextInt(12));
                    ranges.add(new MappableRange(p * P, e * P));
                    p = e;
                }
            }
            // Either side may be a plain Mappable (the generic path): from one, whole ranges are copied.
            boolean plainFrom = r.nextInt(4) == 0;
            memmap.api.Mappable from = plainFrom ? new Plain(src) : src;
            memmap.api.Mappable to = r.nextInt(4) == 0 ? new Plain(dst) : dst;
            long copied = ranges.size() == 1 && r.nextBoolean()
                    ? OwnedPages.copy(CTX, from, to, ranges.getFirst()) : OwnedPages.copyAll(CTX, from, to, ranges);
            TreeSet<Long> inRanges = pages(ranges);
            TreeSet<Long> expectCopied = new TreeSet<>(plainFrom ? inRanges : srcPages);
            expectCopied.retainAll(inRanges);
            assertEquals(expectCopied.size() * P, copied, "seed " + seed + ": bytes copied");
            for (int p = 0; p < PAGES; p++) {
                long want = expectCopied.contains((long) p) ? model[p] : dstModel[p]; // model: 0 where src had no page
                assertEquals(want, get(dst, p), "seed " + seed + ", page " + p);
            }
            TreeSet<Long> dstAfter = pages(dst.populated(new MappableRange(0, PAGES * P)));
            TreeSet<Long> allowed = new TreeSet<>(dstBefore);
            allowed.addAll(expectCopied);
            assertTrue(allowed.containsAll(dstAfter), "seed " + seed + ": the destination allocated pages the source lacks");
            assertTrue(dstAfter.containsAll(expectCopied));
            src.decRef(CTX);
            dst.decRef(CTX);
            assertEquals(0, mf.usage().allocated(), "seed " + seed + ": every page freed with its object");
        }
    }

    @Test
    void badRangesAreRefusedBeforeAnythingIsCopied() throws MemmapException {
        SharedAnonymousMemory src = make();
        SharedAnonymousMemory dst = make();
        put(src, 1, 7);
        put(src, 5, 9);
        MappableRange a = new MappableRange(0, 4 * P);
        MappableRange b = new MappableRange(2 * P, 6 * P);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OwnedPages.copyAll(CTX, src, dst, List.of(a, b)));
        assertTrue(e.getMessage().contains("ranges[1] = ") && e.getMessage().contains("ascending and disjoint"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OwnedPages.copyAll(CTX, src, dst, List.of(b, a)));
        e = assertThrows(IllegalArgumentException.class,
                () -> OwnedPages.copyAll(CTX, src, dst, List.of(new MappableRange(0, P), new MappableRange(P + 1, 2 * P))));
        assertTrue(e.getMessage().contains("ranges[1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OwnedPages.copy(CTX, src, dst, new MappableRange(1, P)));
        assertEquals(List.of(), dst.populated(new MappableRange(0, PAGES * P)), "nothing copied, nothing allocated");
        assertEquals(0, get(dst, 1));
        src.decRef(CTX);
        dst.decRef(CTX);
    }
}
