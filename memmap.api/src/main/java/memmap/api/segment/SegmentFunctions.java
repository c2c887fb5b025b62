package memmap.api.segment;

/**
 * How a {@link SegmentSet} merges and splits the values of its segments (the value half
 * of gVisor's segment-set template parameters; the key bounds are given to the set's
 * constructor).
 *
 * <p>Both methods are called with the set's structure in flux and must not touch the set.
 *
 * @param <V> the value type
 */
@org.osgi.annotation.versioning.ConsumerType
public interface SegmentFunctions<V> {
    /**
     * The value of the merged segment {@code [start1, end2)}, or {@code null} if the two
     * adjacent segments {@code [start1, end1)} (value {@code v1}) and {@code [start2, end2)}
     * (value {@code v2}, with {@code start2 == end1}) must stay separate.
     */
    V merge(long start1, long end1, V v1, long start2, long end2, V v2);

    /**
     * The values of the two pieces when segment {@code [start, end)} with value {@code v}
     * is split at {@code at}, where {@code start < at < end}.
     */
    Split<V> split(long start, long end, V v, long at);

    /**
     * The values of the two pieces of a split segment.
     *
     * @param left value of {@code [start, at)}
     * @param right value of {@code [at, end)}
     * @param <V> the value type
     */
    record Split<V>(V left, V right) {}

    /**
     * Functions for values that never merge and that both pieces of a split share.
     *
     * @param <V> the value type
     */
    static <V> SegmentFunctions<V> neverMerge() {
        return new SegmentFunctions<>() {
            @Override
            public V merge(long s1, long e1, V v1, long s2, long e2, V v2) {
                return null;
            }

            @Override
            public Split<V> split(long start, long end, V v, long at) {
                return new Split<>(v, v);
            }
        };
    }

    /**
     * Functions for values that merge when {@link Object#equals equal}, and that both pieces
     * of a split share (suitable for immutable values).
     *
     * @param <V> the value type
     */
    static <V> SegmentFunctions<V> mergeEqual() {
        return new SegmentFunctions<>() {
            @Override
            public V merge(long s1, long e1, V v1, long s2, long e2, V v2) {
                return java.util.Objects.equals(v1, v2) ? v1 : null;
            }

            @Override
            public Split<V> split(long start, long end, V v, long at) {
                return new Split<>(v, v);
            }
        };
    }
}
