package memmap.api;

import java.util.ArrayList;
import java.util.List;

import memmap.api.safemem.BlockSeq;

/**
 * A {@link Mappable} whose contents are pages it owns — memory, not a file — of which only
 * some exist: shared anonymous memory, a System V segment. What a copy of its contents (a hot
 * swap's pre-copy, a checkpoint) reads, and nothing else; a page that does not exist reads as
 * zeros and is not copied, so a copy of a large sparse object costs what was touched.
 *
 * <p>A page that exists keeps existing for the object's life (nothing here punches holes), so a
 * range reported populated stays populated; a page may start existing at any time (a first
 * touch), and whoever copies live memory learns of it from dirty tracking
 * ({@link DirtyTracker}), since creating a page is a write.
 *
 * <p>Thread safety: {@link #populated} may be called concurrently with every other method; it
 * takes the locks {@link Mappable#translate} takes (below an address space's {@code activeMu}).
 */
@org.osgi.annotation.versioning.ProviderType
public interface OwnedPages {
    /**
     * The ranges of {@code within} whose pages exist now.
     *
     * <p>Postconditions: ascending, disjoint, non-adjacent, page-aligned, inside {@code within}.
     *
     * @throws IllegalArgumentException if {@code within} is not page-aligned
     */
    List<MappableRange> populated(MappableRange within);

    /**
     * The translations of the pages of {@code within} that exist, allocating nothing (what
     * {@link Mappable#translate} would return for them, with every permission): a copy of a
     * sparse object reads them all in one call instead of translating run by run.
     *
     * <p>Postconditions: ascending, disjoint, sources inside {@code within} and covering exactly
     * {@link #populated}{@code (within)}. The translations stay valid while the caller holds a
     * reference on the object (its pages are never freed before its last reference goes).
     *
     * @throws IllegalArgumentException if {@code within} is not page-aligned
     */
    List<Translation> existing(MappableRange within);

    /** How much one step of {@link #copy} translates at most: bounds what a step holds. */
    long COPY_STEP = 4L << 20;

    /**
     * Copies the contents of {@code r} from {@code from} to {@code to} — only the pages of
     * {@code from} that exist, when it is {@link OwnedPages}, else the whole range — through their
     * translations ({@code from} translated for reading, {@code to} for writing, each with
     * required = optional = the piece copied, so neither allocates beyond it).
     *
     * <p>Preconditions: {@code r} page-aligned, inside both objects. Neither object is locked
     * across the copy: a concurrent writer of {@code from} may leave a page torn, which is why a
     * live copy tracks writes and copies written pages again.
     *
     * @return the bytes copied
     * @throws MemmapException the first translation or copy error; pieces before it are copied
     */
    static long copy(Context ctx, Mappable from, Mappable to, MappableRange r) throws MemmapException {
        r.checkNonEmpty("r").checkPageAligned("r");
        return copyAll(ctx, from, to, List.of(r));
    }

