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

    private static void copyStep(Context ctx, Mappable from, Mappable to, MappableRange r) throws MemmapException {
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
                BlockSeq in = srcBlocks.dropFirst(both.start() - s.source().start()).takeFirst(both.length());
                BlockSeq out = dstBlocks.get(i).dropFirst(both.start() - d.source().start()).takeFirst(both.length());
                IoResult res = BlockSeq.copy(out, in);
                if (res.error() != null) {
                    throw res.error().toException();
                }
            }
        }
    }
}
