package memmap.shell.internal;

import java.util.HexFormat;
import java.util.Set;

import memmap.api.AccessType;

/**
 * Parsing of command arguments, with errors that name the argument and the value: numbers in
 * decimal, {@code 0x} hex or with a {@code K}, {@code M}, {@code G} suffix (unsigned 64-bit),
 * permissions as {@code rwx} letters, hex data.
 */
final class Args {
    private Args() {
    }

    /** {@code value} as an unsigned 64-bit number (no sign: an address or a length). */
    static long number(String name, String value) {
        try {
            if (value.strip().startsWith("-")) {
                throw new NumberFormatException(value);
            }
            return memmap.posix.Settings.parseNumber(value);
        } catch (NumberFormatException e) {
            if (e.getMessage() != null && e.getMessage().contains("overflows")) {
                throw new IllegalArgumentException(name + " = " + value + " overflows 64 bits");
            }
            throw new IllegalArgumentException(name + " = " + value + " is not a number (decimal, 0x hex, or with K, M, G)");
        }
    }

    /** {@code value} as permissions: any of {@code r w x} once each, or {@code -} for none. */
    static AccessType perms(String name, String value) {
        if (value.equals("-")) {
            return AccessType.NO_ACCESS;
        }
        boolean r = false;
        boolean w = false;
        boolean x = false;
        for (char c : value.toCharArray()) {
            switch (c) {
                case 'r' -> r = !r || dup(name, value);
                case 'w' -> w = !w || dup(name, value);
                case 'x' -> x = !x || dup(name, value);
                default -> throw new IllegalArgumentException(name + " = " + value + ": permissions are any of r, w, x, or - for none");
            }
        }
        if (!r && !w && !x) {
            throw new IllegalArgumentException(name + " = " + value + ": permissions are any of r, w, x, or - for none");
        }
        return new AccessType(r, w, x);
    }

    private static boolean dup(String name, String value) {
        throw new IllegalArgumentException(name + " = " + value + " repeats a permission");
    }

    /** The address space numbered {@code value}, which must be one of {@code open}. */
    static int space(String value, Set<Integer> open) {
        return open("space", value, open, "open address space", "`space` makes one and prints it");
    }

    /** An open pinned view's number. */
    static int view(String value, Set<Integer> open) {
        return open("view", value, open, "open pinned view", "`pin` makes one and prints it");
    }

    /** {@code value} as one of the numbers in {@code open}, else an error naming {@code name}, the value and what is open. */
    private static int open(String name, String value, Set<Integer> open, String what, String hint) {
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " = " + value + " is not a number; " + hint);
        }
        if (!open.contains(n)) {
            throw new IllegalArgumentException(name + " = " + value + " is not an " + what + " (open: " + open + ")");
        }
        return n;
    }

    /** {@code value} as hex digits, spaces allowed between bytes. */
    static byte[] hexBytes(String name, String value) {
        String v = value.replace(" ", "");
        try {
            return HexFormat.of().parseHex(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " = " + value + " is not an even number of hex digits");
        }
    }

    /** {@code v} as Linux prints addresses: {@code 0x} and lower-case hex. */
    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** A non-negative 32-bit id (a System V segment's). */
    static int id(String name, String value) {
        long v = number(name, value);
        if (Long.compareUnsigned(v, Integer.MAX_VALUE) > 0) {
            throw new IllegalArgumentException(name + " = " + value + " is not a segment id (0 to " + Integer.MAX_VALUE + ")");
        }
        return (int) v;
    }

    /** An madvise advice by name (dontneed, DONTNEED, MADV_DONTNEED) or number. */
    static memmap.api.MAdvice advice(String name, String value) {
        String v = value.toUpperCase(java.util.Locale.ROOT).replaceFirst("^MADV_", "");
        for (memmap.api.MAdvice a : memmap.api.MAdvice.values()) {
            if (a.name().equals(v) || String.valueOf(a.value()).equals(value)) {
                return a;
            }
        }
        throw new IllegalArgumentException(name + " = " + value + " is not an advice (" + java.util.Arrays.stream(memmap.api.MAdvice.values())
                .map(a -> a.name().toLowerCase(java.util.Locale.ROOT)).collect(java.util.stream.Collectors.joining(", ")) + ")");
    }
}
