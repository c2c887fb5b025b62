package memmap.mm.internal;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MappingIdentity;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.MemoryFile;
import memmap.api.provider.Backing;
import memmap.api.segment.Segment;

/**
 * One address space's part of a provider migration ({@link ProviderSwap} runs the protocol
 * across address spaces): the locks, dropping translations of moving Mappables, re-pointing
 * vmas, moving private pages to a new memory file.
 *
 * <p>Lock order: across address spaces in creation order ({@link MemoryManager#serial}); all
 * {@code mappingMu}s before any {@code activeMu}.
 */
final class Migration {
    private final MemoryManager mm;

    Migration(MemoryManager mm) {
        this.mm = mm;
    }

    /** What a vma's Mappable is replaced with in a migration. */
    record Replacement(Mappable mappable, MappingIdentity identity) {
        Replacement(Backing b) {
            this(b.mappable(), b.identity());
        }
    }

    /** A range of private pages in a memory file, the key that keeps fork-shared pages shared through a move. */
    record PrivateRange(MemmapFile file, long start, long end) {
    }

    /** Locks the address space against every change and every access, fast path included (first half). */
    void lockMapping() {
        mm.mappingMu.writeLock().lock();
        mm.vmaGeneration++;
    }

    /** The second half of {@link #lockMapping}, once every address space involved has had the first. */
    void lockActive() {
        mm.pmas.lockForChange();
    }

    /** Undoes both migration locks. */
    void unlockAll() {
        mm.pmas.unlock();
        mm.mappingMu.writeLock().unlock();
    }

    /** Undoes {@link #lockMapping} alone. */
    void unlockMapping() {
        mm.mappingMu.writeLock().unlock();
    }

    /**
     * Drops the cached translations of every vma whose Mappable {@code moving} accepts, so that
     * no access — the fast path included — reaches that Mappable's memory until the vma is
     * re-pointed: the accesses fault, and faults wait for {@code mappingMu}, which the caller
     * holds for writing.
     */
    void invalidateMappablesLocked(Predicate<Mappable> moving) {
        for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
            if (v.value().mappable() != null && moving.test(v.value().mappable())) {
                mm.pmas.invalidateLocked(new AddrRange(v.start(), v.end()), false);
            }
        }
    }

    /**
     * Re-points every vma whose Mappable {@code replacement} maps to a new backing (null: leave
     * the vma alone): its translations of the old Mappable are dropped (private copies stay),
     * the new Mappable is told of the mapping before the old one is told it is gone, and the vma
     * takes a reference on the new identity; the old identity's reference goes to {@code dropped}
     * for the caller to drop after unlocking. A vma the new Mappable refuses keeps its old
     * backing.
     *
     * <p>Preconditions: the caller holds {@code mappingMu} for writing, not {@code activeMu}
     * (the Mappables' methods called here may take locks ordered before it).
     *
     * @return how many vmas were re-pointed
     */
    int repointLocked(Context ctx, Function<Mappable, Replacement> replacement, List<MappingIdentity> dropped) {
        int n = 0;
        for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
            Vma vma = v.value();
            if (vma.mappable() == null) {
                continue;
            }
            Replacement to = replacement.apply(vma.mappable());
            if (to != null && repointOneLocked(ctx, v, to, dropped, true)) {
                n++;
            }
        }
        mm.vmas.set.mergeAll();
        return n;
    }

    /**
     * {@link #repointLocked} of one vma whose translations the caller already dropped (and no
     * access can make again: it holds {@code mappingMu} for writing), merging it with its
     * neighbours. Returns whether it was re-pointed.
     */
    boolean repointInvalidatedLocked(Context ctx, Segment<Vma> v, Replacement to, List<MappingIdentity> dropped) {
        long start = v.start();
        long end = v.end();
        if (!repointOneLocked(ctx, v, to, dropped, false)) {
            return false;
        }
        mm.vmas.set.mergeOutsideRange(start, end);
        return true;
    }

    /** Re-points vma {@code v}, dropping its translations first if {@code invalidate}; no merging (handles stay valid). */
    private boolean repointOneLocked(Context ctx, Segment<Vma> v, Replacement to, List<MappingIdentity> dropped, boolean invalidate) {
        Vma vma = v.value();
        AddrRange ar = new AddrRange(v.start(), v.end());
        try {
            to.mappable().addMapping(ctx, mm, ar, vma.off(), vma.canWriteMappable());
        } catch (MemmapException e) {
            return false;
        }
        if (invalidate) {
            mm.pmas.invalidateLocked(ar, false);
        }
        vma.mappable().removeMapping(ctx, mm, ar, vma.off(), vma.canWriteMappable());
        to.identity().incRef();
        if (vma.id() != null) {
            dropped.add(vma.id());
        }
        v.setValue(vma.withBacking(to.mappable(), to.identity()));
        return true;
    }

    /**
     * Moves this address space's private pages held in memory files other than {@code to} into
     * {@code to}: the pages are copied and each pma re-pointed, and the old range's reference
     * dropped. A range another address space shares copy-on-write (after a fork) and that was
     * moved already — same file, same range, in {@code moved} — is shared again rather than
     * copied twice. Stops at the first allocation {@code to} refuses; the pages not moved stay
     * where they are, still working.
     *
     * <p>Preconditions: the caller holds both migration locks on this address space.
     *
     * @return bytes moved
     */
    long movePrivatePagesLocked(Context ctx, MemoryFile to, Map<PrivateRange, FileRange> moved) {
        long bytes = 0;
        PmaLayer pmas = mm.pmas;
        for (Segment<Pma> p = pmas.set.firstSegment(); p != null; p = p.nextSegment()) {
            Pma pma = p.value();
            if (!pma.isPrivate() || pma.file() == to) {
                continue;
            }
            long len = p.length();
            mm.pins.invalidateLocked(p.start(), p.end()); // before the copy: nothing a view writes after it is lost
            FileRange old = pma.fileRange(len);
            PrivateRange key = new PrivateRange(pma.file(), old.start(), old.end());
            FileRange fr = moved.get(key);
            if (fr != null) {
                to.incRef(fr, ctx.memCgId());
            } else {
                try {
                    fr = to.allocate(len, new AllocOpts(AllocationMode.CALLER_INDIRECT_COMMIT, AllocOpts.Direction.BOTTOM_UP,
                            false, ctx.memCgId()));
                } catch (MemmapException e) {
                    return bytes;
                }
                MemmapError err;
                try {
                    err = pmas.fill.copyInto(to.mapInternal(fr, AccessType.WRITE), pma, len);
                } catch (MemmapException e) {
                    err = e.error();
                }
                if (err != null) {
                    to.decRef(fr);
                    continue;
                }
                moved.put(key, fr);
            }
            pma.file().decRef(old);
            p.setValue(new Pma(to, fr.start(), pma.translatePerms(), pma.effectivePerms(), pma.maxPerms(), pma.needCOW(), true, null));
            bytes += len;
        }
        pmas.set.mergeAll();
        return bytes;
    }
}
