package memmap.api.segment;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Drives random sequences of every mutating operation against a naive sorted-list model
 * that implements the spec's operations directly, and compares the exact segmentation,
 * values, gap queries and tree invariants after every step.
 */
class SegmentSetModelTest {
    /** A segment of the model; values are labels that merge when equal. */
    record Seg(long start, long end, int label) {}

    static final SegmentFunctions<Integer> LABELS = SegmentFunctions.mergeEqual();

    /** The naive model: a sorted list, each operation written straight from spec §0.4. */
    static final class Model {
        final List<Seg> segs = new ArrayList<>();
        final long min;
        final long max;

        Model(long min, long max) {
            this.min = min;
            this.max = max;
        }

        int find(long k) {
            for (int i = 0; i < segs.size(); i++) {
                if (segs.get(i).start <= k && k < segs.get(i).end) {
                    return i;
                }
            }
            return -1;
        }

        int lowerBound(long k) {
            for (int i = 0; i < segs.size(); i++) {
                if (segs.get(i).end > k) {
                    return i;
                }
            }
            return -1;
        }

        void split(int i, long x) {
            Seg s = segs.get(i);
            segs.set(i, new Seg(s.start, x, s.label));
            segs.add(i + 1, new Seg(x, s.end, s.label));
        }

        /** Returns index of the isolated piece. */
        int isolate(int i, long start, long end) {
            Seg s = segs.get(i);
            if (s.start < start && start < s.end) {
                split(i, start);
                i++;
            }
            s = segs.get(i);
            if (s.start < end && end < s.end) {
                split(i, end);
            }
            return i;
        }

        /** Merge i with i+1 if adjacent and equal labels; returns merged index or -1. */
        int merge(int i) {
            Seg a = segs.get(i);
            Seg b = segs.get(i + 1);
            if (a.end != b.start || a.label != b.label) {
                return -1;
            }
            segs.set(i, new Seg(a.start, b.end, a.label));
            segs.remove(i + 1);
            return i;
        }

        void insert(long start, long end, int label, boolean merging) {
            int pos = 0;
            while (pos < segs.size() && segs.get(pos).start < start) {
                pos++;
            }
            segs.add(pos, new Seg(start, end, label));
            if (!merging) {
                return;
            }
            if (pos > 0 && segs.get(pos - 1).end == start && segs.get(pos - 1).label == label) {
                merge(pos - 1);
                pos--;
                if (pos + 1 < segs.size()) {
                    merge(pos);
                }
                return;
            }
            if (pos + 1 < segs.size()) {
                merge(pos);
            }
        }

        void removeRange(long start, long end) {
            int i = lowerBound(start);
            if (i < 0) {
                return;
            }
            if (segs.get(i).start < start) {
                split(i, start);
                i++;
            }
            while (i < segs.size() && segs.get(i).start < end) {
                if (segs.get(i).end > end) {
                    split(i, end);
                }
                segs.remove(i);
            }
        }

        void mergeOutsideRange(long start, long end) {
            int f = find(start);
            if (f > 0) {
                merge(f - 1);
            }
            int l = find(end - 1);
            if (l >= 0 && l + 1 < segs.size()) {
                merge(l);
            }
        }

        void mergeInsideRange(long start, long end) {
            int i = lowerBound(start);
            if (i < 0) {
                return;
            }
            while (i + 1 < segs.size() && segs.get(i + 1).start < end) {
                if (merge(i) < 0) {
                    i++;
                }
            }
        }

        /** mutateRange that relabels every in-range piece with {@code label}, stopping after {@code stopAfter} pieces. */
        void mutateRange(long start, long end, int label, int stopAfter) {
            int i = lowerBound(start);
            if (i >= 0 && segs.get(i).start < start) {
                split(i, start);
                i++;
            }
            int visited = 0;
            while (i >= 0 && i < segs.size() && segs.get(i).start < end) {
                if (segs.get(i).end > end) {
                    split(i, end);
                }
                Seg s = segs.get(i);
                segs.set(i, new Seg(s.start, s.end, label));
                visited++;
                if (visited == stopAfter) {
                    if (i > 0 && merge(i - 1) >= 0) {
                        i--;
                    }
                    if (i + 1 < segs.size()) {
                        merge(i);
                    }
                    return;
                }
                if (i > 0 && merge(i - 1) >= 0) {
                    i--;
                }
                i++;
            }
            if (i >= 0 && i < segs.size() && i > 0) {
                merge(i - 1);
            }
        }

        List<long[]> gaps() {
            List<long[]> gaps = new ArrayList<>();
            long prev = min;
            for (Seg s : segs) {
                gaps.add(new long[] {prev, s.start});
                prev = s.end;
            }
            gaps.add(new long[] {prev, max});
            return gaps;
        }
    }