    /**
     * {@link #copy} of several ranges (ascending, disjoint, page-aligned) — the pages written
     * since the last copy — translating each run of pages of {@code from} that exist once, not
     * once per range, so a scattered set of dirty pages costs its bytes, not its count of
     * translations. Pages of the ranges that do not exist in {@code from} are not copied.
     *
     * @return the bytes copied
     * @throws MemmapException as {@link #copy}
     * @throws IllegalArgumentException naming the range if one is empty, not page-aligned, or not
     *     after the one before it; nothing is copied then
     */
    static long copyAll(Context ctx, Mappable from, Mappable to, List<MappableRange> ranges) throws MemmapException {
        if (ranges.isEmpty()) {
            return 0;
        }
        for (int i = 0; i < ranges.size(); i++) {
            MappableRange r = ranges.get(i);
            r.checkNonEmpty("ranges[" + i + "]").checkPageAligned("ranges[" + i + "]");
            if (i > 0 && Long.compareUnsigned(ranges.get(i - 1).end(), r.start()) > 0) {
                throw new IllegalArgumentException("ranges[" + i + "] = " + r + " starts before ranges[" + (i - 1) + "] = "
                        + ranges.get(i - 1) + " ends: ranges must be ascending and disjoint");
            }
        }
        MappableRange hull = new MappableRange(ranges.getFirst().start(), ranges.getLast().end());
        if (from instanceof OwnedPages f && to instanceof OwnedPages t) {
            return copyExisting(ctx, f, to, t, hull, ranges);
        }
        List<MappableRange> runs = from instanceof OwnedPages o ? o.populated(hull) : List.of(hull);
        long bytes = 0;
        int i = 0;
        for (MappableRange run : runs) {
            while (i < ranges.size() && Long.compareUnsigned(ranges.get(i).end(), run.start()) <= 0) {
                i++;
            }
            for (long s = run.start(); Long.compareUnsigned(s, run.end()) < 0; ) {
                long e = Long.compareUnsigned(run.end() - s, COPY_STEP) > 0 ? s + COPY_STEP : run.end();
                MappableRange step = new MappableRange(s, e);
                // The ranges inside this step, clipped to it.
                List<MappableRange> inside = new ArrayList<>();
                for (int j = i; j < ranges.size() && Long.compareUnsigned(ranges.get(j).start(), e) < 0; j++) {
                    MappableRange c = ranges.get(j).intersect(step);
                    if (!c.isEmpty()) {
                        inside.add(c);
                    }
                }
                if (!inside.isEmpty()) {
                    // The source translated once over the hull of what is copied, the destination part by part.
                    MappableRange t = new MappableRange(inside.getFirst().start(), inside.getLast().end());
                    bytes += copyStep(ctx, from, to, t, inside);
                }
                s = e;
            }
        }
        return bytes;
    }

    /**
     * {@link #copyAll} between two {@link OwnedPages}: the source's existing translations in one
     * call per step; the destination's too, after translating for writing (allocating) only the
     * runs it lacks.
     */
    private static long copyExisting(Context ctx, OwnedPages from, Mappable toMappable, OwnedPages to, MappableRange hull,
            List<MappableRange> ranges) throws MemmapException {
        long bytes = 0;
        int first = 0;
        // Steps over what exists, never through the hull's holes (it may span 2^64 bytes): runs
        // grouped until a step holds COPY_STEP bytes, a run longer than that cut in pieces.
        List<MappableRange> steps = new ArrayList<>();
        long stepStart = 0;
        long stepBytes = -1;
        long stepEnd = 0;
        for (MappableRange run : from.populated(hull)) {
            for (long s = run.start(); Long.compareUnsigned(s, run.end()) < 0; ) {
                long room = stepBytes < 0 ? COPY_STEP : COPY_STEP - stepBytes;
                long e = Long.compareUnsigned(run.end() - s, room) > 0 ? s + room : run.end();
                if (stepBytes < 0) {
                    stepStart = s;
                    stepBytes = 0;
                }
                stepBytes += e - s;
                stepEnd = e;
                if (stepBytes >= COPY_STEP) {
                    steps.add(new MappableRange(stepStart, stepEnd));
                    stepBytes = -1;
                }
                s = e;
            }
        }
        if (stepBytes >= 0) {
            steps.add(new MappableRange(stepStart, stepEnd));
        }
        for (MappableRange step : steps) {
            while (first < ranges.size() && Long.compareUnsigned(ranges.get(first).end(), step.start()) <= 0) {
                first++;
            }
            List<MappableRange> parts = new ArrayList<>();
            for (int j = first; j < ranges.size() && Long.compareUnsigned(ranges.get(j).start(), step.end()) < 0; j++) {
                MappableRange c = ranges.get(j).intersect(step);
                if (!c.isEmpty()) {
                    parts.add(c);
                }
            }
            if (parts.isEmpty()) {
                continue;
            }
            List<Translation> src = from.existing(new MappableRange(parts.getFirst().start(), parts.getLast().end()));
            // What is to be copied: the parts, where the source has pages.
            List<MappableRange> copy = new ArrayList<>();
            int k = 0;
            for (Translation t : src) {
                while (k < parts.size() && Long.compareUnsigned(parts.get(k).end(), t.source().start()) <= 0) {
                    k++;
                }
                for (int j = k; j < parts.size() && Long.compareUnsigned(parts.get(j).start(), t.source().end()) < 0; j++) {
                    MappableRange c = parts.get(j).intersect(t.source());
                    if (!c.isEmpty()) {
                        copy.add(c);
                    }
                }
            }
            if (copy.isEmpty()) {
                continue;
            }
            MappableRange span = new MappableRange(copy.getFirst().start(), copy.getLast().end());
            List<Translation> dst = new ArrayList<>(to.existing(span));
            // Translate for writing (allocating) what the destination lacks, run by run (a twin
            // reserved ahead lacks nothing).
            List<Translation> added = new ArrayList<>();
            int d = 0;
            for (MappableRange c : copy) {
                long covered = c.start();
                while (d < dst.size() && Long.compareUnsigned(dst.get(d).source().end(), c.start()) <= 0) {
                    d++;
                }
                for (int j = d; j < dst.size() && Long.compareUnsigned(dst.get(j).source().start(), c.end()) < 0; j++) {
                    MappableRange x = dst.get(j).source();
                    if (Long.compareUnsigned(x.start(), covered) > 0) {
                        break;
                    }
                    covered = Long.compareUnsigned(x.end(), covered) > 0 ? x.end() : covered;
                }
                if (Long.compareUnsigned(covered, c.end()) < 0) {
                    MappableRange missing = new MappableRange(covered, c.end());
                    TranslateResult tr = toMappable.translate(ctx, missing, missing, AccessType.WRITE);
                    if (tr.error() != null) {
                        throw tr.error().toException();
                    }
                    added.addAll(tr.translations());
                }
            }
            if (!added.isEmpty()) {
                dst.addAll(added);
                dst.sort((x, y) -> Long.compareUnsigned(x.source().start(), y.source().start()));
            }
            bytes += copyBetween(src, dst, copy);
        }
        return bytes;
    }

