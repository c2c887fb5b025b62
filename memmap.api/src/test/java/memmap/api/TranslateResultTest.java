package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import memmap.api.TranslateResult.Postcondition;
import memmap.api.safemem.BlockSeq;

/** CheckTranslateResult (spec §1.3): for each postcondition, a result that violates it and one that satisfies it. */
class TranslateResultTest {
    static final MemmapFile FILE = new NoBufferedIOFallback() {
        @Override
        public void incRef(FileRange fr, int memCgId) {}

        @Override
        public void decRef(FileRange fr) {}

        @Override
        public BlockSeq mapInternal(FileRange fr, AccessType at) {
            return BlockSeq.EMPTY;
        }

        @Override
        public int dataFd(FileRange fr) {
            return -1;
        }

        @Override
        public int fd() {
            return -1;
        }
    };

    static final MappableRange REQUIRED = new MappableRange(0x2000, 0x4000);
    static final MappableRange OPTIONAL = new MappableRange(0x1000, 0x6000);
    static final AccessType AT = AccessType.READ_WRITE;

    static Translation t(long s, long e) {
        return new Translation(new MappableRange(s, e), FILE, 0x10000 + s, AccessType.ANY_ACCESS);
    }

    static Optional<TranslateResult.Violation> check(List<Translation> ts, MemmapError err) {
        return TranslateResult.checkTranslateResult(REQUIRED, OPTIONAL, AT, ts, err);
    }