    static List<Seg> contents(SegmentSet<Integer> set) {
        List<Seg> out = new ArrayList<>();
        for (Segment<Integer> s = set.firstSegment(); s != null; s = s.nextSegment()) {
            out.add(new Seg(s.start(), s.end(), s.value()));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void randomOperationsMatchTheModel(long seed) {
        Random rnd = new Random(seed);
        long min = 0;
        long max = 200_000;
        SegmentSet<Integer> set = new SegmentSet<>(min, max, LABELS, true);
        Model model = new Model(min, max);
        int steps = 30_000;
        long largest = 0;
        for (int step = 0; step < steps; step++) {
            boolean growing = step < steps / 2;
            int op = rnd.nextInt(100);
            long k = rnd.nextLong(max);
            String what;
            if (op < (growing ? 50 : 20)) {
                // Insert into the gap containing k.
                Gap<Integer> gap = set.findGap(k);
                if (gap == null) {
                    continue;
                }
                long gs = gap.start();
                long ge = gap.end();
                long s = gs + rnd.nextLong(ge - gs);
                long e = s + 1 + rnd.nextLong(Math.min(ge - s, 40));
                int label = rnd.nextInt(3);
                boolean merging = rnd.nextBoolean();
                what = "insert " + s + ".." + e + " label " + label + (merging ? " merging" : "");
                if (merging) {
                    set.insert(gap, s, e, label);
                } else {
                    set.insertWithoutMerging(gap, s, e, label);
                }
                model.insert(s, e, label, merging);
            } else if (op < 60) {
                Segment<Integer> seg = set.findSegment(k);
                if (seg == null || !seg.canSplitAt(k)) {
                    continue;
                }
                what = "split at " + k;
                Segment<Integer> right = set.split(seg, k);
                assertEquals(k, right.start(), what);
                model.split(model.find(k), k);
            } else if (op < (growing ? 70 : 85)) {
                long e = k + 1 + rnd.nextLong(growing ? 50 : 3000);
                if (e > max) {
                    continue;
                }
                what = "removeRange " + k + ".." + e;
                set.removeRange(k, e);
                model.removeRange(k, e);
            } else if (op < 80) {
                long e = k + 1 + rnd.nextLong(500);
                if (e > max) {
                    continue;
                }
                what = "mergeOutsideRange " + k + ".." + e;
                set.mergeOutsideRange(k, e);
                model.mergeOutsideRange(k, e);
            } else if (op < 88) {
                long e = k + 1 + rnd.nextLong(500);
                if (e > max) {
                    continue;
                }
                what = "mergeInsideRange " + k + ".." + e;
                set.mergeInsideRange(k, e);
                model.mergeInsideRange(k, e);
            } else if (op < 94) {
                long e = k + 1 + rnd.nextLong(300);
                if (e > max) {
                    continue;
                }
                int label = rnd.nextInt(3);
                int stopAfter = rnd.nextInt(5);
                what = "mutateRange " + k + ".." + e + " label " + label + " stopAfter " + stopAfter;
                int[] visited = {0};
                set.mutateRange(k, e, seg -> {
                    seg.setValue(label);
                    return ++visited[0] != stopAfter;
                });
                model.mutateRange(k, e, label, stopAfter);
            } else {
                Segment<Integer> seg = set.findSegment(k);
                if (seg == null) {
                    continue;
                }
                long s0 = seg.start();
                what = "remove segment at " + s0;
                Gap<Integer> gap = set.remove(seg);
                assertTrue(gap.start() <= s0 && s0 < gap.end(), what);
                model.segs.remove(model.find(s0));
            }
            set.checkInvariants();
            assertEquals(model.segs.size(), set.size(), what);
            largest = Math.max(largest, set.size());
            if (step % 50 == 0 || step > steps - 100) {
                assertEquals(model.segs, contents(set), "after " + what);
                checkQueries(set, model, rnd);
            }
        }
        assertEquals(model.segs, contents(set));
        // The walk must have grown the tree past two levels of 32-way nodes and shrunk it again.
        assertTrue(largest > 3 * 32 * 32, "largest size " + largest);
        assertTrue(set.size() < largest / 2, "final size " + set.size());
    }

    private static void checkQueries(SegmentSet<Integer> set, Model model, Random rnd) {
        for (int q = 0; q < 20; q++) {
            long k = rnd.nextLong(model.max);
            int f = model.find(k);
            Segment<Integer> seg = set.findSegment(k);
            if (f < 0) {
                assertNull(seg);
                Gap<Integer> gap = set.findGap(k);
                assertNotNull(gap);
                assertTrue(gap.start() <= k && k < gap.end());
            } else {
                assertEquals(model.segs.get(f).start, seg.start());
                assertNull(set.findGap(k));
            }
            int lb = model.lowerBound(k);
            Segment<Integer> lbs = set.lowerBoundSegment(k);
            assertEquals(lb < 0 ? null : model.segs.get(lb).start, lbs == null ? null : lbs.start());
        }
        List<long[]> gaps = model.gaps();
        for (long n : new long[] {1, 2, 5, 20, 100, 1000, 100_000, 300_000}) {
            long[] first = gaps.stream().filter(g -> g[1] - g[0] >= n).findFirst().orElse(null);
            Gap<Integer> fg = set.firstLargeEnoughGap(n);
            assertEquals(first == null ? null : first[0], fg == null ? null : fg.start(), "first gap >= " + n);
            long[] last = gaps.stream().filter(g -> g[1] - g[0] >= n).reduce((a, b) -> b).orElse(null);
            Gap<Integer> lg = set.lastLargeEnoughGap(n);
            assertEquals(last == null ? null : last[0], lg == null ? null : lg.start(), "last gap >= " + n);
            if (fg != null) {
                Gap<Integer> ng = fg.nextLargeEnoughGap(n);
                long[] second = gaps.stream().filter(g -> g[1] - g[0] >= n && g[0] > first[0]).findFirst().orElse(null);
                if (second != null && second[0] == first[0]) {
                    second = null;
                }
                assertEquals(second == null ? null : second[0], ng == null ? null : ng.start(), "next gap >= " + n);
            }
            if (lg != null) {
                Gap<Integer> pg = lg.prevLargeEnoughGap(n);
                long[] before = gaps.stream().filter(g -> g[1] - g[0] >= n && g[1] <= last[0]).reduce((a, b) -> b).orElse(null);
                assertEquals(before == null ? null : before[0], pg == null ? null : pg.start(), "prev gap >= " + n);
            }
        }
    }
}
