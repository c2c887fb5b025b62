package memmap.api.segment;

/**
 * A node of a {@link SegmentSet}'s B+-tree. Leaves hold the segments in key order and are
 * chained ({@link #prev}/{@link #next}); internal nodes hold children and, in
 * {@link #starts}, the exact smallest start of each child's subtree (so a descent by key
 * never needs to look at a sibling).
 *
 * <p>With gap tracking, a leaf <em>owns</em> the gap before each of its segments, and the
 * last leaf also owns the gap after the last segment; {@link #maxGap} is the largest gap
 * owned in the subtree (unsigned).
 */
final class Node {
    static final int CAPACITY = 32;
    static final int MIN_FILL = CAPACITY / 4;

    final boolean leaf;
    int n;
    final long[] starts = new long[CAPACITY];
    final long[] ends;
    final Object[] values;
    final Node[] children;
    Node parent;
    int indexInParent;
    Node prev;
    Node next;
    long maxGap;

    Node(boolean leaf) {
        this.leaf = leaf;
        this.ends = leaf ? new long[CAPACITY] : null;
        this.values = leaf ? new Object[CAPACITY] : null;
        this.children = leaf ? null : new Node[CAPACITY];
    }

    /** Last index {@code i < n} with {@code starts[i] <= k} (unsigned), or -1. */
    int lastStartAtOrBefore(long k) {
        int lo = 0;
        int hi = n - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], k) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi;
    }

    /** End of the segment before this leaf's first, or {@code minKey} for the first leaf. */
    long endBefore(long minKey) {
        return prev == null ? minKey : prev.ends[prev.n - 1];
    }
}
