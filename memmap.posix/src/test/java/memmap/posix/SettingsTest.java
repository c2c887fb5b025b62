package memmap.posix;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Configuration mistakes are one line each, naming the PID, the property and the value; the serving value stays. */
class SettingsTest {
    static boolean power(long v) {
        return v >= 4096 && Long.bitCount(v) == 1;
    }

    @Test
    void aBadValueIsRejectedAndTheServingValueStays() {
        Settings s = new Settings("memmap.anon.provider", Map.of("fillAhead", "banana", "populate", "yes"));
        assertEquals(16384, s.longValue("fillAhead", 65536, 16384, "must be a power of two", SettingsTest::power));
        assertTrue(s.booleanValue("populate", false, true));
        assertEquals(List.of("memmap.anon.provider: fillAhead = \"banana\" rejected: not a number; keeping 16384",
                "memmap.anon.provider: populate = \"yes\" rejected: not true or false; keeping true"), s.rejected());
    }

    @Test
    void aValueBreakingItsRuleIsRejected() {
        Settings s = new Settings("p", Map.of("fillAhead", 3000L));
        assertEquals(65536, s.longValue("fillAhead", 65536, 65536, "must be a power of two", SettingsTest::power));
        assertEquals(List.of("p: fillAhead = 3000 rejected: must be a power of two; keeping 65536"), s.rejected());
    }

    @Test
    void aMistypedKeyIsNamedWithTheKeyItMeant() {
        Settings s = new Settings("memmap.anon.provider", Map.of("fillahead", "8192", "service.pid", "x", "component.id", 4L,
                "felix.fileinstall.filename", "f", "memmap.backing.kind", "anonymous", ".private", 1), "memmap.backing.kind");
        assertEquals(65536, s.longValue("fillAhead", 65536, 65536, "", SettingsTest::power));
        s.booleanValue("populate", true, true);
        assertEquals(List.of("memmap.anon.provider: unknown property fillahead = \"8192\" ignored (did you mean fillAhead?)"), s.rejected());
        Settings t = new Settings("p", Map.of("colour", "red"));
        t.stringValue("color", "", "");
        assertEquals(List.of("p: unknown property colour = \"red\" ignored; known: color"), t.rejected());
    }

    @Test
    void goodValuesInEveryFormConfigAdminGives() {
        Settings s = new Settings("p", Map.of("a", "8K", "b", 0x2000, "c", "0x4000", "d", "TRUE", "e", new String[] {"x", "y"},
                "f", List.of("z"), "g", "  padded  "));
        assertEquals(8192, s.longValue("a", 0, 0, "", v -> true));
        assertEquals(8192, s.longValue("b", 0, 0, "", v -> true));
        assertEquals(16384, s.longValue("c", 0, 0, "", v -> true));
        assertTrue(s.booleanValue("d", false, false));
        assertEquals(List.of("x", "y"), s.stringsValue("e", List.of(), List.of()));
        assertEquals(List.of("z"), s.stringsValue("f", List.of(), List.of()));
        assertEquals("padded", s.stringValue("g", "", ""));
        assertEquals(List.of(), s.rejected());
    }

    @Test
    void anAbsentPropertyIsTheDefaultNotTheServingValue() {
        Settings s = new Settings("p", Map.of());
        assertEquals(65536, s.longValue("fillAhead", 65536, 8192, "", v -> true), "a deleted configuration goes back to the default");
        assertEquals(List.of(), s.rejected());
    }

    @Test
    void overflowingAndFractionalNumbersAreRejected() {
        Settings s = new Settings("p", Map.of("a", "17179869184G", "b", 1.5, "c", ""));
        assertEquals(7, s.longValue("a", 7, 7, "", v -> true));
        assertEquals(7, s.longValue("b", 7, 7, "", v -> true));
        assertEquals(7, s.longValue("c", 7, 7, "", v -> true));
        assertEquals(3, s.rejected().size(), s.rejected().toString());
    }

    /**
     * parseNumber against a BigInteger oracle on 200,000 seeded random numbers in every form
     * people type (decimal, signed, 0x hex, K/M/G, underscores, blanks, upper case), the edges
     * of 64 bits weighted in: the value, or "overflows", or not a number, exactly as the oracle
     * says. Reproducible by seed.
     */
    @Test
    void parseNumberAgreesWithBigIntegerOnGeneratedInput() {
        java.util.Random rnd = new java.util.Random(12);
        java.math.BigInteger min = java.math.BigInteger.valueOf(Long.MIN_VALUE);
        java.math.BigInteger max = java.math.BigInteger.ONE.shiftLeft(64).subtract(java.math.BigInteger.ONE);
        java.math.BigInteger[] edges = {java.math.BigInteger.ZERO, min, max, max.add(java.math.BigInteger.ONE),
            java.math.BigInteger.ONE.shiftLeft(63), min.subtract(java.math.BigInteger.ONE)};
        for (int i = 0; i < 200_000; i++) {
            java.math.BigInteger base = switch (rnd.nextInt(4)) {
                case 0 -> edges[rnd.nextInt(edges.length)].add(java.math.BigInteger.valueOf(rnd.nextInt(5) - 2));
                case 1 -> new java.math.BigInteger(1 + rnd.nextInt(66), rnd);
                default -> java.math.BigInteger.valueOf(rnd.nextInt(1 << 20));
            };
            boolean hex = rnd.nextInt(3) == 0;
            int shift = hex ? 0 : new int[] {0, 0, 10, 20, 30}[rnd.nextInt(5)];
            boolean negative = base.signum() < 0;
            java.math.BigInteger mag = base.abs();
            String digits = hex ? "0x" + mag.toString(16) : mag.toString();
            if (rnd.nextInt(4) == 0 && digits.length() > 3) {
                digits = digits.substring(0, 3) + "_" + digits.substring(3);
            }
            String text = (negative ? "-" : "") + digits + (shift == 0 ? "" : "KMG".charAt(shift / 10 - 1));
            text = rnd.nextBoolean() ? text.toUpperCase(java.util.Locale.ROOT) : text;
            text = rnd.nextInt(5) == 0 ? " " + text + " " : text;
            java.math.BigInteger want = base.shiftLeft(shift);
            boolean magnitudeFits = mag.compareTo(max) <= 0 && mag.shiftLeft(shift).compareTo(max) <= 0;
            boolean fits = want.compareTo(min) >= 0 && want.compareTo(max) <= 0 && magnitudeFits;
            String input = text;
            if (fits) {
                assertEquals(want.longValue(), Settings.parseNumber(input), "seed 12, case " + i + ": " + input);
            } else {
                NumberFormatException e = assertThrows(NumberFormatException.class, () -> Settings.parseNumber(input),
                        "seed 12, case " + i + ": " + input);
                if (mag.compareTo(max) <= 0 && shift != 0) {
                    assertTrue(e.getMessage().contains("overflows"), input + ": " + e.getMessage());
                }
            }
        }
    }
}
