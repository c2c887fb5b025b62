package memmap.api.segment;

/**
 * A position of one segment in a {@link SegmentSet} (gVisor's segment {@code Iterator}).
 *
 * <p>Invariant: a handle is valid until the set is next changed, except through
 * {@link #setValue}; every mutating operation of the set returns fresh handles for what it
 * produced. Using a stale handle is undefined (as in gVisor), not checked.
 *
 * @param <V> the value type
 */
public final class Segment<V> {
    final SegmentSet<V> set;
    final Node node;
    final int index;

    Segment(SegmentSet<V> set, Node node, int index) {
        this.set = set;
        this.node = node;
        this.index = index;
    }

    /** First key of the segment. */
    public long start() {
        return node.starts[index];
    }

    /** First key after the segment (exclusive). */
    public long end() {
        return node.ends[index];
    }

    /** {@code end() - start()}. */
    public long length() {
        return end() - start();
    }

    /** The segment's value. */
    @SuppressWarnings("unchecked")
    public V value() {
        return (V) node.values[index];
    }

    /** Replaces the segment's value; the handle stays valid. */
    public void setValue(V value) {
        node.values[index] = value;
    }

    /** True if {@code start() <= k < end()} (unsigned). */
    public boolean contains(long k) {
        return Long.compareUnsigned(start(), k) <= 0 && Long.compareUnsigned(k, end()) < 0;
    }

    /** True if {@code start() < x < end()}: the segment can be split at {@code x}. */
    public boolean canSplitAt(long x) {
        return Long.compareUnsigned(start(), x) < 0 && Long.compareUnsigned(x, end()) < 0;
    }

    /** The next segment, or null if this is the last. */
    public Segment<V> nextSegment() {
        if (index + 1 < node.n) {
            return new Segment<>(set, node, index + 1);
        }
        return node.next == null ? null : new Segment<>(set, node.next, 0);
    }

    /** The previous segment, or null if this is the first. */
    public Segment<V> prevSegment() {
        if (index > 0) {
            return new Segment<>(set, node, index - 1);
        }
        return node.prev == null ? null : new Segment<>(set, node.prev, node.prev.n - 1);
    }

    /** The gap after this segment (possibly empty). */
    public Gap<V> nextGap() {
        return Gap.canonical(set, node, index + 1);
    }

    /** The gap before this segment (possibly empty). */
    public Gap<V> prevGap() {
        return new Gap<>(set, node, index);
    }

    /**
     * gVisor's {@code NextNonEmpty}: the next segment if it is adjacent, otherwise the gap
     * after this segment. Exactly one of the pair is non-null. When this segment ends at
     * the set's maximum key, the gap returned is the empty gap {@code [max, max)}.
     */
    public Step<V> nextNonEmpty() {
        Segment<V> next = nextSegment();
        if (next != null && next.start() == end()) {
            return new Step<>(next, null);
        }
        return new Step<>(null, nextGap());
    }

    /** gVisor's {@code PrevNonEmpty}: symmetric to {@link #nextNonEmpty()}. */
    public Step<V> prevNonEmpty() {
        Segment<V> prev = prevSegment();
        if (prev != null && prev.end() == start()) {
            return new Step<>(prev, null);
        }
        return new Step<>(null, prevGap());
    }

    /**
     * One step of a walk that visits segments and non-empty gaps in key order: exactly one
     * of {@code segment} and {@code gap} is non-null.
     *
     * @param segment the segment reached, or null
     * @param gap the gap reached, or null
     * @param <V> the value type
     */
    public record Step<V>(Segment<V> segment, Gap<V> gap) {}

    @Override
    public boolean equals(Object o) {
        return o instanceof Segment<?> s && s.node == node && s.index == index;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(node) * 31 + index;
    }

    @Override
    public String toString() {
        return "[" + memmap.api.Pages.hex(start()) + ", " + memmap.api.Pages.hex(end()) + ") = " + value();
    }
}
