package memmap.api.segment;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

import memmap.api.Pages;

/**
 * An ordered set of non-overlapping key ranges ("segments") mapped to values: gVisor's
 * segment-set template (spec §0.4), on which {@code MappingSet}, vma and pma sets, page
 * reference counts and dirty sets are built.
 *
 * <p>Keys are unsigned 64-bit values in {@code [minKey, maxKey)}. The segmentation is
 * observable and reproduced exactly: segments are split only where an operation says so
 * ({@link #isolate}, {@link #split}, ...) and merged only where an operation says so
 * ({@link #insert} merges, {@link #insertWithoutMerging} does not, {@link #mergeOutsideRange}
 * merges only at the two edges, ...), always through the {@link SegmentFunctions} given.
 *
 * <p>Implementation: a B+-tree of {@value Node#CAPACITY}-way nodes with chained leaves,
 * so lookups touch O(log n) cache lines (few, since a node holds its keys in one primitive
 * array) and stepping to a neighbour is O(1). With gap tracking, every node also knows the
 * largest gap below it, so the large-enough-gap queries are O(log n).
 *
 * <p>Thread safety: none. Callers serialise access (Mappables hold their "maps" lock).
 *
 * <p>Handles ({@link Segment}, {@link Gap}) are invalidated by any change to the set except
 * {@link Segment#setValue}; operations return fresh handles for what they produce.
 *
 * @param <V> the value type
 */
public final class SegmentSet<V> {
    private final long minKey;
    private final long maxKey;
    private final SegmentFunctions<V> fns;
    private final boolean trackGaps;
    private final List<Node> gapDirty;
    private Node root = new Node(true);
    private long size;
    /** Set when a node was split, merged or removed: handles into the tree may have moved. */
    private boolean restructured;

    /**
     * An empty set over keys {@code [0, 2^64 - 1)}, without gap tracking.
     *
     * @param fns how values merge and split
     */
    public SegmentSet(SegmentFunctions<V> fns) {
        this(0, -1L, fns, false);
    }

    /**
     * An empty set.
     *
     * @param minKey smallest key (unsigned)
     * @param maxKey exclusive upper bound of keys (unsigned), greater than {@code minKey}
     * @param fns how values merge and split
     * @param trackGaps whether the large-enough-gap queries are supported (costs
     *     O(log n) bookkeeping on every change)
     */
    public SegmentSet(long minKey, long maxKey, SegmentFunctions<V> fns, boolean trackGaps) {
        if (Long.compareUnsigned(minKey, maxKey) >= 0) {
            throw new IllegalArgumentException("minKey = " + Pages.hex(minKey) + " must be below maxKey = " + Pages.hex(maxKey));
        }
        this.minKey = minKey;
        this.maxKey = maxKey;
        this.fns = java.util.Objects.requireNonNull(fns, "fns");
        this.trackGaps = trackGaps;
        this.gapDirty = trackGaps ? new ArrayList<>() : null;
        if (trackGaps) {
            root.maxGap = maxKey - minKey;
        }
    }

    /** Smallest key. */
    public long minKey() {
        return minKey;
    }

    /** Exclusive upper bound of keys. */
    public long maxKey() {
        return maxKey;
    }

    /** True if the set has no segments. */
    public boolean isEmpty() {
        return size == 0;
    }

    /** The number of segments. */
    public long size() {
        return size;
    }

    /** True if no segment overlaps {@code [start, end)}. */
    public boolean isEmptyRange(long start, long end) {
        if (Long.compareUnsigned(start, end) >= 0) {
            return true;
        }
        Segment<V> seg = lowerBoundSegment(start);
        return seg == null || Long.compareUnsigned(seg.start(), end) >= 0;
    }

    /** The total length of all segments. */
    public long span() {
        long total = 0;
        for (Segment<V> s = firstSegment(); s != null; s = s.nextSegment()) {
            total += s.length();
        }
        return total;
    }

    /** The total length of the parts of segments inside {@code [start, end)}. */
    public long spanRange(long start, long end) {
        long total = 0;
        for (Segment<V> s = lowerBoundSegment(start); s != null && Long.compareUnsigned(s.start(), end) < 0; s = s.nextSegment()) {
            long a = Long.compareUnsigned(s.start(), start) > 0 ? s.start() : start;
            long b = Long.compareUnsigned(s.end(), end) < 0 ? s.end() : end;
            total += b - a;
        }
        return total;
    }

    // ---------------------------------------------------------------- lookups

    private Node leafFor(long k) {
        Node x = root;
        while (!x.leaf) {
            int i = x.lastStartAtOrBefore(k);
            x = x.children[i < 0 ? 0 : i];
        }
        return x;
    }

