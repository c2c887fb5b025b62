package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import memmap.api.AddrRange;
import memmap.api.Errno;
import memmap.api.checkpoint.ImageException;

/**
 * The private pages of one restored address space that a {@link LazyRestore} has not given a
 * pma yet: runs of addresses, each with the saved pma it belongs to and the frames (frame space
 * 0 of the chain) its pages are in. A page leaves here when it gets its pma — when an access
 * needs it ({@link #settle}, from getPmasLocked: only the records the access touches are
 * waited for) or when anything else is about to look at or change the pmas ({@link #settleAll},
 * from lockForChange and the readers of pmas). What cannot leave is a page of a record that
 * failed its checksum: it stays here and every access to it is an EIO fault.
 *
 * <p>Guarded by the address space's activeMu (every method requires it). Waits for records
 * with activeMu held: the loader that loads them takes no lock of any address space while it
 * loads (lock order: mappingMu → activeMu → a record's load), so the wait always ends.
 */
final class LazyPages {
    /** {@code [start, end)} of the saved private pma {@code rec}; its page at {@code a} is frame {@code rec.frame() + (a - rec.start())}. */
    record Run(long start, long end, ImageMeta.PmaRec rec) {
        long frameOf(long a) {
            return rec.frame() + (a - rec.start());
        }
    }

    private final LazyRestore from;
    private final TreeMap<Long, Run> runs = new TreeMap<>(Long::compareUnsigned);
    /** Bytes still here (counted in the address space's RSS). */
    long bytes;

    LazyPages(LazyRestore from, List<ImageMeta.PmaRec> recs) {
        this.from = from;
        for (ImageMeta.PmaRec r : recs) {
            runs.put(r.start(), new Run(r.start(), r.end(), r));
            bytes += r.end() - r.start();
        }
    }

    boolean isEmpty() {
        return runs.isEmpty();
    }

    /**
     * Gives pmas to the pending pages of {@code ar}, loading (first in the loader's queue) the
     * records they are in; each record's pages of the run go at once, so neighbours fault no
     * more.
     *
     * @return null when every pending page of {@code ar} got its pma; else how far {@code ar}
     *     is ready (the first page of a failed record) and the EIO error
     */
    PmaLayer.Prepared settle(PmaLayer pmas, AddrRange ar) {
        return settle(pmas, ar.start(), ar.end(), false);
    }

    /** Gives pmas to every pending page that can have one (all but those of failed records); waits for the loads it needs. */
    void settleAll(PmaLayer pmas) {
        settle(pmas, 0, -1L, true);
    }

    private PmaLayer.Prepared settle(PmaLayer pmas, long start, long end, boolean all) {
        for (Run r : overlapping(start, end)) {
            long a = Long.compareUnsigned(r.start(), start) > 0 ? r.start() : start;
            long b = Long.compareUnsigned(r.end(), end) < 0 ? r.end() : end;
            long runFrameEnd = r.frameOf(r.end());
            for (LazyRestore.Owner o : from.owners(r.frameOf(a), r.frameOf(b))) {
                ImageException failed = from.await(o.unit());
                long fs = Math.max(o.start(), r.frameOf(r.start()));
                long fe = Math.min(o.end(), runFrameEnd);
                long as = r.start() + (fs - r.frameOf(r.start()));
                long ae = as + (fe - fs);
                if (failed != null) {
                    if (all) {
                        continue;
                    }
                    long at = Long.compareUnsigned(as, start) > 0 ? as : start;
                    return new PmaLayer.Prepared(at, Errno.EIO.withDetail("page " + memmap.api.Pages.hex(at)
                            + " was not restored: " + failed.getMessage()));
                }
                try {
                    Rebuild.insertPrivate(pmas, from.store(), from.name(), r.rec(), as, ae, false, true);
                } catch (ImageException e) {
                    throw new IllegalStateException("lazy restore: frames of " + r + " vanished", e); // validated by Rebuild
                }
                cut(as, ae);
            }
        }
        return null;
    }

    /** {@code floor} raised to the end of the last pending run below {@code pos} (not pending), if that is higher. */
    long pendingBelow(long pos, long floor) {
        Map.Entry<Long, Run> f = runs.lowerEntry(pos);
        return f != null && Long.compareUnsigned(f.getValue().end(), floor) > 0 ? f.getValue().end() : floor;
    }

    /** {@code ceiling} lowered to the start of the first pending run above {@code pos} (not pending), if that is lower. */
    long pendingAbove(long pos, long ceiling) {
        Map.Entry<Long, Run> c = runs.higherEntry(pos);
        return c != null && Long.compareUnsigned(c.getKey(), ceiling) < 0 ? c.getKey() : ceiling;
    }

    /** The runs overlapping {@code [start, end)}, in address order (a copy: settling cuts them). */
    private List<Run> overlapping(long start, long end) {
        List<Run> out = new ArrayList<>();
        Map.Entry<Long, Run> f = runs.floorEntry(start);
        if (f != null && Long.compareUnsigned(f.getValue().end(), start) > 0) {
            out.add(f.getValue());
        }
        for (Run r : runs.tailMap(start, false).values()) {
            if (Long.compareUnsigned(r.start(), end) >= 0) {
                break;
            }
            out.add(r);
        }
        return out;
    }

    /** Removes {@code [a, b)}, which lies inside one run. */
    private void cut(long a, long b) {
        Run r = runs.floorEntry(a).getValue();
        runs.remove(r.start());
        if (r.start() != a) {
            runs.put(r.start(), new Run(r.start(), a, r.rec()));
        }
        if (r.end() != b) {
            runs.put(b, new Run(b, r.end(), r.rec()));
        }
        bytes -= b - a;
    }

    /** {@code [ar)} is unmapped (or its private pages dropped): what was pending there goes, with its references. */
    void drop(AddrRange ar) {
        for (Run r : overlapping(ar.start(), ar.end())) {
            long a = Long.compareUnsigned(r.start(), ar.start()) > 0 ? r.start() : ar.start();
            long b = Long.compareUnsigned(r.end(), ar.end()) < 0 ? r.end() : ar.end();
            cut(a, b);
            try {
                for (FrameStore.Piece p : from.store().lookup(from.name(), 0, r.frameOf(a), r.frameOf(b))) {
                    from.store().memoryFile().decRef(new memmap.api.FileRange(p.target(), p.target() + p.length()));
                }
            } catch (ImageException e) {
                throw new IllegalStateException("lazy restore: frames of " + r + " vanished", e); // validated by Rebuild
            }
        }
    }

    /** Everything pending goes (a restore undone). */
    void dropAll() {
        drop(new AddrRange(0, -1L));
    }

    /** The pages of {@code from} move to start at {@code to} (mremap), keeping their frames. */
    void move(AddrRange fromRange, long to) {
        List<Run> moved = new ArrayList<>();
        for (Run r : overlapping(fromRange.start(), fromRange.end())) {
            long a = Long.compareUnsigned(r.start(), fromRange.start()) > 0 ? r.start() : fromRange.start();
            long b = Long.compareUnsigned(r.end(), fromRange.end()) < 0 ? r.end() : fromRange.end();
            cut(a, b);
            long d = to - fromRange.start();
            ImageMeta.PmaRec p = r.rec();
            long frame = r.frameOf(a);
            moved.add(new Run(a + d, b + d, new ImageMeta.PmaRec(a + d, b + d, true, frame, p.translatePerms(), p.effectivePerms(),
                    p.maxPerms(), p.needCOW())));
        }
        for (Run r : moved) {
            runs.put(r.start(), r);
            bytes += r.end() - r.start();
        }
    }
}
