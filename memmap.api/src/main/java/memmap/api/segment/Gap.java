package memmap.api.segment;

/**
 * A position of one gap in a {@link SegmentSet} (gVisor's {@code GapIterator}). A gap exists
 * between every two consecutive segments (possibly empty), before the first and after the
 * last; an empty set has the single gap {@code [minKey, maxKey)}.
 *
 * <p>Invariant: valid until the set is next changed. Represented as the gap before segment
 * {@code index} of a leaf ({@code index == n} only in the last leaf: the gap after the last
 * segment), so each gap has exactly one representation.
 *
 * @param <V> the value type
 */
public final class Gap<V> {
    final SegmentSet<V> set;
    final Node node;
    final int index;

    Gap(SegmentSet<V> set, Node node, int index) {
        this.set = set;
        this.node = node;
        this.index = index;
    }

    /** The gap before segment {@code index} of {@code leaf}, normalised across leaf boundaries. */
    static <V> Gap<V> canonical(SegmentSet<V> set, Node leaf, int index) {
        if (index == leaf.n && leaf.next != null) {
            return new Gap<>(set, leaf.next, 0);
        }
        return new Gap<>(set, leaf, index);
    }

    /** First key of the gap. */
    public long start() {
        return index > 0 ? node.ends[index - 1] : node.endBefore(set.minKey());
    }

    /** First key after the gap (exclusive). */
    public long end() {
        return index < node.n ? node.starts[index] : set.maxKey();
    }

    /** {@code end() - start()}. */
    public long length() {
        return end() - start();
    }

    /** True if the gap has length 0. */
    public boolean isEmpty() {
        return start() == end();
    }

    /** The segment before the gap, or null. */
    public Segment<V> prevSegment() {
        if (index > 0) {
            return new Segment<>(set, node, index - 1);
        }
        return node.prev == null ? null : new Segment<>(set, node.prev, node.prev.n - 1);
    }

    /** The segment after the gap, or null. */
    public Segment<V> nextSegment() {
        return index < node.n ? new Segment<>(set, node, index) : null;
    }

    /** The gap after the next segment, or null if this is the last gap. */
    public Gap<V> nextGap() {
        Segment<V> seg = nextSegment();
        return seg == null ? null : seg.nextGap();
    }

    /** The gap before the previous segment, or null if this is the first gap. */
    public Gap<V> prevGap() {
        Segment<V> seg = prevSegment();
        return seg == null ? null : seg.prevGap();
    }

    /**
     * The nearest gap after this one (excluding it) with length at least {@code minLength}
     * (unsigned), or null. Requires a set made with gap tracking.
     */
    public Gap<V> nextLargeEnoughGap(long minLength) {
        return set.nextLargeEnoughGap(this, minLength);
    }

    /**
     * The nearest gap before this one (excluding it) with length at least {@code minLength}
     * (unsigned), or null. Requires a set made with gap tracking.
     */
    public Gap<V> prevLargeEnoughGap(long minLength) {
        return set.prevLargeEnoughGap(this, minLength);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Gap<?> g && g.node == node && g.index == index;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(node) * 31 + index;
    }

    @Override
    public String toString() {
        return "gap [" + memmap.api.Pages.hex(start()) + ", " + memmap.api.Pages.hex(end()) + ")";
    }
}
