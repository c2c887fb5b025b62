package memmap.api;

/**
 * Page-size constants and unsigned 64-bit page arithmetic (spec §0.3).
 *
 * <p>Every address, offset and length in memmap is an unsigned 64-bit value held in a
 * {@code long}. Rounding up can overflow; {@link #roundUp(long)} reports it in
 * {@link Rounded#ok()} instead of wrapping silently, as gVisor's {@code hostarch} does.
 */
public final class Pages {
    /** The page size {@code P}: 4 KiB on amd64 and arm64-4K. */
    public static final long PAGE_SIZE = 4096;
    /** log2 of {@link #PAGE_SIZE}. */
    public static final int PAGE_SHIFT = 12;
    /** The huge-page size {@code H}: 2 MiB. */
    public static final long HUGE_PAGE_SIZE = 2L << 20;
    /** log2 of {@link #HUGE_PAGE_SIZE}. */
    public static final int HUGE_PAGE_SHIFT = 21;

    private static final long PAGE_MASK = PAGE_SIZE - 1;
    private static final long HUGE_MASK = HUGE_PAGE_SIZE - 1;

    private Pages() {}

    /**
     * The result of rounding up: {@code value} is the rounded (possibly wrapped) value,
     * {@code ok} is false when rounding overflowed 2^64.
     */
    public record Rounded(long value, boolean ok) {}

    /** {@code x} rounded down to a page boundary. */
    public static long roundDown(long x) {
        return x & ~PAGE_MASK;
    }

    /** {@code x} rounded up to a page boundary; {@code ok=false} on overflow (the wrapped value is kept). */
    public static Rounded roundUp(long x) {
        long r = roundDown(x + PAGE_MASK);
        return new Rounded(r, Long.compareUnsigned(r, x) >= 0);
    }

    /**
     * {@code x} rounded up to a page boundary.
     *
     * @throws IllegalArgumentException naming {@code arg} and its value if rounding overflows 2^64
     */
    public static long roundUpExact(String arg, long x) {
        Rounded r = roundUp(x);
        if (!r.ok()) {
            throw new IllegalArgumentException(arg + " = " + hex(x) + " overflows 2^64 when rounded up to a page");
        }
        return r.value();
    }

    /** True if {@code x} is a multiple of the page size. */
    public static boolean isPageAligned(long x) {
        return (x & PAGE_MASK) == 0;
    }

    /** The offset of {@code x} inside its page. */
    public static long pageOffset(long x) {
        return x & PAGE_MASK;
    }

    /** {@code x} rounded down to a huge-page boundary. */
    public static long hugeRoundDown(long x) {
        return x & ~HUGE_MASK;
    }

    /** {@code x} rounded up to a huge-page boundary; {@code ok=false} on overflow. */
    public static Rounded hugeRoundUp(long x) {
        long r = hugeRoundDown(x + HUGE_MASK);
        return new Rounded(r, Long.compareUnsigned(r, x) >= 0);
    }

    /** True if {@code x} is a multiple of the huge-page size. */
    public static boolean isHugePageAligned(long x) {
        return (x & HUGE_MASK) == 0;
    }

    /**
     * {@code a + b} as unsigned 64-bit values.
     *
     * @throws IllegalArgumentException naming {@code arg} if the sum wraps past 2^64 - 1
     */
    public static long addExactUnsigned(String arg, long a, long b) {
        long s = a + b;
        if (Long.compareUnsigned(s, a) < 0) {
            throw new IllegalArgumentException(arg + ": " + hex(a) + " + " + hex(b) + " overflows 2^64");
        }
        return s;
    }

    /** True if {@code a + b} does not wrap past 2^64 - 1. */
    public static boolean addFits(long a, long b) {
        return Long.compareUnsigned(a + b, a) >= 0;
    }

    /** {@code v} as Go's {@code %#x} prints it: {@code 0x0}, {@code 0x1000}, unsigned. */
    public static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
