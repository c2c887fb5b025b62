package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.MLockMode;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.segment.Segment;

/**
 * Fork and release (gVisor's {@code lifecycle.go}).
 *
 * <p>Fork's protocol: the child queues invalidations from the start (a Mappable may
 * invalidate it as soon as AddMapping returned); with the parent's {@code mappingMu} read,
 * every vma but DONTFORK ones is copied (AddMapping, an identity reference, locks not
 * inherited); then with both {@code activeMu}s (parent first: the child is not yet visible to
 * anyone else), each forked vma's private pmas become copy-on-write on both sides, and the
 * child replays the invalidations it queued. Cached translations are not copied.
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
            mm.pmas.lockForChange();
            child.pmas.lockForChange();
            try {
                for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                    if (!v.value().dontfork()) {
                        mm.pmas.shareWithForkLocked(ctx, v, child.pmas);
                    }
                }
                child.pmas.replayCapturedLocked();
            } finally {
                child.pmas.unlock();
                mm.pmas.unlock();
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
}
