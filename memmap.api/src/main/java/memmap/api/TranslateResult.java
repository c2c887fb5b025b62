package memmap.api;

import java.util.List;
import java.util.Optional;

/**
 * What {@link Mappable#translate} returns: translations (possibly partial) and an error
 * (null if {@code required} was covered). Go returns both a slice and an error; so does this.
 *
 * @param translations the translations, in ascending contiguous order
 * @param error why {@code required} is not fully covered, or null
 */
public record TranslateResult(List<Translation> translations, MemmapError error) {
    public TranslateResult {
        translations = List.copyOf(translations);
    }

    /** Translations and no error. */
    public static TranslateResult of(List<Translation> translations) {
        return new TranslateResult(translations, null);
    }

    /** One translation and no error. */
    public static TranslateResult of(Translation t) {
        return new TranslateResult(List.of(t), null);
    }

    /** No translations, and {@code error}. */
    public static TranslateResult failure(MemmapError error) {
        return new TranslateResult(List.of(), java.util.Objects.requireNonNull(error, "error"));
    }

    /** The postconditions of {@link Mappable#translate}, in the order they are checked. */
    public enum Postcondition {
        /** 5: the first translation covers {@code required.start}. */
        FIRST_COVERS_REQUIRED_START,
        /** 6a: each source is well-formed and non-empty. */
        SOURCE_WELL_FORMED,
        /** 6b: each source is page-aligned. */
        SOURCE_PAGE_ALIGNED,
        /** 6c: each translation has a file. */
        FILE_PRESENT,
        /** 6d: each file offset is page-aligned. */
        OFFSET_PAGE_ALIGNED,
        /** 6e: sources are contiguous and increasing. */
        CONTIGUOUS,
        /** 6f: each source overlaps {@code required}. */
        OVERLAPS_REQUIRED,
        /** 6g: each source lies inside {@code optional}. */
        INSIDE_OPTIONAL,
        /** 6h: each translation permits the accesses {@code at}. */
        PERMITS_ACCESS,
        /** 7a: without an error there is at least one translation. */
        NON_EMPTY_WITHOUT_ERROR,
        /** 7b: without an error the translations reach {@code required.end}. */
        COVERS_REQUIRED_WITHOUT_ERROR
    }

    /**
     * A violated postcondition.
     *
     * @param postcondition which one
     * @param index the translation at fault, or -1
     * @param message what is wrong (informational)
     */
    public record Violation(Postcondition postcondition, int index, String message) {}

    /**
     * gVisor's {@code CheckTranslateResult} (spec §1.3): the first postcondition of
     * {@code translate(required, optional, at)} that this result violates, or empty.
     *
     * <p>A non-null error is allowed even when the translations cover {@code required}; no
     * translations with an error is valid. Offsets past the end of a file are not checked.
     *
     * @throws IllegalArgumentException if the preconditions of translate do not hold:
     *     {@code required} ill-formed, empty or unaligned; {@code optional} not a superset of
     *     {@code required} or unaligned (checked in that order)
     */
    public Optional<Violation> check(MappableRange required, MappableRange optional, AccessType at) {
        return checkTranslateResult(required, optional, at, translations, error);
    }

    /** As {@link #check}, but throws {@link IllegalStateException} naming the violation (for assertion modes). */
    public TranslateResult requireValid(MappableRange required, MappableRange optional, AccessType at) {
        check(required, optional, at).ifPresent(v -> {
            throw new IllegalStateException("translate(" + required + ", " + optional + ", " + at + ") = " + this
                    + " violates " + v.postcondition() + ": " + v.message());
        });
        return this;
    }

    /** The static form of {@link #check}, over any list and error. */
    public static Optional<Violation> checkTranslateResult(MappableRange required, MappableRange optional, AccessType at,
            List<Translation> ts, MemmapError terr) {
        required.checkNonEmpty("required");
        if (!required.isPageAligned()) {
            throw new IllegalArgumentException("required = " + required + " is not page-aligned");
        }
        if (!optional.isSupersetOf(required)) {
            throw new IllegalArgumentException("optional = " + optional + " is not a superset of required = " + required);
        }
        if (!optional.isPageAligned()) {
            throw new IllegalArgumentException("optional = " + optional + " is not page-aligned");
        }
        if (!ts.isEmpty() && !ts.get(0).source().contains(required.start())) {
            return fail(Postcondition.FIRST_COVERS_REQUIRED_START, 0,
                    "first translation " + ts.get(0).source() + " does not cover start of required " + required);
        }
        for (int i = 0; i < ts.size(); i++) {
            Translation t = ts.get(i);
            MappableRange s = t.source();
            if (!s.wellFormed() || s.isEmpty()) {
                return fail(Postcondition.SOURCE_WELL_FORMED, i, "invalid source " + s);
            }
            if (!s.isPageAligned()) {
                return fail(Postcondition.SOURCE_PAGE_ALIGNED, i, "unaligned source " + s);
            }
            if (t.file() == null) {
                return fail(Postcondition.FILE_PRESENT, i, "translation for " + s + " has no file");
            }
            if (!Pages.isPageAligned(t.offset())) {
                return fail(Postcondition.OFFSET_PAGE_ALIGNED, i, "unaligned file offset " + Pages.hex(t.offset()));
            }
            if (i > 0 && ts.get(i - 1).source().end() != s.start()) {
                return fail(Postcondition.CONTIGUOUS, i,
                        "translation " + s + " does not follow " + ts.get(i - 1).source() + " contiguously");
            }
            if (s.intersect(required).isEmpty()) {
                return fail(Postcondition.OVERLAPS_REQUIRED, i, "translation " + s + " lies outside required " + required);
            }
            if (!optional.isSupersetOf(s)) {
                return fail(Postcondition.INSIDE_OPTIONAL, i, "translation " + s + " lies outside optional " + optional);
            }
            if (!t.perms().supersetOf(at)) {
                return fail(Postcondition.PERMITS_ACCESS, i,
                        "translation " + s + " permits " + t.perms() + ", not " + at);
            }
        }
        if (terr == null) {
            if (ts.isEmpty()) {
                return fail(Postcondition.NON_EMPTY_WITHOUT_ERROR, -1, "no translations and no error");
            }
            MappableRange last = ts.get(ts.size() - 1).source();
            if (!last.contains(required.end() - 1)) {
                return fail(Postcondition.COVERS_REQUIRED_WITHOUT_ERROR, ts.size() - 1,
                        "last translation " + last + " does not reach end of required " + required + ", but no error");
            }
        }
        return Optional.empty();
    }

    private static Optional<Violation> fail(Postcondition p, int index, String message) {
        return Optional.of(new Violation(p, index, message));
    }
}
