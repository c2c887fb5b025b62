package memmap.api.segment;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The edge cases of spec §0.4 that the random model test does not single out. */
class SegmentSetTest {
    static SegmentSet<String> set() {
        return new SegmentSet<>(0, 1000, SegmentFunctions.mergeEqual(), true);
    }

    @Test
    void emptySetHasOneGap() {
        SegmentSet<String> s = set();
        assertTrue(s.isEmpty());
        Gap<String> g = s.firstGap();
        assertEquals(0, g.start());
        assertEquals(1000, g.end());
        assertEquals(g, s.lastGap());
        assertNull(g.nextSegment());
        assertNull(g.prevSegment());
        assertNull(s.firstSegment());
        assertEquals(g, s.firstLargeEnoughGap(1000));
        assertNull(s.firstLargeEnoughGap(1001));
    }

    @Test
    void insertMergesWithPredecessorThenSuccessor() {
        SegmentSet<String> s = set();
        s.add(0, 10, "a");
        s.add(20, 30, "a");
        Segment<String> m = s.add(10, 20, "a");
        assertEquals(0, m.start());
        assertEquals(30, m.end());
        assertEquals(1, s.size());
        // Not mergeable with the predecessor: merges with the successor only.
        s.add(40, 50, "b");
        Segment<String> n = s.add(30, 40, "b");
        assertEquals(30, n.start());
        assertEquals(50, n.end());
        assertEquals("{[0x0, 0x1e) = a, [0x1e, 0x32) = b}", s.toString());
        // Without merging, adjacent equal values stay separate.
        s.addWithoutMerging(50, 60, "b");
        assertEquals(3, s.size());
    }

    @Test
    void nextNonEmptyAtTheMaximumKeyIsAnEmptyGap() {
        SegmentSet<String> s = set();
        Segment<String> last = s.add(990, 1000, "x");
        Segment.Step<String> step = last.nextNonEmpty();
        assertNull(step.segment());
        assertNotNull(step.gap());
        assertEquals(1000, step.gap().start());
        assertTrue(step.gap().isEmpty());
        Segment<String> before = s.addWithoutMerging(980, 990, "x");
        assertEquals(990, before.nextNonEmpty().segment().start());
        assertEquals(980, before.prevNonEmpty().gap().end());
    }

    @Test
    void boundsAndNeighbours() {
        SegmentSet<String> s = set();
        s.add(10, 20, "a");
        s.add(30, 40, "b");
        assertEquals(30, s.lowerBoundSegment(25).start());
        assertEquals(10, s.lowerBoundSegment(15).start());
        assertNull(s.lowerBoundSegment(40));
        assertEquals(10, s.upperBoundSegment(25).start());
        assertNull(s.upperBoundSegment(5));
        assertEquals(20, s.findGap(25).start());
        assertEquals(30, s.findGap(25).end());
        assertNull(s.findGap(15));
        assertEquals("b", s.findValue(35));
        assertNull(s.findValue(45));
        assertTrue(s.isEmptyRange(20, 30));
        assertFalse(s.isEmptyRange(20, 31));
        assertEquals(20, s.span());
        assertEquals(10, s.spanRange(15, 35));
    }

    @Test
    void splitIsolateAndMerge() {
        SegmentSet<String> s = set();
        Segment<String> seg = s.add(0, 100, "a");
        Segment<String> mid = s.isolate(seg, 10, 20);
        assertEquals(10, mid.start());
        assertEquals(20, mid.end());
        assertEquals(3, s.size());
        var e = assertThrows(IllegalArgumentException.class, () -> s.split(s.findSegment(10), 10));
        assertTrue(e.getMessage().startsWith("x = 0xa is not strictly inside"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.merge(s.findSegment(0), s.findSegment(20)));
        s.mergeOutsideRange(10, 20);
        assertEquals(1, s.size(), "the edges of [10, 20) merge back");
    }

    @Test
    void mergeInsideRangeLeavesTheOutsideAlone() {
        SegmentSet<String> s = set();
        for (int i = 0; i < 5; i++) {
            s.addWithoutMerging(i * 10, i * 10 + 10, "a");
        }
        s.mergeInsideRange(15, 35);
        List<Long> starts = new ArrayList<>();
        for (Segment<String> g = s.firstSegment(); g != null; g = g.nextSegment()) {
            starts.add(g.start());
        }
        assertEquals(List.of(0L, 10L, 40L), starts, "[10,20) merges with [20,30) and [30,40), nothing else");
    }

    @Test
    void mutateRangeStopsWhenAsked() {
        SegmentSet<String> s = set();
        s.add(0, 100, "a");
        s.mutateRange(10, 90, seg -> {
            seg.setValue("b");
            return false;
        });
        assertEquals("{[0x0, 0xa) = a, [0xa, 0x5a) = b, [0x5a, 0x64) = a}", s.toString());
    }

    @Test
    void fullRangeOperationsRefuseHoles() {
        SegmentSet<String> s = set();
        s.add(0, 10, "a");
        s.add(20, 30, "a");
        var e = assertThrows(IllegalArgumentException.class, () -> s.removeFullRange(0, 30));
        assertTrue(e.getMessage().contains("hole at 0xa"), e.getMessage());
        assertEquals(2, s.size(), "nothing removed");
        assertThrows(IllegalArgumentException.class, () -> s.mutateFullRange(5, 25, seg -> true));
        assertEquals("{[0x0, 0xa) = a, [0x14, 0x1e) = a}", s.toString(), "nothing split");
        assertThrows(IllegalStateException.class, () -> s.visitFullRange(0, 30, seg -> true));
        s.visitFullRange(0, 30, seg -> false);
        List<String> removed = new ArrayList<>();
        s.removeFullRangeWith(2, 8, seg -> removed.add(seg.start() + "-" + seg.end()));
        assertEquals(List.of("2-8"), removed);
    }

    @Test
    void badInputChangesNothing() {
        SegmentSet<String> s = set();
        s.add(10, 20, "a");
        Gap<String> g = s.findGap(30);
        var e = assertThrows(IllegalArgumentException.class, () -> s.insert(g, 15, 25, "b"));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.insert(g, 25, 25, "b"));
        assertTrue(e.getMessage().contains("is empty or ill-formed"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.add(900, 1100, "b"));
        assertTrue(e.getMessage().contains("outside the key space"), e.getMessage());
        assertNull(s.add(15, 25, "b"), "overlap: not added");
        assertEquals("{[0xa, 0x14) = a}", s.toString());
        assertThrows(IllegalArgumentException.class, () -> new SegmentSet<>(5, 5, SegmentFunctions.neverMerge(), false));
        SegmentSet<String> untracked = new SegmentSet<>(SegmentFunctions.neverMerge());
        assertThrows(UnsupportedOperationException.class, () -> untracked.firstLargeEnoughGap(1));
    }

    @Test
    void unsignedKeysAboveTheSignBit() {
        SegmentSet<String> s = new SegmentSet<>(SegmentFunctions.neverMerge());
        s.add(0x8000_0000_0000_0000L, 0x8000_0000_0000_1000L, "high");
        s.add(0x1000, 0x2000, "low");
        assertEquals("low", s.firstSegment().value());
        assertEquals("high", s.findValue(0x8000_0000_0000_0800L));
        assertEquals(0x2000, s.findGap(0x7fff_ffff_ffff_ffffL).start());
        assertEquals(-1L, s.lastGap().end());
    }
}
