package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The behaviours of gVisor's mapping_set_test.go (spec §2.7) and the edge cases of §2.4–2.6. */
class MappingSetTest {
    static AddrRange ar(long s, long e) {
        return new AddrRange(s, e);
    }

    static MappableRange mr(long s, long e) {
        return new MappableRange(s, e);
    }

    static List<MappableRange> ranges(MappingSet set) {
        return set.entries().stream().map(MappingSet.Entry::range).toList();
    }

    @Test
    void addRemoveBookkeepingWithOverlappingMappings() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms = new RecordingMappingSpace();

        assertEquals(List.of(mr(0x1000, 0x3000)), set.addMapping(ms, ar(0x10000, 0x12000), 0x1000, true));
        // [0x10000, 0x12000) => [0x1000, 0x3000)
        assertEquals(List.of(), set.addMapping(ms, ar(0x20000, 0x21000), 0x2000, true));
        // [0x10000, 0x11000) => [0x1000, 0x2000)
        // [0x11000, 0x12000) and [0x20000, 0x21000) => [0x2000, 0x3000)
        assertEquals(List.of(mr(0x1000, 0x2000), mr(0x2000, 0x3000)), ranges(set));
        assertEquals(List.of(mr(0x4000, 0x5000)), set.addMapping(ms, ar(0x30000, 0x31000), 0x4000, true));
        assertEquals(List.of(mr(0x3000, 0x4000), mr(0x5000, 0x6000)), set.addMapping(ms, ar(0x12000, 0x15000), 0x3000, true));
        // [0x10000, 0x11000) => [0x1000, 0x2000)
        // [0x11000, 0x12000) and [0x20000, 0x21000) => [0x2000, 0x3000)
        // [0x12000, 0x13000) => [0x3000, 0x4000)
        // [0x13000, 0x14000) and [0x30000, 0x31000) => [0x4000, 0x5000)
        // [0x14000, 0x15000) => [0x5000, 0x6000)
        assertEquals(List.of(mr(0x1000, 0x2000), mr(0x2000, 0x3000), mr(0x3000, 0x4000), mr(0x4000, 0x5000), mr(0x5000, 0x6000)),
                ranges(set), "AddMapping never merges");