    /** Copies {@code parts} (each inside one source translation's range and covered by {@code dst}) between translations. */
    private static long copyBetween(List<Translation> src, List<Translation> dst, List<MappableRange> parts) throws MemmapException {
        long n = 0;
        int si = 0;
        int di = 0;
        for (MappableRange part : parts) {
            long pos = part.start();
            while (Long.compareUnsigned(pos, part.end()) < 0) {
                while (Long.compareUnsigned(src.get(si).source().end(), pos) <= 0) {
                    si++;
                }
                while (Long.compareUnsigned(dst.get(di).source().end(), pos) <= 0) {
                    di++;
                }
                Translation s = src.get(si);
                Translation d = dst.get(di);
                long end = part.end();
                end = Long.compareUnsigned(s.source().end(), end) < 0 ? s.source().end() : end;
                end = Long.compareUnsigned(d.source().end(), end) < 0 ? d.source().end() : end;
                long len = end - pos;
                BlockSeq in = s.file().mapInternal(new FileRange(s.offset() + (pos - s.source().start()),
                        s.offset() + (end - s.source().start())), AccessType.READ);
                BlockSeq out = d.file().mapInternal(new FileRange(d.offset() + (pos - d.source().start()),
                        d.offset() + (end - d.source().start())), AccessType.WRITE);
                IoResult res = BlockSeq.copy(out, in);
                if (res.error() != null) {
                    throw res.error().toException();
                }
                n += len;
                pos = end;
            }
        }
        return n;
    }

    /**
     * The generic step (one side is not {@link OwnedPages}): {@code from} translated for reading
     * over {@code r} once, {@code to} for writing part by part (so it allocates exactly the
     * parts), then the one copy loop. Returns the parts' bytes.
     */
    private static long copyStep(Context ctx, Mappable from, Mappable to, MappableRange r, List<MappableRange> parts)
            throws MemmapException {
        TranslateResult src = from.translate(ctx, r, r, AccessType.READ);
        if (src.error() != null) {
            throw src.error().toException();
        }
        List<Translation> dst = new ArrayList<>();
        for (MappableRange part : parts) {
            TranslateResult d = to.translate(ctx, part, part, AccessType.WRITE);
            if (d.error() != null) {
                throw d.error().toException();
            }
            dst.addAll(d.translations());
        }
        return copyBetween(src.translations(), dst, parts);
    }
}