    static Stream<Arguments> cases() {
        MemmapError err = Errno.EFAULT;
        return Stream.of(
                // postcondition, violating (translations, error), satisfying (translations, error)
                Arguments.of(Postcondition.FIRST_COVERS_REQUIRED_START, List.of(t(0x3000, 0x4000)), err,
                        List.of(t(0x2000, 0x3000)), err),
                Arguments.of(Postcondition.SOURCE_WELL_FORMED,
                        List.of(t(0x2000, 0x4000), new Translation(new MappableRange(0x4000, 0x4000), FILE, 0, AccessType.ANY_ACCESS)), null,
                        List.of(t(0x2000, 0x4000)), null),
                Arguments.of(Postcondition.SOURCE_PAGE_ALIGNED, List.of(t(0x2000, 0x4800)), null,
                        List.of(t(0x2000, 0x5000)), null),
                Arguments.of(Postcondition.FILE_PRESENT,
                        List.of(new Translation(REQUIRED, null, 0, AccessType.ANY_ACCESS)), null,
                        List.of(new Translation(REQUIRED, FILE, 0, AccessType.ANY_ACCESS)), null),
                Arguments.of(Postcondition.OFFSET_PAGE_ALIGNED,
                        List.of(new Translation(REQUIRED, FILE, 0x10, AccessType.ANY_ACCESS)), null,
                        List.of(new Translation(REQUIRED, FILE, 0x10000, AccessType.ANY_ACCESS)), null),
                Arguments.of(Postcondition.CONTIGUOUS, List.of(t(0x2000, 0x3000), t(0x3000, 0x3000 + 0x1000), t(0x5000, 0x6000)), null,
                        List.of(t(0x1000, 0x3000), t(0x3000, 0x4000)), null),
                Arguments.of(Postcondition.OVERLAPS_REQUIRED, List.of(t(0x2000, 0x4000), t(0x4000, 0x5000)), null,
                        List.of(t(0x2000, 0x5000)), null),
                Arguments.of(Postcondition.INSIDE_OPTIONAL, List.of(t(0x2000, 0x7000)), null,
                        List.of(t(0x2000, 0x6000)), null),
                Arguments.of(Postcondition.PERMITS_ACCESS,
                        List.of(new Translation(REQUIRED, FILE, 0, AccessType.READ)), null,
                        List.of(new Translation(REQUIRED, FILE, 0, AccessType.READ_WRITE)), null),
                Arguments.of(Postcondition.NON_EMPTY_WITHOUT_ERROR, List.of(), null,
                        List.of(), err),
                Arguments.of(Postcondition.COVERS_REQUIRED_WITHOUT_ERROR, List.of(t(0x2000, 0x3000)), null,
                        List.of(t(0x2000, 0x3000)), err));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void eachPostconditionIsCheckedAndCanBeSatisfied(Postcondition p, List<Translation> bad, MemmapError badErr,
            List<Translation> good, MemmapError goodErr) {
        Optional<TranslateResult.Violation> v = check(bad, badErr);
        assertTrue(v.isPresent(), "expected a violation of " + p);
        assertEquals(p, v.get().postcondition(), v.get().message());
        assertEquals(Optional.empty(), check(good, goodErr));
    }

    @Test
    void violationsAreReportedInOrderWithTheTranslationAtFault() {
        // Both unaligned (6b) and outside optional (6g) at index 1: 6b comes first.
        var v = check(List.of(t(0x2000, 0x3000), new Translation(new MappableRange(0x3000, 0x7800), FILE, 0, AccessType.ANY_ACCESS)), null);
        assertEquals(Postcondition.SOURCE_PAGE_ALIGNED, v.orElseThrow().postcondition());
        assertEquals(1, v.orElseThrow().index());
    }

    @Test
    void anErrorIsAllowedEvenWithFullCoverage() {
        assertEquals(Optional.empty(), check(List.of(t(0x2000, 0x4000)), new BusError(EndOfFile.INSTANCE)));
    }

    @Test
    void preconditionsThrowInOrder() {
        AccessType r = AccessType.READ;
        var e = assertThrows(IllegalArgumentException.class,
                () -> TranslateResult.checkTranslateResult(new MappableRange(0x2000, 0x2000), OPTIONAL, r, List.of(), null));
        assertTrue(e.getMessage().startsWith("required = [0x2000, 0x2000)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TranslateResult.checkTranslateResult(new MappableRange(0x3000, 0x2000), OPTIONAL, r, List.of(), null));
        assertTrue(e.getMessage().contains("ill-formed"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TranslateResult.checkTranslateResult(new MappableRange(0x2000, 0x2800), OPTIONAL, r, List.of(), null));
        assertTrue(e.getMessage().startsWith("required = [0x2000, 0x2800) is not page-aligned"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TranslateResult.checkTranslateResult(REQUIRED, new MappableRange(0x3000, 0x6000), r, List.of(), null));
        assertTrue(e.getMessage().contains("is not a superset"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TranslateResult.checkTranslateResult(REQUIRED, new MappableRange(0x1000, 0x6800), r, List.of(), null));
        assertTrue(e.getMessage().startsWith("optional = [0x1000, 0x6800) is not page-aligned"), e.getMessage());
    }

    @Test
    void requireValidThrowsNamingThePostcondition() {
        TranslateResult bad = TranslateResult.of(List.of(t(0x2000, 0x3000)));
        var e = assertThrows(IllegalStateException.class, () -> bad.requireValid(REQUIRED, OPTIONAL, AT));
        assertTrue(e.getMessage().contains("COVERS_REQUIRED_WITHOUT_ERROR"), e.getMessage());
        TranslateResult good = TranslateResult.of(t(0x2000, 0x4000));
        assertSame(good, good.requireValid(REQUIRED, OPTIONAL, AT));
    }

    @Test
    void translationFileRange() {
        assertEquals(new FileRange(0x12000, 0x14000), t(0x2000, 0x4000).fileRange());
    }

    @Test
    void resultsAreImmutable() {
        var list = new java.util.ArrayList<>(List.of(t(0x2000, 0x4000)));
        TranslateResult r = TranslateResult.of(list);
        list.clear();
        assertEquals(1, r.translations().size());
        assertThrows(UnsupportedOperationException.class, () -> r.translations().clear());
        assertThrows(NullPointerException.class, () -> TranslateResult.failure(null));
        assertNotNull(MemorySegment.NULL);
    }
}
