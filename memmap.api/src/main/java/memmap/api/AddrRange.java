package memmap.api;

/**
 * A half-open range of application addresses in a MappingSpace (gVisor's {@code hostarch.AddrRange}).
 * All operations are those of {@link UnsignedRange}; values are unsigned 64-bit.
 *
 * @param start first value in the range
 * @param end first value after the range
 */
public record AddrRange(long start, long end) implements UnsignedRange<AddrRange> {
    /**
     * {@code [start, start + length)}.
     *
     * @throws IllegalArgumentException naming the arguments if the end would pass 2^64 - 1
     *     (an end of exactly 2^64 is not representable and is reported too)
     */
    public static AddrRange ofLength(long start, long length) {
        long end = start + length;
        if (Long.compareUnsigned(end, start) < 0) {
            throw new IllegalArgumentException("start = " + Pages.hex(start) + ", length = " + Pages.hex(length)
                    + ": the range end overflows 2^64");
        }
        return new AddrRange(start, end);
    }

    @Override
    public AddrRange withBounds(long start, long end) {
        return new AddrRange(start, end);
    }

    /** Go's {@code "[%#x, %#x)"}, e.g. {@code [0x1000, 0x3000)}. */
    @Override
    public String toString() {
        return UnsignedRange.format(start, end);
    }
}
