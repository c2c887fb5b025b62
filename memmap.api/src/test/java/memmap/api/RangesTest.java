package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Ranges (§0.1), page helpers (§0.3) and access types (§0.2), including unsigned edge cases. */
class RangesTest {
    @Test
    void rangeOperations() {
        MappableRange r = new MappableRange(0x1000, 0x3000);
        assertTrue(r.wellFormed());
        assertEquals(0x2000, r.length());
        assertTrue(r.contains(0x1000));
        assertFalse(r.contains(0x3000));
        assertTrue(r.overlaps(new MappableRange(0x2fff, 0x4000)));
        assertFalse(r.overlaps(new MappableRange(0x3000, 0x4000)));
        assertTrue(r.isSupersetOf(new MappableRange(0x3000, 0x3000)), "an empty range at the edge counts");
        assertFalse(r.isSupersetOf(new MappableRange(0x0, 0x1001)));
        assertEquals(new MappableRange(0x2000, 0x3000), r.intersect(new MappableRange(0x2000, 0x5000)));
        assertEquals(new MappableRange(0x5000, 0x5000), r.intersect(new MappableRange(0x5000, 0x6000)),
                "non-overlap clamps to an empty range at max(starts)");
        assertTrue(r.canSplitAt(0x2000));
        assertFalse(r.canSplitAt(0x1000));
        assertFalse(r.canSplitAt(0x3000));
        assertFalse(new FileRange(5, 4).wellFormed());
    }

    @Test
    void rangesAreUnsigned() {
        AddrRange high = new AddrRange(0xffff_ffff_ffff_0000L, 0xffff_ffff_ffff_f000L);
        assertTrue(high.wellFormed());
        assertEquals(0xf000, high.length());
        assertTrue(high.contains(0xffff_ffff_ffff_1000L));
        assertFalse(high.contains(0x1000));
        assertTrue(new AddrRange(0, -1L).isSupersetOf(high));
        assertEquals("[0xffffffffffff0000, 0xfffffffffffff000)", high.toString());
        assertEquals("[0x0, 0x1000)", new FileRange(0, 0x1000).toString());
    }

    @Test
    void ofLengthReportsOverflow() {
        assertEquals(new AddrRange(0x1000, 0x3000), AddrRange.ofLength(0x1000, 0x2000));
        var e = assertThrows(IllegalArgumentException.class, () -> AddrRange.ofLength(-0x1000L, 0x1000));
        assertTrue(e.getMessage().contains("start = 0xfffffffffffff000, length = 0x1000"), e.getMessage());
        assertEquals(new MappableRange(-0x2000L, -0x1000L), MappableRange.ofLength(-0x2000L, 0x1000));
    }

    @Test
    void checksNameTheArgument() {
        var e = assertThrows(IllegalArgumentException.class, () -> new FileRange(0x1000, 0x1800).checkPageAligned("fr"));
        assertEquals("fr = [0x1000, 0x1800) is not page-aligned", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FileRange(0x1000, 0x1000).checkPageAligned("fr"));
        assertEquals("fr = [0x1000, 0x1000) is empty", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FileRange(0x2000, 0x1000).checkNonEmpty("fr"));
        assertEquals("fr = [0x2000, 0x1000) is ill-formed (start > end)", e.getMessage());
    }

    @Test
    void pageRounding() {
        assertEquals(0x1000, Pages.roundDown(0x1fff));
        assertEquals(new Pages.Rounded(0x2000, true), Pages.roundUp(0x1001));
        assertEquals(new Pages.Rounded(0x1000, true), Pages.roundUp(0x1000));
        assertEquals(new Pages.Rounded(0, false), Pages.roundUp(-1L), "overflow wraps and is reported");
        assertEquals(new Pages.Rounded(-0x1000L, true), Pages.roundUp(-0x1000L));
        var e = assertThrows(IllegalArgumentException.class, () -> Pages.roundUpExact("length", -5L));
        assertTrue(e.getMessage().startsWith("length = 0xfffffffffffffffb"), e.getMessage());
        assertEquals(new Pages.Rounded(0x400000, true), Pages.hugeRoundUp(0x200001));
        assertEquals(0x200000, Pages.hugeRoundDown(0x3fffff));
        assertTrue(Pages.isHugePageAligned(0x400000));
        assertFalse(Pages.addFits(-1L, 1));
        assertTrue(Pages.addFits(-2L, 1));
        assertThrows(IllegalArgumentException.class, () -> Pages.addExactUnsigned("x", -1L, 1));
        assertEquals("0x0", Pages.hex(0));
    }

    @Test
    void accessTypes() {
        assertEquals("rw-", AccessType.READ_WRITE.toString());
        assertEquals("---", AccessType.NO_ACCESS.toString());
        assertEquals(AccessType.READ_WRITE, AccessType.WRITE.effective());
        assertEquals(AccessType.READ_EXECUTE, AccessType.EXECUTE.effective());
        assertEquals(AccessType.READ, AccessType.READ.effective());
        assertTrue(AccessType.ANY_ACCESS.supersetOf(AccessType.READ_WRITE));
        assertFalse(AccessType.READ.supersetOf(AccessType.WRITE));
        assertTrue(AccessType.READ.supersetOf(AccessType.NO_ACCESS));
        assertEquals(AccessType.READ, AccessType.READ_WRITE.intersect(AccessType.READ_EXECUTE));
        assertEquals(AccessType.ANY_ACCESS, AccessType.READ_WRITE.union(AccessType.EXECUTE));
        assertFalse(AccessType.NO_ACCESS.any());
        assertEquals(AccessType.READ_EXECUTE, AccessType.ANY_ACCESS.withoutWrite());
    }

    @Test
    void enumsKeepTheSeedsOrder() {
        assertEquals(0, MLockMode.NONE.ordinal());
        assertEquals(MLockMode.LAZY, MLockMode.max(MLockMode.EAGER, MLockMode.LAZY));
        assertEquals(MLockMode.EAGER, MLockMode.max(MLockMode.EAGER, MLockMode.NONE));
        assertEquals(0, NameMut.DISALLOWED.ordinal());
        assertEquals(2, NameMut.ANON_SHMEM.ordinal());
        assertTrue(MMapPlatformEffect.COMMIT.compareTo(MMapPlatformEffect.POPULATE) > 0);
    }
}
