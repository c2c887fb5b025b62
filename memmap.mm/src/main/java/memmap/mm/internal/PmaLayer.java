package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.InvalidateOpts;
import memmap.api.MemmapError;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * The pma layer (gVisor's {@code pma.go}): what backs each page of the address space now —
 * private memory-file pages and cached translations of Mappables — and the operations that
 * make, copy (copy-on-write), re-protect, move and drop them.
 *
 * <p>Locking: every method requires the owner's {@code activeMu} (taken with
 * {@link #lockForChange}, which also retires the {@link Tlb}'s entries, or, to translate
 * only, {@link #lockToTranslate}); the ones that read
 * vmas (getPmas, merging) also require {@code mappingMu} in either mode. {@link #invalidate}
 * is the MappingSpace entry point and takes {@code activeMu} itself.
 *
 * <p>Invariants (checked by {@link #checkInvariants}):
 * <ul>
 * <li>every pma lies inside one vma (merging refuses to cross a vma edge, and every vma split
 *     splits the pmas at the same address);</li>
 * <li>a pma's effective permissions never exceed its vma's effective permissions, and a pma
 *     that needs copy-on-write has neither effective nor maximum write permission;</li>
 * <li>every pma holds one reference on its file range; {@link #curRSS} is the sum of their lengths.</li>
 * </ul>
 */
final class PmaLayer {
    final MemoryManager mm;
    final SegmentSet<Pma> set;
    final Tlb tlb = new Tlb();
    long curRSS;
    /**
     * Bumped (under activeMu, before the change) whenever an existing pma may lose a page, a
     * permission or its backing; the {@link Tlb} trusts an entry only at the version it was
     * filled at. Read without activeMu by {@link MemoryManager#read}'s lock-free path.
     */
    private volatile long version;
    private static final java.lang.invoke.VarHandle VERSION;

    static {
        try {
            VERSION = java.lang.invoke.MethodHandles.lookup().findVarHandle(PmaLayer.class, "version", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    /** How gaps and copy-on-write pmas get their pages. */
    final PmaFill fill = new PmaFill(this);
    /** Dirty tracking: the write logs attached, and the write protection they ask for. */
    final DirtyBits dirty = new DirtyBits(this);
    /** Private pages a lazy restore has not given pmas yet ({@link LazyPages}), or null. Guarded by activeMu. */
    LazyPages lazy;
    /** While a fork copies into this (new) address space, invalidations are queued here and replayed after. */
    private List<Captured> captured;

    /** An invalidation queued while a fork copies into this address space. */
    private record Captured(AddrRange ar, InvalidateOpts opts) {
    }

    PmaLayer(MemoryManager mm) {
        this.mm = mm;
        this.set = new SegmentSet<>(new SegmentFunctions<>() {
            @Override
            public Pma merge(long s1, long e1, Pma v1, long s2, long e2, Pma v2) {
                if (!v1.canMergeWith(e1 - s1, v2)) {
                    return null;
                }
                Segment<Vma> v = mm.vmas.set.findSegment(s1);
                if (v == null || Long.compareUnsigned(v.end(), e1) <= 0) {
                    return null; // e1 is a vma edge: a pma never spans two vmas
                }
                return v1.withInternal(null);
            }

            @Override
            public Split<Pma> split(long start, long end, Pma v, long at) {
                long d = at - start;
                Pma right = new Pma(v.file(), v.off() + d, v.translatePerms(), v.effectivePerms(), v.maxPerms(), v.needCOW(),
                        v.isPrivate(), v.internal() == null ? null : v.internal().dropFirst(d));
                return new Split<>(v.internal() == null ? v : v.withInternal(v.internal().takeFirst(d)), right);
            }
        });
    }

    /**
     * The activeMu hold count at which the TLB was shot down (fast writers drained and kept
     * out), or 0 while it is open. Guarded by activeMu.
     */
    private int shotDownAt;

    /**
     * Locks activeMu to change pmas: fast writers are drained and kept out until {@link #unlock}
     * releases this hold (a TLB shootdown: no write through an old translation lands after the
     * change), and the TLB's entries stop being trusted.
     */
    void lockForChange() {
        mm.activeMu.lock();
        shootDownLocked();
        retire();
        settleLazyLocked();
    }

    /**
     * A lazily restored address space: every pending page that can get its pma gets it (waiting
     * for its record), so what follows sees the pmas a full restore would have made. Requires
     * activeMu; called by {@link #lockForChange} and by readers of every pma (smaps, mincore).
     */
    void settleLazyLocked() {
        if (lazy != null) {
            lazy.settleAll(this);
            if (lazy.isEmpty()) {
                lazy = null;
            }
        }
    }

    /** The lazy restore's loader is done: what could not load stays pending (an EIO fault); pmas merge. Requires mappingMu and activeMu (lockForChange). */
    void finishLazyLocked() {
        settleLazyLocked();
        set.mergeAll();
    }

    /** Bytes of this address space's pages: its pmas and the pages a lazy restore has not given pmas yet. Requires activeMu. */
    long rssLocked() {
        return curRSS + (lazy == null ? 0 : lazy.bytes);
    }

    private void shootDownLocked() {
        if (shotDownAt == 0) {
            tlb.shootDown();
            shotDownAt = mm.activeMu.getHoldCount();
        }
    }

    /**
     * Locks activeMu to translate: getPmas may add pmas, and retires the TLB itself where it
     * changes one (copy-on-write, dirty bits, re-translation), so a page fault or a full-path
     * copy leaves every other translation cached.
     */
    void lockToTranslate() {
        mm.activeMu.lock();
    }

    /** The version the TLB's entries are checked against (see {@link #version}). */
    long version() {
        return version;
    }

    /**
     * Retires every TLB entry. Requires activeMu; called before the change, and ordered before
     * it (a full fence, then store-store), so a lock-free reader that sees any effect of the
     * change also sees the new version when it checks again.
     */
    void retire() {
        VERSION.getAndAdd(this, 1L);
        java.lang.invoke.VarHandle.storeStoreFence();
    }

    /**
     * {@link #lockForChange} for a thread that must get in among accessors hammering activeMu (a
     * migration): it spins on tryLock a while before queueing, because a thread that parks on
     * an unfair lock re-taken in a tight loop wakes up to find it taken again, and waits far
     * longer than the accessors hold it.
     */
    void lockForChangeEagerly() {
        for (int i = 0; i < 4096; i++) {
            if (mm.activeMu.tryLock()) {
                shootDownLocked();
                retire();
                settleLazyLocked();
                return;
            }
            Thread.onSpinWait();
        }
        lockForChange();
    }

    /** Releases activeMu (taken by any of the lock methods), reopening the TLB to fast writers with the hold that shot it down. */
    void unlock() {
        if (shotDownAt != 0 && mm.activeMu.getHoldCount() == shotDownAt) {
            shotDownAt = 0;
            tlb.reopen();
        }
        mm.activeMu.unlock();
    }

    // ---------------------------------------------------------------- getPmas

    /**
     * How far {@link #getPmasLocked} prepared a range.
     *
     * @param end the end of the prefix of the range whose pmas exist with the access asked for
     * @param error why it stopped short of the range's end, or null
     */
    record Prepared(long end, MemmapError error) {
    }

    /**
     * gVisor's getPMAsLocked: makes pmas cover {@code ar} (page-aligned, starting inside vma
     * {@code vseg}, ending at or before its end) for {@code at}. Gaps of anonymous vmas get
     * private memory-file pages; gaps of file-backed vmas are translated (required = the part
     * of {@code ar}, optional = the whole gap within the vma; private vmas ask for read only);
     * copy-on-write pmas written are copied (or taken over when this address space holds the
     * only reference).
     *
     * <p>Postcondition: every page of {@code [ar.start(), result.end())} has a pma allowing
     * {@code at} (unless {@code at} is no access); callers copy through no page past it.
     *
     * <p>Preconditions: mappingMu held; activeMu held (via {@link #lockToTranslate} or
     * {@link #lockForChange}); the vma allows {@code at}. Retires the TLB before changing an
     * existing pma; adding pmas leaves it.
     */
    Prepared getPmasLocked(Context ctx, Segment<Vma> vseg, AddrRange ar, AccessType at) {
        Vma vma = vseg.value();
        long end = ar.end();
        MemmapError err = null;
        if (lazy != null) {
            // Pages a lazy restore has not loaded: their records first (the access waits for them).
            Prepared unloaded = lazy.settle(this, ar);
            if (unloaded != null) {
                if (unloaded.end() == ar.start()) {
                    return unloaded;
                }
                end = unloaded.end();
                err = unloaded.error();
            }
        }
        long pos = ar.start();
        while (Long.compareUnsigned(pos, end) < 0) {
            Segment.Step<Pma> st = set.find(pos);
            Segment<Pma> p = st.segment();
            if (p != null) {
                Pma pma = p.value();
                if (at.write() && pma.needCOW()) {
                    retire(); // the pages behind this pma change (taken over or copied)
                    if (takeOverLocked(p, vseg)) {
                        continue;
                    }
                    long copyEnd = Long.compareUnsigned(p.end(), end) < 0 ? p.end() : end;
                    mm.pins.invalidateLocked(Pages.roundDown(pos), Pages.roundUp(copyEnd).value()); // read views of the shared page
                    MemmapError e = fill.breakCopyOnWriteLocked(ctx, p, vseg, new AddrRange(pos, copyEnd));
                    if (e != null) {
                        return new Prepared(pos, e);
                    }
                    continue;
                }
                if (!pma.isPrivate() && !pma.translatePerms().supersetOf(vma.isPrivate() ? AccessType.READ : at)) {
                    // Translated for less than this access: drop it and translate again.
                    retire();
                    Segment<Pma> q = set.isolate(p, pos, end);
                    mm.pins.invalidateLocked(q.start(), q.end());
                    q.value().file().decRef(q.value().fileRange(q.length()));
                    curRSS -= q.length();
                    set.remove(q);
                    continue;
                }
                if (at.write() && !pma.effectivePerms().write()) {
                    // Write withheld for dirty tracking: the MMU's dirty bit. Log the pages written —
                    // rounded out to the coarsest granule a log covering them keeps, inside the pma —
                    // and let them be written; the rest of the pma stays withheld.
                    AccessType full = vma.effectivePerms().intersect(pma.translatePerms());
                    if (full.write()) {
                        long upTo = Long.compareUnsigned(p.end(), end) < 0 ? p.end() : end;
                        long g = dirty.granuleLocked(vseg.start(), vma, pos, upTo);
                        long from = pos;
                        if (g > Pages.PAGE_SIZE) {
                            long gs = vseg.start() + ((pos - vseg.start()) & -g);
                            long ge = vseg.start() + ((upTo - vseg.start() + g - 1) & -g);
                            from = Long.compareUnsigned(gs, p.start()) > 0 ? gs : p.start();
                            upTo = Long.compareUnsigned(ge, p.end()) < 0 && Long.compareUnsigned(ge, vseg.start()) > 0 ? ge : p.end();
                        }
                        retire();
                        Segment<Pma> q = set.isolate(p, from, upTo);
                        dirty.logWrittenLocked(vseg.start(), vma, from, upTo);
                        Pma w = q.value();
                        q.setValue(new Pma(w.file(), w.off(), w.translatePerms(), full, w.maxPerms(), false, w.isPrivate(), w.internal()));
                        pos = upTo;
                        continue;
                    }
                }
                pos = p.end();
                continue;
            }
            Gap<Pma> gap = st.gap();
            long gapStart = Long.compareUnsigned(gap.start(), vseg.start()) > 0 ? gap.start() : vseg.start();
            long gapEnd = Long.compareUnsigned(gap.end(), vseg.end()) < 0 ? gap.end() : vseg.end();
            if (lazy != null) {
                // Pages pending in a lazy restore are no gap: what is filled around pos stops at them.
                gapStart = lazy.pendingBelow(pos, gapStart);
                gapEnd = lazy.pendingAbove(pos, gapEnd);
            }
            long needEnd = Long.compareUnsigned(end, gapEnd) < 0 ? end : gapEnd;
            Prepared got = vma.mappable() == null
                    ? fill.allocateAnonymousLocked(ctx, vseg, gapStart, gapEnd, pos, needEnd)
                    : fill.translateGapLocked(ctx, vseg, gapStart, gapEnd, pos, needEnd, at);
            if (got.error() != null) {
                if (Long.compareUnsigned(got.end(), pos) <= 0) {
                    return new Prepared(pos, got.error());
                }
                // Prepare what was translated (copy-on-write included), then stop there.
                end = got.end();
                err = got.error();
            }
            // Look at the new pma again: a write to a private mapping must copy it first.
        }
        return new Prepared(end, err);
    }

    /**
     * gVisor's isPMACopyOnWriteLocked's takeover: if this address space holds the only
     * reference on the private pages of {@code p} (the other side of a fork let go), they
     * become this pma's own with the vma's permissions. Sound because {@code p} lies inside
     * the vma (invariant) and a new reference can only come from a fork, which takes activeMu.
     */
    private boolean takeOverLocked(Segment<Pma> p, Segment<Vma> vseg) {
        Pma pma = p.value();
        Vma vma = vseg.value();
        if (!pma.isPrivate() || !(pma.file() instanceof MemoryFile owner) || !owner.hasUniqueRef(pma.fileRange(p.length()))) {
            return false;
        }
        // The cached internal mapping was made read-only (maxPerms lost write at fork): map again.
        // Tracked, the write comes back to the dirty-bit branch of getPmas and is logged there.
        p.setValue(new Pma(pma.file(), pma.off(), AccessType.ANY_ACCESS, dirty.grantLocked(vseg.start(), vma, p.start(), p.end(),
                vma.effectivePerms()), vma.maxPerms(), false, true, null));
        return true;
    }

    // ---------------------------------------------------------------- population

    /**
     * Backs every page of the vmas in {@code ar} now (gVisor's populateVMA: translating for no
     * access, so shared pages are not dirtied and private ones are not copied). A vma without
     * permissions is skipped, or with {@code inaccessibleIsError} reported as EFAULT (what
     * Linux's get_user_pages says, which mlock turns into ENOMEM). Returns the first error.
     * Requires mappingMu, not activeMu.
     */
    MemmapError populateLocked(Context ctx, AddrRange ar, boolean inaccessibleIsError) {
        MemmapError first = null;
        for (Segment<Vma> v = mm.vmas.set.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (!v.value().effectivePerms().any()) {
                if (inaccessibleIsError) {
                    return Errno.EFAULT.withDetail("the mapping at " + Pages.hex(v.start()) + " has no permissions to populate");
                }
                continue;
            }
            long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
            long e = Long.compareUnsigned(v.end(), ar.end()) < 0 ? v.end() : ar.end();
            lockForChange();
            try {
                PmaLayer.Prepared r = getPmasLocked(ctx, v, new AddrRange(s, e), AccessType.NO_ACCESS);
                if (r.error() != null) {
                    if (inaccessibleIsError) {
                        return r.error();
                    }
                    first = first == null ? r.error() : first;
                }
            } finally {
                unlock();
            }
        }
        return first;
    }

    // ---------------------------------------------------------------- invalidation

    /**
     * MappingSpace.invalidate: drops cached translations of {@code ar} (spec §4.9), private
     * copies too with {@code invalidatePrivate}. Queued instead while a fork copies into this
     * address space, and replayed when it is done (gVisor's captureInvalidations).
     */
    void invalidate(AddrRange ar, InvalidateOpts opts) {
        Events.Invalidate event = new Events.Invalidate();
        event.begin();
        try {
            invalidateEntry(ar, opts);
        } finally {
            if (event.shouldCommit()) {
                event.start = ar.start();
                event.length = ar.length();
                event.invalidatePrivate = opts.invalidatePrivate();
                event.commit();
            }
        }
    }

    private void invalidateEntry(AddrRange ar, InvalidateOpts opts) {
        lockForChange();
        try {
            if (captured != null) {
                captured.add(new Captured(ar, opts));
                return;
            }
            invalidateLocked(ar, opts.invalidatePrivate());
        } finally {
            unlock();
        }
    }

    /** Starts queuing invalidations (a fork is about to tell Mappables of this new address space). */
    void startCapturing() {
        mm.activeMu.lock();
        try {
            captured = new ArrayList<>();
        } finally {
            mm.activeMu.unlock();
        }
    }

    /** Stops queuing and applies what was queued. Requires activeMu. */
    void replayCapturedLocked() {
        List<Captured> q = captured;
        captured = null;
        if (q != null) {
            for (Captured c : q) {
                invalidateLocked(c.ar(), c.opts().invalidatePrivate());
            }
        }
    }

    /** gVisor's invalidateLocked: every non-private pma of {@code ar}, private ones too if asked. Takes activeMu. */
    void invalidateLocked(AddrRange ar, boolean invalidatePrivate) {
        lockForChange();
        try {
            Segment<Pma> p = set.lowerBoundSegment(ar.start());
            while (p != null && Long.compareUnsigned(p.start(), ar.end()) < 0) {
                if (p.value().isPrivate() && !invalidatePrivate) {
                    p = p.nextSegment();
                    continue;
                }
                p = set.isolate(p, ar.start(), ar.end());
                mm.pins.invalidateLocked(p.start(), p.end());
                long len = p.length();
                p.value().file().decRef(p.value().fileRange(len));
                curRSS -= len;
                p = set.remove(p).nextSegment();
            }
            if (invalidatePrivate && lazy != null) {
                lazy.drop(ar); // what is left pending failed to load: it goes with the private pages
            }
        } finally {
            unlock();
        }
    }

    // ---------------------------------------------------------------- changes that follow the vmas

    /** Splits the pma containing {@code addr} there, if any (a vma is split at {@code addr}). */
    void splitAtLocked(long addr) {
        lockForChange();
        try {
            Segment<Pma> p = set.findSegment(addr);
            if (p != null && p.start() != addr) {
                set.split(p, addr);
            }
        } finally {
            unlock();
        }
    }

    /** The pmas of {@code ar} (inside one vma) get the vma's new permissions {@code vma}. */
    void reprotectLocked(AddrRange ar, Vma vma) {
        AccessType effective = vma.effectivePerms();
        Segment<Vma> vseg = mm.vmas.set.findSegment(ar.start());
        long vmaStart = vseg != null ? vseg.start() : ar.start();
        lockForChange();
        try {
            for (Segment<Pma> p = set.lowerBoundSegment(ar.start()); p != null && Long.compareUnsigned(p.start(), ar.end()) < 0;
                    p = p.nextSegment()) {
                p = set.isolate(p, ar.start(), ar.end());
                Pma pma = p.value();
                AccessType eff = dirty.grantLocked(vmaStart, vma, p.start(), p.end(), effective.intersect(pma.translatePerms()));
                p.setValue(new Pma(pma.file(), pma.off(), pma.translatePerms(), pma.needCOW() ? eff.withoutWrite() : eff,
                        pma.maxPerms(), pma.needCOW(), pma.isPrivate(), pma.internal()));
            }
            set.mergeInsideRange(ar.start(), ar.end());
            set.mergeOutsideRange(ar.start(), ar.end());
        } finally {
            unlock();
        }
    }

    /** gVisor's movePMAsLocked: re-keys the pmas of {@code from} to start at {@code to} (an empty range). */
    void moveLocked(AddrRange from, long to) {
        lockForChange();
        try {
            mm.pins.invalidateLocked(from.start(), from.end());
            List<long[]> ranges = new ArrayList<>();
            List<Pma> values = new ArrayList<>();
            set.removeRangeWith(from.start(), from.end(), p -> {
                ranges.add(new long[] {p.start(), p.end()});
                values.add(p.value());
            });
            long delta = to - from.start();
            for (int i = 0; i < ranges.size(); i++) {
                long s = ranges.get(i)[0] + delta;
                long e = ranges.get(i)[1] + delta;
                set.insert(set.findGap(s), s, e, values.get(i));
            }
            if (lazy != null) {
                lazy.move(from, to); // pending pages that failed to load move with their neighbours
            }
        } finally {
            unlock();
        }
    }

    // ---------------------------------------------------------------- invariants

    /** Checks the pma invariants against the vmas (see {@link PmaInvariants}). Requires mappingMu and activeMu. */
    void checkInvariants() {
        PmaInvariants.check(this);
    }
}
