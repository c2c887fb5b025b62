package memmap.api;

/**
 * A half-open range {@code [start, end)} of unsigned 64-bit values (spec §0.1): the one
 * template behind {@link AddrRange}, {@link MappableRange} and {@link FileRange}. The three
 * are distinct types so that addresses, Mappable offsets and file offsets cannot be mixed.
 *
 * <p>A range value may be ill-formed ({@code start > end}); {@link #wellFormed()} says so
 * and every other operation assumes a well-formed range. Entry points that take ranges
 * check them with {@link #checkNonEmpty(String)} / {@link #checkPageAligned(String)}.
 *
 * @param <R> the concrete range type
 */
public interface UnsignedRange<R extends UnsignedRange<R>> {
    /** First value in the range. */
    long start();

    /** First value after the range (exclusive). */
    long end();

    /** A range of the same type with the given bounds. */
    R withBounds(long start, long end);

    /** {@code start <= end}. */
    default boolean wellFormed() {
        return Long.compareUnsigned(start(), end()) <= 0;
    }

    /** {@code end - start}. */
    default long length() {
        return end() - start();
    }

    /** {@code start == end}. */
    default boolean isEmpty() {
        return start() == end();
    }

    /** {@code start <= x < end}. */
    default boolean contains(long x) {
        return Long.compareUnsigned(start(), x) <= 0 && Long.compareUnsigned(x, end()) < 0;
    }

    /** {@code start < r.end && r.start < end}. */
    default boolean overlaps(R r) {
        return Long.compareUnsigned(start(), r.end()) < 0 && Long.compareUnsigned(r.start(), end()) < 0;
    }

    /** {@code start <= r.start && end >= r.end}; an empty {@code r} inside or at the edge counts. */
    default boolean isSupersetOf(R r) {
        return Long.compareUnsigned(start(), r.start()) <= 0 && Long.compareUnsigned(end(), r.end()) >= 0;
    }

    /**
     * The intersection: {@code [max(starts), min(ends))}, with the end clamped to the start
     * when the ranges do not overlap (so a non-overlap yields an empty range at {@code max(starts)}).
     */
    default R intersect(R r) {
        long s = Long.compareUnsigned(start(), r.start()) >= 0 ? start() : r.start();
        long e = Long.compareUnsigned(end(), r.end()) <= 0 ? end() : r.end();
        if (Long.compareUnsigned(e, s) < 0) {
            e = s;
        }
        return withBounds(s, e);
    }

    /** {@code contains(x) && start < x}: x lies strictly inside the range. */
    default boolean canSplitAt(long x) {
        return contains(x) && Long.compareUnsigned(start(), x) < 0;
    }

    /** True if both bounds are page-aligned. */
    default boolean isPageAligned() {
        return Pages.isPageAligned(start()) && Pages.isPageAligned(end());
    }

    /**
     * Checks that this range is well-formed and non-empty.
     *
     * @param arg the argument name used in the message
     * @return this range
     * @throws IllegalArgumentException naming {@code arg} and the range otherwise
     */
    @SuppressWarnings("unchecked")
    default R checkNonEmpty(String arg) {
        if (!wellFormed()) {
            throw new IllegalArgumentException(arg + " = " + this + " is ill-formed (start > end)");
        }
        if (isEmpty()) {
            throw new IllegalArgumentException(arg + " = " + this + " is empty");
        }
        return (R) this;
    }

    /**
     * Checks that this range is well-formed, non-empty and page-aligned.
     *
     * @param arg the argument name used in the message
     * @return this range
     * @throws IllegalArgumentException naming {@code arg} and the range otherwise
     */
    default R checkPageAligned(String arg) {
        R r = checkNonEmpty(arg);
        if (!isPageAligned()) {
            throw new IllegalArgumentException(arg + " = " + this + " is not page-aligned");
        }
        return r;
    }

    /** Go's {@code "[%#x, %#x)"}. */
    static String format(long start, long end) {
        return "[" + Pages.hex(start) + ", " + Pages.hex(end) + ")";
    }
}
