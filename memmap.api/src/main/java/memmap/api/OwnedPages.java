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
        r.checkPageAligned("r");
        List<MappableRange> pieces = from instanceof OwnedPages o ? o.populated(r) : List.of(r);
        long bytes = 0;
        for (MappableRange p : pieces) {
            for (long s = p.start(); Long.compareUnsigned(s, p.end()) < 0; ) {
                long e = Long.compareUnsigned(p.end() - s, COPY_STEP) > 0 ? s + COPY_STEP : p.end();
                copyStep(ctx, from, to, new MappableRange(s, e));
                bytes += e - s;
                s = e;
            }
        }
        return bytes;
    }

    /**
     * {@link #copy} of several ranges (ascending, disjoint, page-aligned) — the pages written
     * since the last copy — translating each run of pages of {@code from} that exist once, not
     * once per range, so a scattered set of dirty pages costs its bytes, not its count of
     * translations. Pages of the ranges that do not exist in {@code from} are not copied.
     *
     * @return the bytes copied
     * @throws MemmapException as {@link #copy}
     */
    static long copyAll(Context ctx, Mappable from, Mappable to, List<MappableRange> ranges) throws MemmapException {
        if (ranges.isEmpty()) {
            return 0;
        }
        MappableRange hull = new MappableRange(ranges.getFirst().start(), ranges.getLast().end());
        hull.checkPageAligned("ranges");
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
                    // Only the hull of what is copied is translated: the destination allocates no more.
                    MappableRange t = new MappableRange(inside.getFirst().start(), inside.getLast().end());
                    bytes += copyStep(ctx, from, to, t, inside);
                }
                s = e;
            }
        }
        return bytes;
    }

    private static void copyStep(Context ctx, Mappable from, Mappable to, MappableRange r) throws MemmapException {
        copyStep(ctx, from, to, r, List.of(r));
    }

    /** Translates {@code r} on both sides once and copies the {@code parts} of it; returns their bytes. */
    private static long copyStep(Context ctx, Mappable from, Mappable to, MappableRange r, List<MappableRange> parts)
            throws MemmapException {
        TranslateResult src = from.translate(ctx, r, r, AccessType.READ);
        if (src.error() != null) {
            throw src.error().toException();
        }
        TranslateResult dst = to.translate(ctx, r, r, AccessType.WRITE);
        if (dst.error() != null) {
            throw dst.error().toException();
        }
        List<BlockSeq> dstBlocks = new ArrayList<>(dst.translations().size());
        for (Translation d : dst.translations()) {
            dstBlocks.add(d.file().mapInternal(d.fileRange(), AccessType.WRITE));
        }
        for (Translation s : src.translations()) {
            BlockSeq srcBlocks = s.file().mapInternal(s.fileRange(), AccessType.READ);
            for (int i = 0; i < dstBlocks.size(); i++) {
                Translation d = dst.translations().get(i);
                MappableRange both = s.source().intersect(d.source());
                if (both.isEmpty()) {
                    continue;
                }
                for (MappableRange part : parts) {
                    MappableRange c = part.intersect(both);
                    if (c.isEmpty()) {
                        continue;
                    }
                    BlockSeq in = srcBlocks.dropFirst(c.start() - s.source().start()).takeFirst(c.length());
                    BlockSeq out = dstBlocks.get(i).dropFirst(c.start() - d.source().start()).takeFirst(c.length());
                    IoResult res = BlockSeq.copy(out, in);
                    if (res.error() != null) {
                        throw res.error().toException();
                    }
                }
            }
        }
        long n = 0;
        for (MappableRange part : parts) {
            n += part.length();
        }
        return n;
    }
}