        assertEquals(List.of(mr(0x1000, 0x2000)), set.removeMapping(ms, ar(0x10000, 0x11000), 0x1000, true));
        assertEquals(List.of(), set.removeMapping(ms, ar(0x20000, 0x21000), 0x2000, true));
        // The edge merge of RemoveMapping joins [0x2000, 0x3000) with [0x3000, 0x4000):
        // [0x11000, 0x13000) => [0x2000, 0x4000)
        assertEquals(List.of(mr(0x2000, 0x4000), mr(0x4000, 0x5000), mr(0x5000, 0x6000)), ranges(set));
        assertEquals(List.of(mr(0x2000, 0x4000), mr(0x5000, 0x6000)), set.removeMapping(ms, ar(0x11000, 0x15000), 0x2000, true));
        assertEquals(List.of(mr(0x4000, 0x5000)), set.removeMapping(ms, ar(0x30000, 0x31000), 0x4000, true));
        assertTrue(set.isEmpty());
    }

    @Test
    void invalidateWholeMapping() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms = new RecordingMappingSpace();
        set.addMapping(ms, ar(0x10000, 0x11000), 0, true);
        set.invalidate(mr(0, 0x1000), InvalidateOpts.DEFAULT);
        assertEquals(List.of(ar(0x10000, 0x11000)), ms.invalidated);
        assertEquals(List.of(InvalidateOpts.DEFAULT), ms.opts);
    }

    @Test
    void invalidatePartialMapping() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms = new RecordingMappingSpace();
        set.addMapping(ms, ar(0x10000, 0x13000), 0, true);
        set.invalidate(mr(0x1000, 0x2000), InvalidateOpts.PRIVATE);
        assertEquals(List.of(ar(0x11000, 0x12000)), ms.invalidated);
        assertEquals(List.of(InvalidateOpts.PRIVATE), ms.opts);
        assertEquals(List.of(mr(0, 0x3000)), ranges(set), "invalidate does not split segments");
    }

    @Test
    void invalidateMultipleMappings() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms = new RecordingMappingSpace();
        set.addMapping(ms, ar(0x10000, 0x11000), 0, true);
        set.addMapping(ms, ar(0x20000, 0x21000), 0x2000, true);
        set.invalidate(mr(0, 0x3000), InvalidateOpts.DEFAULT);
        assertEquals(List.of(ar(0x10000, 0x11000), ar(0x20000, 0x21000)), ms.invalidated);
    }

    @Test
    void invalidateOverlappingMappingsFromTwoSpaces() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms1 = new RecordingMappingSpace();
        RecordingMappingSpace ms2 = new RecordingMappingSpace();
        set.addMapping(ms1, ar(0x10000, 0x12000), 0, true);
        set.addMapping(ms2, ar(0x20000, 0x22000), 0x1000, true);
        // ms1: [0x10000, 0x12000) => [0, 0x2000); ms2: [0x20000, 0x22000) => [0x1000, 0x3000)
        set.invalidate(mr(0x1000, 0x2000), InvalidateOpts.DEFAULT);
        assertEquals(List.of(ar(0x11000, 0x12000)), ms1.invalidated);
        assertEquals(List.of(ar(0x20000, 0x21000)), ms2.invalidated);
    }

    @Test
    void oneCallbackPerSegmentForAMappingSpanningSegments() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        RecordingMappingSpace b = new RecordingMappingSpace();
        set.addMapping(a, ar(0x10000, 0x14000), 0, false);
        set.addMapping(b, ar(0x50000, 0x51000), 0x1000, false);
        // a's mapping now spans three segments: [0, 0x1000), [0x1000, 0x2000), [0x2000, 0x4000).
        set.invalidate(mr(0, 0x4000), InvalidateOpts.DEFAULT);
        assertEquals(List.of(ar(0x10000, 0x11000), ar(0x11000, 0x12000), ar(0x12000, 0x14000)), a.invalidated);
        assertEquals(List.of(ar(0x50000, 0x51000)), b.invalidated);
        a.reset();
        set.invalidateAll(InvalidateOpts.DEFAULT);
        assertEquals(List.of(ar(0x10000, 0x11000), ar(0x11000, 0x12000), ar(0x12000, 0x14000)), a.invalidated);
    }

    @Test
    void mixedWritableAndReadOnlyMappingsOfTheSameOffsets() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace ms = new RecordingMappingSpace();
        assertEquals(List.of(mr(0x1000, 0x3000)), set.addMapping(ms, ar(0x10000, 0x12000), 0x1000, true));
        assertEquals(List.of(mr(0x3000, 0x4000)), set.addMapping(ms, ar(0x20000, 0x22000), 0x2000, false));
        // [0x10000, 0x11000) w => [0x1000, 0x2000)
        // [0x11000, 0x12000) w and [0x20000, 0x21000) ro => [0x2000, 0x3000)
        // [0x21000, 0x22000) ro => [0x3000, 0x4000)
        assertEquals(List.of(), set.removeMapping(ms, ar(0x20000, 0x21000), 0x2000, true), "wrong writable: silent no-op");
        assertEquals(3, set.entries().size());
        assertEquals(List.of(), set.removeMapping(ms, ar(0x20000, 0x21000), 0x2000, false));
        // The read-only piece is gone and the writable pieces merge again.
        assertEquals(List.of(mr(0x1000, 0x3000), mr(0x3000, 0x4000)), ranges(set));
        assertEquals(List.of(mr(0x1000, 0x3000)), set.removeMapping(ms, ar(0x10000, 0x12000), 0x1000, true));
        assertEquals(List.of(mr(0x3000, 0x4000)), set.removeMapping(ms, ar(0x21000, 0x22000), 0x3000, false));
        assertTrue(set.isEmpty());
    }

    @Test
    void removeMergesOnlyAtTheEdgesAndDependsOnHistory() {
        long p = Pages.PAGE_SIZE;
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        RecordingMappingSpace b = new RecordingMappingSpace();
        set.addMapping(a, ar(0x10000, 0x10000 + p), 0, true);
        set.addMapping(a, ar(0x10000 + p, 0x10000 + 2 * p), p, true);
        assertEquals(List.of(mr(0, p), mr(p, 2 * p)), ranges(set), "two AddMapping calls: two segments");
        set.addMapping(b, ar(0x90000, 0x90000 + p), p, true);
        assertEquals(List.of(), set.removeMapping(b, ar(0x90000, 0x90000 + p), p, true));
        assertEquals(List.of(mr(0, 2 * p)), ranges(set), "the edge merge joins a's pieces");
        assertEquals(List.of(new MappingOfRange(a, ar(0x10000, 0x10000 + 2 * p), true)), set.entries().get(0).mappings());
    }

    @Test
    void segmentsStrictlyInsideARemovedRangeStaySplit() {
        long p = Pages.PAGE_SIZE;
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        RecordingMappingSpace b = new RecordingMappingSpace();
        // a maps [0, 4p) in four calls; b maps [0, 4p) at once.
        for (int i = 0; i < 4; i++) {
            set.addMapping(a, ar(0x10000 + i * p, 0x10000 + (i + 1) * p), i * p, false);
        }
        set.addMapping(b, ar(0x40000, 0x40000 + 4 * p), 0, false);
        assertEquals(List.of(), set.removeMapping(b, ar(0x40000, 0x40000 + 4 * p), 0, false));
        // Only the outer edges are merge candidates; the inner boundaries at p, 2p, 3p remain.
        assertEquals(List.of(mr(0, p), mr(p, 2 * p), mr(2 * p, 3 * p), mr(3 * p, 4 * p)), ranges(set));
    }

    @Test
    void removeWithHolesAndAdjacentEmptiedSegments() {
        long p = Pages.PAGE_SIZE;
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        set.addMapping(a, ar(0x10000, 0x10000 + p), 0, false);
        set.addMapping(a, ar(0x10000 + p, 0x10000 + 2 * p), p, false);
        set.addMapping(a, ar(0x10000 + 3 * p, 0x10000 + 4 * p), 3 * p, false);
        // Removing [0, 4p) at once: the hole at [2p, 3p) is skipped, each emptied segment is its own entry.
        assertEquals(List.of(mr(0, p), mr(p, 2 * p), mr(3 * p, 4 * p)),
                set.removeMapping(a, ar(0x10000, 0x10000 + 4 * p), 0, false));
        assertTrue(set.isEmpty());
    }

    @Test
    void addingTheSameMappingTwiceIsIdempotent() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        assertEquals(List.of(mr(0, 0x2000)), set.addMapping(a, ar(0x10000, 0x12000), 0, true));
        assertEquals(List.of(), set.addMapping(a, ar(0x10000, 0x12000), 0, true));
        assertEquals(1, set.entries().get(0).mappings().size());
        assertEquals(List.of(mr(0, 0x2000)), set.removeMapping(a, ar(0x10000, 0x12000), 0, true));
    }

    @Test
    void mappingSpacesAreComparedByIdentity() {
        MappingSet set = new MappingSet();
        MappingSpace equalsEverything = new MappingSpace() {
            @Override
            public void invalidate(AddrRange ar, InvalidateOpts opts) {}

            @Override
            public boolean equals(Object o) {
                return o instanceof MappingSpace;
            }

            @Override
            public int hashCode() {
                return 0;
            }
        };
        RecordingMappingSpace other = new RecordingMappingSpace();
        set.addMapping(equalsEverything, ar(0x10000, 0x11000), 0, true);
        assertEquals(List.of(), set.removeMapping(other, ar(0x10000, 0x11000), 0, true));
        assertFalse(set.isEmpty());
    }

    @Test
    void hasWritableMapping() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        set.addMapping(a, ar(0x10000, 0x11000), 0, false);
        set.addMapping(a, ar(0x20000, 0x21000), 0x1000, true);
        assertFalse(set.hasWritableMapping(mr(0, 0x1000)));
        assertTrue(set.hasWritableMapping(mr(0, 0x2000)));
    }

    @Test
    void badInputIsRejectedAndChangesNothing() {
        MappingSet set = new MappingSet();
        RecordingMappingSpace a = new RecordingMappingSpace();
        set.addMapping(a, ar(0x10000, 0x12000), 0x1000, true);
        String before = set.toString();

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> set.addMapping(a, ar(0x10000, 0x10800), 0, true));
        assertTrue(e.getMessage().contains("ar = [0x10000, 0x10800)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> set.addMapping(a, ar(0x10000, 0x10000), 0, true));
        assertTrue(e.getMessage().contains("ar = [0x10000, 0x10000) is empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> set.addMapping(a, ar(0x12000, 0x10000), 0, true));
        assertTrue(e.getMessage().contains("ill-formed"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> set.addMapping(a, ar(0x10000, 0x11000), 0x800, true));
        assertTrue(e.getMessage().contains("offset = 0x800"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> set.addMapping(a, ar(0x10000, 0x12000), -0x1000L, true));
        assertTrue(e.getMessage().contains("overflows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> set.removeMapping(a, ar(0x30000, 0x31000), 0x8000, true));
        assertTrue(e.getMessage().contains("no segment contains offset 0x8000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> set.invalidate(mr(0x2000, 0x2000), InvalidateOpts.DEFAULT));
        assertThrows(NullPointerException.class, () -> set.addMapping(null, ar(0x10000, 0x11000), 0, true));

        assertEquals(before, set.toString());
        assertEquals(List.of(), a.invalidated);
    }

    @Test
    void subsetMapping() {
        RecordingMappingSpace a = new RecordingMappingSpace();
        assertEquals(new MappingOfRange(a, ar(0x5000, 0x6000), true),
                MappingSet.subsetMapping(mr(0, 0x2000), mr(0x1000, 0x2000), a, 0x4000, true));
        assertThrows(IllegalArgumentException.class,
                () -> MappingSet.subsetMapping(mr(0, 0x2000), mr(0x1000, 0x3000), a, 0x4000, true));
    }

    @Test
    void mappingOfRangeStringIsGoStructStyle() {
        assertEquals("hostarch.AddrRange{Start:0x10000, End:0x12000}",
                new MappingOfRange(new RecordingMappingSpace(), ar(0x10000, 0x12000), true).toString());
    }
}
