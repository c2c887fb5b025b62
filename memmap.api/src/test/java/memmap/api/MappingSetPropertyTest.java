package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property test: random add/remove/invalidate sequences (reproducible by seed) against a
 * simple per-page model. Checks the ranges AddMapping and RemoveMapping return, the
 * address ranges Invalidate reports, the number of callbacks (one per segment and mapping),
 * and the MappingSet invariants.
 */
class MappingSetPropertyTest {
    static final long P = Pages.PAGE_SIZE;

    /** One page of one mapping: which space maps offset page {@code off} at address {@code addr}. */
    record PageMapping(MappingSpace ms, long addr, boolean writable) {
        @Override
        public boolean equals(Object o) {
            return o instanceof PageMapping m && m.ms == ms && m.addr == addr && m.writable == writable;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(ms) ^ Long.hashCode(addr) ^ (writable ? 1 : 0);
        }
    }

    /** A mapping that was added (and may since have been partly removed). */
    record Added(RecordingMappingSpace ms, long addr, long offset, long pages, boolean writable) {}

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13, 14, 15, 16, 17, 18})
    void randomSequencesAgreeWithAPerPageModel(long seed) {
        Random rnd = new Random(seed);
        RecordingMappingSpace[] spaces = {new RecordingMappingSpace(), new RecordingMappingSpace(), new RecordingMappingSpace()};
        MappingSet set = new MappingSet();
        Map<Long, Set<PageMapping>> model = new HashMap<>();
        List<Added> added = new ArrayList<>();
        long offsetPages = 256;

        for (int step = 0; step < 3000; step++) {
            int op = rnd.nextInt(10);
            if (op < 4 || added.isEmpty()) {
                RecordingMappingSpace ms = spaces[rnd.nextInt(spaces.length)];
                long off = rnd.nextLong(offsetPages) * P;
                long pages = 1 + rnd.nextLong(Math.min(16, offsetPages - off / P));
                long addr = (0x100000 + rnd.nextLong(4096)) * P;
                boolean w = rnd.nextBoolean();
                Set<Long> unmappedBefore = new HashSet<>();
                for (long i = 0; i < pages; i++) {
                    if (model.getOrDefault(off + i * P, Set.of()).isEmpty()) {
                        unmappedBefore.add(off + i * P);
                    }
                }
                List<MappableRange> got = set.addMapping(ms, AddrRange.ofLength(addr, pages * P), off, w);
                for (long i = 0; i < pages; i++) {
                    model.computeIfAbsent(off + i * P, k -> new HashSet<>()).add(new PageMapping(ms, addr + i * P, w));
                }
                added.add(new Added(ms, addr, off, pages, w));
                assertEquals(maximalRuns(unmappedBefore), got, "AddMapping returns one range per gap filled");
            } else if (op < 7) {
                // Remove a sub-range of something added (what a vma split then munmap does).
                Added a = added.get(rnd.nextInt(added.size()));
                long first = rnd.nextLong(a.pages);
                long count = 1 + rnd.nextLong(a.pages - first);
                long off = a.offset + first * P;
                long addr = a.addr + first * P;
                if (model.getOrDefault(off, Set.of()).isEmpty()) {
                    // RemoveMapping's precondition: the first offset is mapped by someone.
                    continue;
                }
                boolean w = rnd.nextInt(8) == 0 ? !a.writable : a.writable; // sometimes the wrong flag
                Set<Long> mappedBefore = new HashSet<>();
                for (long i = 0; i < count; i++) {
                    if (!model.getOrDefault(off + i * P, Set.of()).isEmpty()) {
                        mappedBefore.add(off + i * P);
                    }
                }
                List<MappableRange> got = set.removeMapping(a.ms, AddrRange.ofLength(addr, count * P), off, w);
                Set<Long> nowEmpty = new HashSet<>();
                for (long i = 0; i < count; i++) {
                    Set<PageMapping> s = model.getOrDefault(off + i * P, new HashSet<>());
                    s.remove(new PageMapping(a.ms, addr + i * P, w));
                    if (s.isEmpty() && mappedBefore.contains(off + i * P)) {
                        nowEmpty.add(off + i * P);
                    }
                }
                assertEquals(nowEmpty, pagesOf(got), "RemoveMapping returns exactly the pages left unmapped");
                assertSortedDisjoint(got);
            } else {
                long off = rnd.nextLong(offsetPages) * P;
                long pages = 1 + rnd.nextLong(Math.min(32, offsetPages - off / P));
                MappableRange mr = new MappableRange(off, off + pages * P);
                for (RecordingMappingSpace s : spaces) {
                    s.reset();
                }
                long expectedCallbacks = 0;
                for (MappingSet.Entry e : set.entries()) {
                    if (e.range().overlaps(mr)) {
                        expectedCallbacks += e.mappings().size();
                    }
                }
                set.invalidate(mr, InvalidateOpts.DEFAULT);
                long callbacks = 0;
                for (RecordingMappingSpace s : spaces) {
                    callbacks += s.invalidated.size();
                    Set<Long> expected = new HashSet<>();
                    for (long i = 0; i < pages; i++) {
                        for (PageMapping pm : model.getOrDefault(off + i * P, Set.of())) {
                            if (pm.ms == s) {
                                expected.add(pm.addr);
                            }
                        }
                    }
                    Set<Long> got = new HashSet<>();
                    for (AddrRange ar : s.invalidated) {
                        assertTrue(ar.isPageAligned() && !ar.isEmpty(), "invalidated " + ar);
                        for (long a = ar.start(); a < ar.end(); a += P) {
                            got.add(a);
                        }
                    }
                    assertEquals(expected, got, "Invalidate reports exactly the mapped addresses");
                }
                assertEquals(expectedCallbacks, callbacks, "one callback per (segment, mapping)");
            }
            checkInvariants(set, model);
        }
    }

    /** Invariants A and B of spec §2.1, and agreement of every segment with the model. */
    private static void checkInvariants(MappingSet set, Map<Long, Set<PageMapping>> model) {
        long mappedPages = 0;
        for (MappingSet.Entry e : set.entries()) {
            assertFalse(e.mappings().isEmpty(), "no empty segment");
            for (MappingOfRange m : e.mappings()) {
                assertEquals(e.range().length(), m.addrRange().length(), "invariant A");
            }
            for (long off = e.range().start(); off < e.range().end(); off += P) {
                Set<PageMapping> expect = model.getOrDefault(off, Set.of());
                Set<PageMapping> got = new HashSet<>();
                for (MappingOfRange m : e.mappings()) {
                    got.add(new PageMapping(m.mappingSpace(), m.addrRange().start() + (off - e.range().start()), m.writable()));
                }
                assertEquals(expect, got, "mappings of offset " + Pages.hex(off));
                mappedPages++;
            }
        }
        long modelPages = model.values().stream().filter(s -> !s.isEmpty()).count();
        assertEquals(modelPages, mappedPages);
    }

    private static List<MappableRange> maximalRuns(Set<Long> pages) {
        List<Long> sorted = new ArrayList<>(pages);
        sorted.sort(null);
        List<MappableRange> runs = new ArrayList<>();
        for (long p : sorted) {
            if (!runs.isEmpty() && runs.getLast().end() == p) {
                runs.set(runs.size() - 1, new MappableRange(runs.getLast().start(), p + P));
            } else {
                runs.add(new MappableRange(p, p + P));
            }
        }
        return runs;
    }

    private static Set<Long> pagesOf(List<MappableRange> ranges) {
        Set<Long> out = new HashSet<>();
        for (MappableRange r : ranges) {
            for (long p = r.start(); p < r.end(); p += P) {
                assertTrue(out.add(p), "page returned twice");
            }
        }
        return out;
    }

    private static void assertSortedDisjoint(List<MappableRange> ranges) {
        for (int i = 1; i < ranges.size(); i++) {
            assertTrue(ranges.get(i - 1).end() <= ranges.get(i).start(), "ascending and disjoint: " + ranges);
        }
    }
}
