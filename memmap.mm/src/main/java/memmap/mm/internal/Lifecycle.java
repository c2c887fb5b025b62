package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.MLockMode;
import memmap.api.MappingIdentity;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentSet;

/**
 * Fork and release (gVisor's {@code lifecycle.go}).
 *
 * <p>Fork's protocol: the child queues invalidations from the start (a Mappable may
 * invalidate it as soon as AddMapping returned); with the parent's {@code mappingMu} read,
 * every vma but DONTFORK ones is copied (AddMapping, an identity reference, locks not
 * inherited); then with both {@code activeMu}s (parent first: the child is not yet visible to
 * anyone else), each forked vma's private pmas become copy-on-write on both sides, and the
 * child replays the invalidations it queued — except the pages of open write views
 * ({@link Pins}), which the child gets copies of at once. Cached translations are not copied.
 */
final class Lifecycle {
    private Lifecycle() {}

    /**
     * A copy of {@code mm} (spec §4.11).
     *
     * @throws MemmapException if a Mappable refuses the mapping; the child is then torn down
     */
    static MemoryManager fork(Context ctx, MemoryManager mm) throws MemmapException {
        MemoryManager child = new MemoryManager(mm.layout(), mm.backings());
        child.pmas.startCapturing();
        List<MappingIdentity> dropped = new ArrayList<>();
        mm.mappingMu.readLock().lock();
        // The child is visible to migrations from its creation: its vmas change under its own lock.
        child.mappingMu.writeLock().lock();
        child.vmaGeneration++;
        child.brk = mm.brk;
        try {
            for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                Vma vma = v.value();
                if (vma.dontfork()) {
                    continue;
                }
                AddrRange ar = new AddrRange(v.start(), v.end());
                try {
                    if (vma.mappable() != null) {
                        vma.mappable().addMapping(ctx, child, ar, vma.off(), vma.canWriteMappable());
                    }
                } catch (MemmapException e) {
                    child.mappingMu.writeLock().lock();
                    try {
                        child.vmas.unmapLocked(ctx, new AddrRange(0, -1L), dropped);
                    } finally {
                        child.mappingMu.writeLock().unlock();
                    }
                    throw e;
                }
                if (vma.id() != null) {
                    vma.id().incRef();
                }
                child.vmas.insertLocked(ar, vma.withMLockMode(MLockMode.NONE), false);
            }
            child.vmas.set.mergeAll();
            MemmapError failed = null;
            mm.pmas.lockForChange();
            child.pmas.lockForChange();
            try {
                for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null && failed == null; v = v.nextSegment()) {
                    if (!v.value().dontfork()) {
                        failed = shareWithForkLocked(ctx, mm.pmas, v, child.pmas);
                    }
                }
                child.pmas.replayCapturedLocked();
            } finally {
                child.pmas.unlock();
                mm.pmas.unlock();
            }
            if (failed != null) {
                // No memory to copy a pinned page for the child: the fork fails, as Linux's does.
                child.vmas.unmapLocked(ctx, new AddrRange(0, -1L), dropped);
                throw new MemmapException(failed);
            }
        } finally {
            child.mappingMu.writeLock().unlock();
            mm.mappingMu.readLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
        return child;
    }

    /** Unmaps everything (the last user of the address space is gone). */
    static void release(Context ctx, MemoryManager mm) {
        List<MappingIdentity> dropped = new ArrayList<>();
        mm.mappingMu.writeLock().lock();
        mm.vmaGeneration++;
        try {
            mm.vmas.unmapLocked(ctx, new AddrRange(0, -1L), dropped);
        } finally {
            mm.mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
        mm.backings().released(mm);
    }

    /**
     * Fork's half (gVisor's Fork, copying pmas): the private pmas of vma piece {@code v} become
     * copy-on-write here (no write in effective or maximum permissions) and are shared with
     * {@code child}, each page gaining a reference. Cached translations are not copied: the
     * child translates for itself. Requires activeMu of both (this one via lockForChange).
     */
    static MemmapError shareWithForkLocked(Context ctx, PmaLayer parent, Segment<Vma> v, PmaLayer child) {
        SegmentSet<Pma> set = parent.set;
        for (Segment<Pma> p = set.lowerBoundSegment(v.start()); p != null && Long.compareUnsigned(p.start(), v.end()) < 0;
                p = p.nextSegment()) {
            if (!p.value().isPrivate()) {
                continue;
            }
            p = set.isolate(p, v.start(), v.end()); // a no-op while the invariant holds
            // Pages an open view writes are copied for the child now (Linux does so for pinned
            // pages): shared copy-on-write, the holder's writes would reach the child.
            long pEnd = p.end();
            long pos = p.start();
            List<AddrRange> pinned = parent.mm.pins.writePinnedLocked(pos, pEnd);
            int i = 0;
            while (Long.compareUnsigned(pos, pEnd) < 0) {
                while (i < pinned.size() && Long.compareUnsigned(pinned.get(i).end(), pos) <= 0) {
                    i++; // ranges wholly before pos (overlapping views)
                }
                boolean copy = i < pinned.size() && Long.compareUnsigned(pinned.get(i).start(), pos) <= 0;
                long upTo = copy ? pinned.get(i).end() : (i < pinned.size() ? pinned.get(i).start() : pEnd);
                if (copy) {
                    for (int j = i + 1; j < pinned.size() && Long.compareUnsigned(pinned.get(j).start(), upTo) <= 0; j++) {
                        upTo = Long.compareUnsigned(pinned.get(j).end(), upTo) > 0 ? pinned.get(j).end() : upTo; // overlapping views
                    }
                }
                upTo = Long.compareUnsigned(upTo, pEnd) < 0 ? upTo : pEnd;
                Segment<Pma> q = set.isolate(set.findSegment(pos), pos, upTo);
                if (copy) {
                    MemmapError err = copyForChildLocked(ctx, parent, q, v.value(), child);
                    if (err != null) {
                        return err;
                    }
                } else {
                    shareOneLocked(ctx, q, child);
                }
                p = q;
                pos = upTo;
            }
        }
        return null;
    }

    /** The private pma {@code p} shared copy-on-write with the fork's {@code child}. */
    private static void shareOneLocked(Context ctx, Segment<Pma> p, PmaLayer child) {
        Pma pma = p.value();
        Pma shared = new Pma(pma.file(), pma.off(), pma.translatePerms(), pma.effectivePerms().withoutWrite(),
                pma.maxPerms().withoutWrite(), true, true, pma.internal());
        p.setValue(shared);
        pma.file().incRef(pma.fileRange(p.length()), ctx.memCgId());
        child.set.insert(child.set.findGap(p.start()), p.start(), p.end(), shared.withInternal(null));
        child.curRSS += p.length();
    }

    /** A copy of the private pma {@code p}'s pages for the fork's {@code child}, which gets them as its own. */
    private static MemmapError copyForChildLocked(Context ctx, PmaLayer parent, Segment<Pma> p, Vma vma, PmaLayer child) {
        long len = p.length();
        MemoryFile memoryFile;
        FileRange fr;
        try {
            memoryFile = parent.mm.backings().memoryFile();
            fr = memoryFile.allocate(len, PmaFill.allocOpts(ctx));
        } catch (MemmapException e) {
            return e.error();
        }
        MemmapError err;
        try {
            err = parent.fill.copyInto(memoryFile.mapInternal(fr, AccessType.WRITE), p.value(), len);
        } catch (MemmapException e) {
            err = e.error();
        }
        if (err != null) {
            memoryFile.decRef(fr);
            return err;
        }
        child.set.insert(child.set.findGap(p.start()), p.start(), p.end(), new Pma(memoryFile, fr.start(), AccessType.ANY_ACCESS,
                vma.effectivePerms(), vma.maxPerms(), false, true, null));
        child.curRSS += len;
        return null;
    }
}