    /** The segment containing {@code k}, or null. */
    public Segment<V> findSegment(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0 && Long.compareUnsigned(k, leaf.ends[i]) < 0) {
            return new Segment<>(this, leaf, i);
        }
        return null;
    }

    /** The value of the segment containing {@code k}, or null. */
    @SuppressWarnings("unchecked")
    public V findValue(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0 && Long.compareUnsigned(k, leaf.ends[i]) < 0) {
            return (V) leaf.values[i];
        }
        return null;
    }

    /**
     * gVisor's {@code Find}: the segment containing {@code k}, else the gap containing it, in
     * one descent. Exactly one of the pair is non-null.
     */
    public Segment.Step<V> find(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0 && Long.compareUnsigned(k, leaf.ends[i]) < 0) {
            return new Segment.Step<>(new Segment<>(this, leaf, i), null);
        }
        return new Segment.Step<>(null, Gap.canonical(this, leaf, i + 1));
    }

    /** The gap containing {@code k}, or null if a segment contains it. With {@link #findSegment}: gVisor's {@code Find}. */
    public Gap<V> findGap(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0 && Long.compareUnsigned(k, leaf.ends[i]) < 0) {
            return null;
        }
        return Gap.canonical(this, leaf, i + 1);
    }

    /** The segment containing {@code k}, else the first segment after {@code k}, or null. */
    public Segment<V> lowerBoundSegment(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0 && Long.compareUnsigned(k, leaf.ends[i]) < 0) {
            return new Segment<>(this, leaf, i);
        }
        return i + 1 < leaf.n ? new Segment<>(this, leaf, i + 1)
                : leaf.next == null ? null : new Segment<>(this, leaf.next, 0);
    }

    /** The segment containing {@code k}, else the last segment before {@code k}, or null. */
    public Segment<V> upperBoundSegment(long k) {
        Node leaf = leafFor(k);
        int i = leaf.lastStartAtOrBefore(k);
        if (i >= 0) {
            return new Segment<>(this, leaf, i);
        }
        return leaf.prev == null ? null : new Segment<>(this, leaf.prev, leaf.prev.n - 1);
    }

    /** The first segment, or null if the set is empty. */
    public Segment<V> firstSegment() {
        Node x = root;
        while (!x.leaf) {
            x = x.children[0];
        }
        return x.n == 0 ? null : new Segment<>(this, x, 0);
    }

    /** The last segment, or null if the set is empty. */
    public Segment<V> lastSegment() {
        Node x = root;
        while (!x.leaf) {
            x = x.children[x.n - 1];
        }
        return x.n == 0 ? null : new Segment<>(this, x, x.n - 1);
    }

    /** The gap before the first segment (the whole key space if the set is empty). */
    public Gap<V> firstGap() {
        Node x = root;
        while (!x.leaf) {
            x = x.children[0];
        }
        return new Gap<>(this, x, 0);
    }

    /** The gap after the last segment. */
    public Gap<V> lastGap() {
        Node x = root;
        while (!x.leaf) {
            x = x.children[x.n - 1];
        }
        return new Gap<>(this, x, x.n);
    }

    // ---------------------------------------------------------------- insertion

    /**
     * Inserts {@code [start, end)} with {@code value} into {@code gap}, merging it with the
     * predecessor if that ends at {@code start} and the functions agree, then the result
     * with the successor if that starts at {@code end}; otherwise with the successor only.
     *
     * @return the segment now containing {@code [start, end)}
     * @throws IllegalArgumentException if the range is empty or ill-formed, or does not fit in {@code gap}
     */
    public Segment<V> insert(Gap<V> gap, long start, long end, V value) {
        checkFits(gap, start, end);
        Segment<V> prev = gap.prevSegment();
        Segment<V> next = gap.nextSegment();
        if (prev != null && prev.end() == start) {
            V mv = fns.merge(prev.start(), prev.end(), prev.value(), start, end, value);
            if (mv != null) {
                if (next != null && next.start() == end) {
                    V mv2 = fns.merge(prev.start(), end, mv, next.start(), next.end(), next.value());
                    if (mv2 != null) {
                        long s = prev.start();
                        prev.node.ends[prev.index] = next.end();
                        prev.setValue(mv2);
                        markGaps(prev.node);
                        removeAt(next.node, next.index);
                        flushGaps();
                        return findSegment(s);
                    }
                }
                prev.node.ends[prev.index] = end;
                prev.setValue(mv);
                markGaps(prev.node);
                flushGaps();
                return prev;
            }
        }
        if (next != null && next.start() == end) {
            V mv = fns.merge(start, end, value, next.start(), next.end(), next.value());
            if (mv != null) {
                setStart(next.node, next.index, start);
                next.setValue(mv);
                markGaps(next.node);
                flushGaps();
                return next;
            }
        }
        Segment<V> seg = insertAt(gap.node, gap.index, start, end, value);
        flushGaps();
        return seg;
    }

    /**
     * Inserts {@code [start, end)} with {@code value} into {@code gap} as a segment of its
     * own, never merging.
     *
     * @return the new segment
     * @throws IllegalArgumentException if the range is empty or ill-formed, or does not fit in {@code gap}
     */
    public Segment<V> insertWithoutMerging(Gap<V> gap, long start, long end, V value) {
        checkFits(gap, start, end);
        Segment<V> seg = insertAt(gap.node, gap.index, start, end, value);
        flushGaps();
        return seg;
    }

    /**
     * Inserts {@code [start, end)} with merging if it lies entirely in one gap (gVisor's {@code Add}).
     *
     * @return the segment containing the range, or null (set unchanged) if it overlaps a segment
     */
    public Segment<V> add(long start, long end, V value) {
        checkRange("range", start, end);
        Gap<V> gap = findGap(start);
        if (gap == null || Long.compareUnsigned(end, gap.end()) > 0) {
            return null;
        }
        return insert(gap, start, end, value);
    }

    /** As {@link #add} without merging. */
    public Segment<V> addWithoutMerging(long start, long end, V value) {
        checkRange("range", start, end);
        Gap<V> gap = findGap(start);
        if (gap == null || Long.compareUnsigned(end, gap.end()) > 0) {
            return null;
        }
        return insertWithoutMerging(gap, start, end, value);
    }

    private void checkRange(String arg, long start, long end) {
        if (Long.compareUnsigned(start, end) >= 0) {
            throw new IllegalArgumentException(arg + " = [" + Pages.hex(start) + ", " + Pages.hex(end) + ") is empty or ill-formed");
        }
        if (Long.compareUnsigned(start, minKey) < 0 || Long.compareUnsigned(end, maxKey) > 0) {
            throw new IllegalArgumentException(arg + " = [" + Pages.hex(start) + ", " + Pages.hex(end)
                    + ") is outside the key space [" + Pages.hex(minKey) + ", " + Pages.hex(maxKey) + ")");
        }
    }

    private void checkFits(Gap<V> gap, long start, long end) {
        checkRange("range", start, end);
        if (Long.compareUnsigned(start, gap.start()) < 0 || Long.compareUnsigned(end, gap.end()) > 0) {
            throw new IllegalArgumentException("range = [" + Pages.hex(start) + ", " + Pages.hex(end)
                    + ") does not fit in " + gap);
        }
    }

    // ---------------------------------------------------------------- split, isolate

    /**
     * Splits {@code seg} at {@code x} into {@code [start, x)} and {@code [x, end)}, with values
     * from {@link SegmentFunctions#split}.
     *
     * @return the right piece; its {@link Segment#prevSegment()} is the left piece
     * @throws IllegalArgumentException unless {@code start < x < end}
     */
    public Segment<V> split(Segment<V> seg, long x) {
        if (!seg.canSplitAt(x)) {
            throw new IllegalArgumentException("x = " + Pages.hex(x) + " is not strictly inside segment " + seg);
        }
        return splitUnchecked(seg, x);
    }

    private Segment<V> splitUnchecked(Segment<V> seg, long x) {
        long end = seg.end();
        SegmentFunctions.Split<V> halves = fns.split(seg.start(), end, seg.value(), x);
        seg.node.ends[seg.index] = x;
        seg.setValue(halves.left());
        Segment<V> right = insertAt(seg.node, seg.index + 1, x, end, halves.right());
        flushGaps();
        return right;
    }

    /**
     * Splits {@code seg} at {@code start} and/or {@code end} where those lie strictly inside
     * it, and returns the piece inside {@code [start, end)}. Precondition: they overlap.
     */
    public Segment<V> isolate(Segment<V> seg, long start, long end) {
        if (seg.canSplitAt(start)) {
            seg = splitUnchecked(seg, start);
        }
        if (seg.canSplitAt(end)) {
            seg = splitUnchecked(seg, end).prevSegment();
        }
        return seg;
    }

    /** Splits {@code seg} at {@code start} if that lies strictly inside it; returns the piece from {@code start} on. */
    public Segment<V> splitBefore(Segment<V> seg, long start) {
        return seg.canSplitAt(start) ? splitUnchecked(seg, start) : seg;
    }

    /** Splits {@code seg} at {@code end} if that lies strictly inside it; returns the piece before {@code end}. */
    public Segment<V> splitAfter(Segment<V> seg, long end) {
        return seg.canSplitAt(end) ? splitUnchecked(seg, end).prevSegment() : seg;
    }

    /** {@link #lowerBoundSegment} then {@link #splitBefore}: no segment then spans {@code start}. */
    public Segment<V> lowerBoundSegmentSplitBefore(long start) {
        Segment<V> seg = lowerBoundSegment(start);
        return seg == null ? null : splitBefore(seg, start);
    }

    // ---------------------------------------------------------------- removal

    /**
     * Removes {@code seg}.
     *
     * @return the gap that now contains its range
     */
    public Gap<V> remove(Segment<V> seg) {
        long start = seg.start();
        restructured = false;
        removeAt(seg.node, seg.index);
        flushGaps();
        return restructured ? findGap(start) : Gap.canonical(this, seg.node, seg.index);
    }

    /** Removes every segment. */
    public void removeAll() {
        root = new Node(true);
        if (trackGaps) {
            root.maxGap = maxKey - minKey;
        }
        size = 0;
    }

    /**
     * Removes the parts of segments inside {@code [start, end)}, splitting the segments at
     * its edges, and calls {@code f} on each piece (ascending) just before removing it.
     *
     * @return the gap that now contains {@code start}
     */
    public Gap<V> removeRangeWith(long start, long end, Consumer<Segment<V>> f) {
        checkRange("range", start, end);
        Segment<V> seg = lowerBoundSegmentSplitBefore(start);
        while (seg != null && Long.compareUnsigned(seg.start(), end) < 0) {
            seg = splitAfter(seg, end);
            if (f != null) {
                f.accept(seg);
            }
            seg = remove(seg).nextSegment();
        }
        return findGap(start);
    }

    /** {@link #removeRangeWith} without a callback. */
    public Gap<V> removeRange(long start, long end) {
        return removeRangeWith(start, end, null);
    }

    /**
     * As {@link #removeRangeWith}, but {@code [start, end)} must be fully covered by segments.
     *
     * @throws IllegalArgumentException if it is not (and then nothing is removed)
     */
    public Gap<V> removeFullRangeWith(long start, long end, Consumer<Segment<V>> f) {
        checkFull(start, end);
        return removeRangeWith(start, end, f);
    }

    /** {@link #removeFullRangeWith} without a callback. */
    public Gap<V> removeFullRange(long start, long end) {
        return removeFullRangeWith(start, end, null);
    }

    private void checkFull(long start, long end) {
        checkRange("range", start, end);
        long pos = start;
        for (Segment<V> s = findSegment(start); s != null; s = s.nextSegment()) {
            if (s.start() != pos && Long.compareUnsigned(s.start(), pos) > 0) {
                break;
            }
            pos = s.end();
            if (Long.compareUnsigned(pos, end) >= 0) {
                return;
            }
        }
        throw new IllegalArgumentException("range = [" + Pages.hex(start) + ", " + Pages.hex(end)
                + ") is not fully covered: hole at " + Pages.hex(pos));
    }

    // ---------------------------------------------------------------- merging

    /**
     * Merges {@code a} with its successor {@code b} if they are adjacent and the functions
     * agree.
     *
     * @return the merged segment, or null (set unchanged) if they were not merged
     * @throws IllegalArgumentException unless {@code b} is {@code a}'s successor
     */
    public Segment<V> merge(Segment<V> a, Segment<V> b) {
        Segment<V> succ = a.nextSegment();
        if (succ == null || !succ.equals(b)) {
            throw new IllegalArgumentException("b = " + b + " is not the successor of a = " + a);
        }
        if (a.end() != b.start()) {
            return null;
        }
        V mv = fns.merge(a.start(), a.end(), a.value(), b.start(), b.end(), b.value());
        if (mv == null) {
            return null;
        }
        long start = a.start();
        a.node.ends[a.index] = b.end();
        a.setValue(mv);
        markGaps(a.node);
        restructured = false;
        removeAt(b.node, b.index);
        flushGaps();
        return restructured ? findSegment(start) : a;
    }

    /** Merges {@code seg} with its predecessor if possible; returns the resulting segment. */
    public Segment<V> mergePrev(Segment<V> seg) {
        Segment<V> prev = seg.prevSegment();
        if (prev != null) {
            Segment<V> m = merge(prev, seg);
            if (m != null) {
                return m;
            }
        }
        return seg;
    }

    /** Merges {@code seg} with its successor if possible; returns the resulting segment. */
    public Segment<V> mergeNext(Segment<V> seg) {
        Segment<V> next = seg.nextSegment();
        if (next != null) {
            Segment<V> m = merge(seg, next);
            if (m != null) {
                return m;
            }
        }
        return seg;
    }

    /** Merges {@code seg} with its predecessor, then with its successor, where possible. */
    public Segment<V> unisolate(Segment<V> seg) {
        return mergeNext(mergePrev(seg));
    }

    /**
     * From the segment containing or after {@code start}, merges each segment with its
     * successor while the successor starts before {@code end}.
     */
    public void mergeInsideRange(long start, long end) {
        Segment<V> seg = lowerBoundSegment(start);
        if (seg == null) {
            return;
        }
        Segment<V> next = seg.nextSegment();
        while (next != null && Long.compareUnsigned(next.start(), end) < 0) {
            Segment<V> m = merge(seg, next);
            seg = m != null ? m : next;
            next = seg.nextSegment();
        }
    }

    /**
     * Merges the segment containing {@code start} with its predecessor, then the segment
     * containing {@code end - 1} with its successor. Nothing strictly inside the range is merged.
     */
    public void mergeOutsideRange(long start, long end) {
        Segment<V> first = findSegment(start);
        if (first != null) {
            Segment<V> prev = first.prevSegment();
            if (prev != null) {
                merge(prev, first);
            }
        }
        Segment<V> last = findSegment(end - 1);
        if (last != null) {
            Segment<V> next = last.nextSegment();
            if (next != null) {
                merge(last, next);
            }
        }
    }

    /** Merges every mergeable pair of adjacent segments. */
    public void mergeAll() {
        Segment<V> seg = firstSegment();
        if (seg == null) {
            return;
        }
        Segment<V> next = seg.nextSegment();
        while (next != null) {
            Segment<V> m = merge(seg, next);
            seg = m != null ? m : next;
            next = seg.nextSegment();
        }
    }

    // ---------------------------------------------------------------- visiting and mutating

    /**
     * Splits the segments at the edges of {@code [start, end)} and calls {@code f} on each
     * segment inside it (ascending), trying to merge each with its predecessor afterwards and
     * finally the first segment after the range with its predecessor. {@code f} may change the
     * segment's value (not the set). If {@code f} returns false the walk stops at once: that
     * segment is merged with its predecessor and then its successor, and the rest of the range
     * is left as it was.
     */
    public void mutateRange(long start, long end, Predicate<Segment<V>> f) {
        checkRange("range", start, end);
        Segment<V> seg = lowerBoundSegmentSplitBefore(start);
        while (seg != null && Long.compareUnsigned(seg.start(), end) < 0) {
            seg = splitAfter(seg, end);
            if (!f.test(seg)) {
                unisolate(seg);
                return;
            }
            seg = mergePrev(seg).nextSegment();
        }
        if (seg != null) {
            mergePrev(seg);
        }
    }

    /**
     * As {@link #mutateRange}, but {@code [start, end)} must be fully covered by segments.
     *
     * @throws IllegalArgumentException if it is not (and then nothing is changed)
     */
    public void mutateFullRange(long start, long end, Predicate<Segment<V>> f) {
        checkFull(start, end);
        mutateRange(start, end, f);
    }

    /**
     * Calls {@code f} on each segment overlapping {@code [start, end)}, ascending, without
     * splitting (so {@code f} may see segments reaching outside the range); stops when
     * {@code f} returns false.
     */
    public void visitRange(long start, long end, Predicate<Segment<V>> f) {
        for (Segment<V> s = lowerBoundSegment(start); s != null && Long.compareUnsigned(s.start(), end) < 0; s = s.nextSegment()) {
            if (!f.test(s)) {
                return;
            }
        }
    }

    /**
     * As {@link #visitRange}, but throws {@link IllegalStateException} on reaching a hole
     * in {@code [start, end)} before {@code f} stops the walk.
     */
    public void visitFullRange(long start, long end, Predicate<Segment<V>> f) {
        long pos = start;
        Segment<V> s = findSegment(start);
        while (Long.compareUnsigned(pos, end) < 0) {
            if (s == null || Long.compareUnsigned(s.start(), pos) > 0) {
                throw new IllegalStateException("hole at " + Pages.hex(pos) + " in [" + Pages.hex(start) + ", " + Pages.hex(end) + ")");
            }
            if (!f.test(s)) {
                return;
            }
            pos = s.end();
            s = s.nextSegment();
        }
    }

    // ---------------------------------------------------------------- gap queries

    private void requireGapTracking() {
        if (!trackGaps) {
            throw new UnsupportedOperationException("this SegmentSet was made without gap tracking");
        }
    }

    private static boolean atLeast(long gap, long min) {
        return Long.compareUnsigned(gap, min) >= 0;
    }

    /** The lowest gap with length at least {@code minLength}, or null. Requires gap tracking. */
    public Gap<V> firstLargeEnoughGap(long minLength) {
        requireGapTracking();
        if (!atLeast(root.maxGap, minLength)) {
            return null;
        }
        return descendFirst(root, minLength);
    }

    /** The highest gap with length at least {@code minLength}, or null. Requires gap tracking. */
    public Gap<V> lastLargeEnoughGap(long minLength) {
        requireGapTracking();
        if (!atLeast(root.maxGap, minLength)) {
            return null;
        }
        return descendLast(root, minLength);
    }

    Gap<V> nextLargeEnoughGap(Gap<V> gap, long minLength) {
        requireGapTracking();
        Node leaf = gap.node;
        int last = leaf.next == null ? leaf.n : leaf.n - 1;
        for (int i = gap.index + 1; i <= last; i++) {
            if (atLeast(ownedGap(leaf, i), minLength)) {
                return new Gap<>(this, leaf, i);
            }
        }
        for (Node x = leaf; x.parent != null; x = x.parent) {
            Node p = x.parent;
            for (int c = x.indexInParent + 1; c < p.n; c++) {
                if (atLeast(p.children[c].maxGap, minLength)) {
                    return descendFirst(p.children[c], minLength);
                }
            }
        }
        return null;
    }

    Gap<V> prevLargeEnoughGap(Gap<V> gap, long minLength) {
        requireGapTracking();
        Node leaf = gap.node;
        for (int i = gap.index - 1; i >= 0; i--) {
            if (atLeast(ownedGap(leaf, i), minLength)) {
                return new Gap<>(this, leaf, i);
            }
        }
        for (Node x = leaf; x.parent != null; x = x.parent) {
            Node p = x.parent;
            for (int c = x.indexInParent - 1; c >= 0; c--) {
                if (atLeast(p.children[c].maxGap, minLength)) {
                    return descendLast(p.children[c], minLength);
                }
            }
        }
        return null;
    }

    private Gap<V> descendFirst(Node x, long minLength) {
        while (!x.leaf) {
            int c = 0;
            while (!atLeast(x.children[c].maxGap, minLength)) {
                c++;
            }
            x = x.children[c];
        }
        int last = x.next == null ? x.n : x.n - 1;
        for (int i = 0; i <= last; i++) {
            if (atLeast(ownedGap(x, i), minLength)) {
                return new Gap<>(this, x, i);
            }
        }
        throw new IllegalStateException("gap tracking is inconsistent");
    }

    private Gap<V> descendLast(Node x, long minLength) {
        while (!x.leaf) {
            int c = x.n - 1;
            while (!atLeast(x.children[c].maxGap, minLength)) {
                c--;
            }
            x = x.children[c];
        }
        int last = x.next == null ? x.n : x.n - 1;
        for (int i = last; i >= 0; i--) {
            if (atLeast(ownedGap(x, i), minLength)) {
                return new Gap<>(this, x, i);
            }
        }
        throw new IllegalStateException("gap tracking is inconsistent");
    }

    /** Length of the gap before segment {@code i} of {@code leaf} ({@code i == n}: the trailing gap). */
    private long ownedGap(Node leaf, int i) {
        long s = i > 0 ? leaf.ends[i - 1] : leaf.endBefore(minKey);
        long e = i < leaf.n ? leaf.starts[i] : maxKey;
        return e - s;
    }

    // ---------------------------------------------------------------- B+-tree internals

    /** Inserts an entry at position {@code i} of {@code leaf} (0 <= i <= n), splitting full nodes. */
    private Segment<V> insertAt(Node leaf, int i, long start, long end, Object value) {
        if (leaf.n == Node.CAPACITY) {
            Node right = splitNode(leaf);
            if (i > leaf.n) {
                i -= leaf.n;
                leaf = right;
            }
        }
        int move = leaf.n - i;
        if (move > 0) {
            System.arraycopy(leaf.starts, i, leaf.starts, i + 1, move);
            System.arraycopy(leaf.ends, i, leaf.ends, i + 1, move);
            System.arraycopy(leaf.values, i, leaf.values, i + 1, move);
        }
        leaf.starts[i] = start;
        leaf.ends[i] = end;
        leaf.values[i] = value;
        leaf.n++;
        size++;
        if (i == 0) {
            updateSeparators(leaf);
        }
        markGaps(leaf);
        return new Segment<>(this, leaf, i);
    }

    /** Sets the start of entry {@code i} of {@code leaf}, keeping separators exact. */
    private void setStart(Node leaf, int i, long start) {
        leaf.starts[i] = start;
        if (i == 0) {
            updateSeparators(leaf);
        }
        markGaps(leaf);
    }

    /** Propagates {@code x.starts[0]} into the ancestors' separators while x is a first child. */
    private static void updateSeparators(Node x) {
        while (x.parent != null) {
            x.parent.starts[x.indexInParent] = x.starts[0];
            if (x.indexInParent != 0) {
                return;
            }
            x = x.parent;
        }
    }

    /** Moves the upper half of full node {@code x} into a new right sibling; returns it. */
    private Node splitNode(Node x) {
        restructured = true;
        Node right = new Node(x.leaf);
        int half = x.n / 2;
        int moved = x.n - half;
        System.arraycopy(x.starts, half, right.starts, 0, moved);
        if (x.leaf) {
            System.arraycopy(x.ends, half, right.ends, 0, moved);
            System.arraycopy(x.values, half, right.values, 0, moved);
            java.util.Arrays.fill(x.values, half, x.n, null);
            right.next = x.next;
            if (x.next != null) {
                x.next.prev = right;
            }
            x.next = right;
            right.prev = x;
        } else {
            System.arraycopy(x.children, half, right.children, 0, moved);
            java.util.Arrays.fill(x.children, half, x.n, null);
            for (int c = 0; c < moved; c++) {
                right.children[c].parent = right;
                right.children[c].indexInParent = c;
            }
        }
        right.n = moved;
        x.n = half;
        markGaps(x);
        markGaps(right);
        if (x.parent == null) {
            Node newRoot = new Node(false);
            newRoot.children[0] = x;
            newRoot.starts[0] = x.starts[0];
            newRoot.n = 1;
            x.parent = newRoot;
            x.indexInParent = 0;
            root = newRoot;
        }
        insertChild(x.parent, x.indexInParent + 1, right);
        return right;
    }

    /** Inserts {@code child} at position {@code i} (>= 1) of internal node {@code p}. */
    private void insertChild(Node p, int i, Node child) {
        if (p.n == Node.CAPACITY) {
            Node right = splitNode(p);
            if (i > p.n) {
                i -= p.n;
                p = right;
            }
        }
        int move = p.n - i;
        if (move > 0) {
            System.arraycopy(p.starts, i, p.starts, i + 1, move);
            System.arraycopy(p.children, i, p.children, i + 1, move);
        }
        p.starts[i] = child.starts[0];
        p.children[i] = child;
        p.n++;
        for (int c = i; c < p.n; c++) {
            p.children[c].parent = p;
            p.children[c].indexInParent = c;
        }
        if (i == 0) {
            updateSeparators(p);
        }
        markGaps(p);
    }

    /** Removes entry {@code i} of {@code leaf}, then rebalances. */
    private void removeAt(Node leaf, int i) {
        int move = leaf.n - i - 1;
        if (move > 0) {
            System.arraycopy(leaf.starts, i + 1, leaf.starts, i, move);
            System.arraycopy(leaf.ends, i + 1, leaf.ends, i, move);
            System.arraycopy(leaf.values, i + 1, leaf.values, i, move);
        }
        leaf.n--;
        leaf.values[leaf.n] = null;
        size--;
        markGaps(leaf);
        if (leaf.next != null) {
            markGaps(leaf.next);
        }
        if (leaf.parent == null) {
            return;
        }
        if (leaf.n == 0) {
            unlinkLeaf(leaf);
            removeChild(leaf.parent, leaf.indexInParent);
            return;
        }
        if (i == 0) {
            updateSeparators(leaf);
        }
        if (leaf.n < Node.MIN_FILL) {
            mergeWithSibling(leaf);
        }
    }

    private void unlinkLeaf(Node leaf) {
        if (leaf.prev != null) {
            leaf.prev.next = leaf.next;
        }
        if (leaf.next != null) {
            leaf.next.prev = leaf.prev;
            markGaps(leaf.next);
        }
        leaf.prev = null;
        leaf.next = null;
    }

    /** Removes child {@code i} of internal node {@code p}, then rebalances or shrinks the tree. */
    private void removeChild(Node p, int i) {
        restructured = true;
        p.children[i].parent = null;
        int move = p.n - i - 1;
        if (move > 0) {
            System.arraycopy(p.starts, i + 1, p.starts, i, move);
            System.arraycopy(p.children, i + 1, p.children, i, move);
        }
        p.n--;
        p.children[p.n] = null;
        for (int c = i; c < p.n; c++) {
            p.children[c].indexInParent = c;
        }
        markGaps(p);
        if (p.parent == null) {
            while (!root.leaf && root.n == 1) {
                root = root.children[0];
                root.parent = null;
                root.indexInParent = 0;
            }
            return;
        }
        if (p.n == 0) {
            removeChild(p.parent, p.indexInParent);
            return;
        }
        if (i == 0) {
            updateSeparators(p);
        }
        if (p.n < Node.MIN_FILL) {
            mergeWithSibling(p);
        }
    }

    /**
     * Merges underfull node {@code x} with a sibling under the same parent when the two fit
     * in one node. (No borrowing: a node is left underfull only between two siblings too
     * full to take it, which keeps the average fill above a quarter and the height O(log n).)
     */
    private void mergeWithSibling(Node x) {
        Node p = x.parent;
        if (x.indexInParent > 0) {
            Node left = p.children[x.indexInParent - 1];
            if (left.n + x.n <= Node.CAPACITY) {
                absorb(left, x);
                return;
            }
        }
        if (x.indexInParent + 1 < p.n) {
            Node right = p.children[x.indexInParent + 1];
            if (x.n + right.n <= Node.CAPACITY) {
                absorb(x, right);
            }
        }
    }

    /** Moves every entry of {@code right} to the end of its left sibling {@code left}, then removes {@code right}. */
    private void absorb(Node left, Node right) {
        System.arraycopy(right.starts, 0, left.starts, left.n, right.n);
        if (left.leaf) {
            System.arraycopy(right.ends, 0, left.ends, left.n, right.n);
            System.arraycopy(right.values, 0, left.values, left.n, right.n);
            unlinkLeaf(right);
        } else {
            for (int c = 0; c < right.n; c++) {
                Node child = right.children[c];
                left.children[left.n + c] = child;
                child.parent = left;
                child.indexInParent = left.n + c;
            }
        }
        left.n += right.n;
        right.n = 0;
        markGaps(left);
        removeChild(right.parent, right.indexInParent);
    }

    // ---------------------------------------------------------------- gap bookkeeping

    private void markGaps(Node x) {
        if (trackGaps) {
            gapDirty.add(x);
        }
    }

    /** Recomputes {@link Node#maxGap} for every marked node (and a marked leaf's successor) and their ancestors. */
    private void flushGaps() {
        if (!trackGaps || gapDirty.isEmpty()) {
            return;
        }
        int count = gapDirty.size();
        for (int d = 0; d < count; d++) {
            Node x = gapDirty.get(d);
            if (x.leaf && x.next != null) {
                gapDirty.add(x.next);
            }
        }
        for (Node x : gapDirty) {
            if (x != root && x.parent == null) {
                continue; // removed from the tree
            }
            for (Node y = x; y != null; y = y.parent) {
                y.maxGap = computeMaxGap(y);
            }
        }
        gapDirty.clear();
    }

    private long computeMaxGap(Node x) {
        long max = 0;
        if (x.leaf) {
            int last = x.next == null ? x.n : x.n - 1;
            for (int i = 0; i <= last; i++) {
                long g = ownedGap(x, i);
                if (Long.compareUnsigned(g, max) > 0) {
                    max = g;
                }
            }
        } else {
            for (int c = 0; c < x.n; c++) {
                long g = x.children[c].maxGap;
                if (Long.compareUnsigned(g, max) > 0) {
                    max = g;
                }
            }
        }
        return max;
    }

    /**
     * Checks the tree's invariants (key order, non-overlap, exact separators, parent links,
     * leaf chain, size, gap maxima) and throws {@link IllegalStateException} on the first
     * violation. O(n); for tests.
     */
    public void checkInvariants() {
        long[] count = {0};
        Node[] lastLeaf = {null};
        long[] lastEnd = {minKey};
        boolean[] any = {false};
        check(root, null, count, lastLeaf, lastEnd, any);
        if (count[0] != size) {
            throw new IllegalStateException("size " + size + " but " + count[0] + " segments");
        }
        if (lastLeaf[0] != null && lastLeaf[0].next != null) {
            throw new IllegalStateException("last leaf has a successor");
        }
    }

    private void check(Node x, Node parent, long[] count, Node[] lastLeaf, long[] lastEnd, boolean[] any) {
        if (x.parent != parent) {
            throw new IllegalStateException("bad parent link");
        }
        if (x != root && x.n == 0) {
            throw new IllegalStateException("empty non-root node");
        }
        if (x.leaf) {
            if (x.prev != lastLeaf[0]) {
                throw new IllegalStateException("bad leaf chain");
            }
            if (lastLeaf[0] != null && lastLeaf[0].next != x) {
                throw new IllegalStateException("bad leaf chain (next)");
            }
            for (int i = 0; i < x.n; i++) {
                if (Long.compareUnsigned(x.starts[i], x.ends[i]) >= 0) {
                    throw new IllegalStateException("empty or ill-formed segment at " + Pages.hex(x.starts[i]));
                }
                if (Long.compareUnsigned(x.starts[i], lastEnd[0]) < 0 && any[0]) {
                    throw new IllegalStateException("overlapping or unordered segment at " + Pages.hex(x.starts[i]));
                }
                any[0] = true;
                lastEnd[0] = x.ends[i];
                count[0]++;
            }
            lastLeaf[0] = x;
        } else {
            for (int c = 0; c < x.n; c++) {
                Node child = x.children[c];
                if (child.indexInParent != c) {
                    throw new IllegalStateException("bad child index");
                }
                if (x.starts[c] != child.starts[0]) {
                    throw new IllegalStateException("inexact separator");
                }
                check(child, x, count, lastLeaf, lastEnd, any);
            }
        }
        if (trackGaps && x.maxGap != computeMaxGap(x)) {
            throw new IllegalStateException("stale maxGap");
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (Segment<V> s = firstSegment(); s != null; s = s.nextSegment()) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(s);
        }
        return sb.append('}').toString();
    }
}
