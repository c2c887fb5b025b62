package memmap.mm.internal;

import java.util.List;

import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.ResourceLimits;
import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * The vma layer (gVisor's {@code vma.go}): the set of virtual memory areas of one address
 * space, where a new mapping goes, how mappings are created, split, merged and removed, and
 * the counters derived from them (RLIMIT_AS, RLIMIT_DATA, locked bytes).
 *
 * <p>Locking: every method requires the owner's {@code mappingMu} — for writing where it
 * changes anything ({@code …Locked} methods that mutate), for reading otherwise.
 *
 * <p>Invariants (checked by {@link #checkInvariants}): vmas are page-aligned and never
 * overlap; adjacent vmas that {@link Vma#canMergeWith} are merged (the segment set merges on
 * every insertion and after every {@link #changeLocked}); a split piece's Mappable offset is
 * its start's, computed in one place ({@link Vma#shifted}); each vma holds one reference on
 * its identity; the counters equal what the vmas say.
 */
final class VmaLayer {
    /** A gap directly below a growsDown vma keeps this many bytes free (stack guard). */
    static final long GUARD_BYTES = 256 * Pages.PAGE_SIZE;
    private static final long MAP32_START = 0x4000_0000L;
    private static final long MAP32_END = 0x8000_0000L;

    private final MemoryManager mm;
    final SegmentSet<Vma> set;
    long usageAS;
    long lockedAS;
    long dataAS;
    /** MCL_FUTURE's mode for new mappings. */
    MLockMode defMLockMode = MLockMode.NONE;

    VmaLayer(MemoryManager mm) {
        this.mm = mm;
        this.set = new SegmentSet<>(0, -1L, new SegmentFunctions<>() {
            @Override
            public Vma merge(long s1, long e1, Vma v1, long s2, long e2, Vma v2) {
                if (!v1.canMergeWith(e1 - s1, v2)) {
                    return null;
                }
                if (v2.id() != null) {
                    // Never the last reference: v1 holds one on the same identity object.
                    v2.id().decRef(Context.background());
                }
                return v1.lastFault() != 0 || v2.lastFault() == 0 ? v1 : v1.withLastFault(v2.lastFault());
            }

            @Override
            public Split<Vma> split(long start, long end, Vma v, long at) {
                if (v.id() != null) {
                    v.id().incRef();
                }
                return new Split<>(v, v.shifted(at - start));
            }
        }, true);
    }

    // ---------------------------------------------------------------- creation

    /**
     * gVisor's createVMALocked: finds the address, checks RLIMIT_AS and RLIMIT_MEMLOCK,
     * unmaps what a fixed mapping replaces, tells the Mappable, inserts the vma.
     *
     * @return the start of the new vma
     * @throws MemmapException as {@link #findAvailableLocked}, ENOMEM/EPERM/EAGAIN for the
     *     limits (nothing changed), or AddMapping's error (what {@code unmap} removed stays removed, as in Linux)
     */
    long createLocked(Context ctx, MMapOpts opts, long length, long offset, long addr, MLockMode mlock,
            List<MappingIdentity> dropped) throws MemmapException {
        long start;
        try {
            start = findAvailableLocked(opts, length, addr);
        } catch (MemmapException e) {
            if (opts.force() && opts.unmap() && opts.fixed()) {
                start = addr;
            } else {
                throw e;
            }
        }
        AddrRange ar = new AddrRange(start, start + length);
        ResourceLimits limits = ctx.limits();
        long replaced = opts.unmap() ? set.spanRange(ar.start(), ar.end()) : 0;
        if (limits.addressSpace() != ResourceLimits.INFINITY
                && Long.compareUnsigned(usageAS + length - replaced, limits.addressSpace()) > 0) {
            throw Errno.ENOMEM.exception("RLIMIT_AS: " + usageAS + " bytes mapped, " + length + " more would pass "
                    + limits.addressSpace());
        }
        if (mlock != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
            if (limits.memlock() == 0) {
                throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
            }
            long lockedReplaced = opts.unmap() ? lockedIn(ar) : 0;
            if (limits.memlock() != ResourceLimits.INFINITY
                    && Long.compareUnsigned(lockedAS + length - lockedReplaced, limits.memlock()) > 0) {
                throw Errno.EAGAIN.exception("RLIMIT_MEMLOCK: " + lockedAS + " bytes locked, " + length + " more would pass "
                        + limits.memlock());
            }
        }
        if (opts.unmap()) {
            unmapLocked(ctx, ar, dropped); // irreversible even if AddMapping fails, as in Linux
        }
        Vma vma = new Vma(opts.mappable(), offset, opts.perms(), opts.maxPerms(), opts.isPrivate(), opts.growsDown(),
                opts.stack(), false, mlock, opts.mappingIdentity(), opts.name(), opts.nameMut(), 0);
        if (opts.mappable() != null) {
            opts.mappable().addMapping(ctx, mm, ar, offset, vma.canWriteMappable());
        }
        if (opts.mappingIdentity() != null) {
            opts.mappingIdentity().incRef(); // before insertion: a merge may drop a reference
        }
        set.insert(set.findGap(ar.start()), ar.start(), ar.end(), vma);
        account(vma, length);
        return start;
    }

    /**
     * Linux's expand_downwards (a deliberate difference from gVisor, which does not grow
     * stacks): an access at {@code addr}, which no vma holds, grows the growsDown vma right
     * above it down to {@code addr}'s page — unless a vma below that is accessible and not
     * growsDown would come closer than the guard gap ({@link #GUARD_BYTES}, Linux's
     * stack_guard_gap), the stack would pass RLIMIT_STACK, or the address space RLIMIT_AS (or
     * RLIMIT_MEMLOCK for a locked stack). Requires mappingMu for writing.
     *
     * @return whether a vma holds {@code addr} now
     */
    boolean expandStackLocked(Context ctx, long addr) {
        if (set.findSegment(addr) != null) {
            return true;
        }
        Segment<Vma> next = set.lowerBoundSegment(addr);
        if (next == null || !next.value().growsDown()) {
            return false;
        }
        long page = Pages.roundDown(addr);
        Segment<Vma> prev = next.prevSegment();
        if (prev != null && !prev.value().growsDown() && prev.value().effectivePerms().any()
                && Long.compareUnsigned(page - prev.end(), GUARD_BYTES) < 0) {
            return false;
        }
        long growth = next.start() - page;
        ResourceLimits limits = ctx.limits();
        if (limits.stack() != ResourceLimits.INFINITY && Long.compareUnsigned(next.end() - page, limits.stack()) > 0) {
            return false;
        }
        if (limits.addressSpace() != ResourceLimits.INFINITY && Long.compareUnsigned(usageAS + growth, limits.addressSpace()) > 0) {
            return false;
        }
        Vma vma = next.value();
        if (vma.mlockMode() != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK) && limits.memlock() != ResourceLimits.INFINITY
                && Long.compareUnsigned(lockedAS + growth, limits.memlock()) > 0) {
            return false;
        }
        insertLocked(new AddrRange(page, next.start()), vma, true);
        return true;
    }

    /** Inserts {@code vma} at {@code ar} without telling anyone (fork, mremap: the caller did). */
    void insertLocked(AddrRange ar, Vma vma, boolean merge) {
        Gap<Vma> gap = set.findGap(ar.start());
        if (merge) {
            set.insert(gap, ar.start(), ar.end(), vma);
        } else {
            set.insertWithoutMerging(gap, ar.start(), ar.end(), vma);
        }
        account(vma, ar.length());
    }

    /** Bytes of mlocked vmas inside {@code ar}. */
    long lockedIn(AddrRange ar) {
        long[] n = {0};
        set.visitRange(ar.start(), ar.end(), seg -> {
            if (seg.value().mlockMode() != MLockMode.NONE) {
                n[0] += Math.min(seg.end(), ar.end()) - Math.max(seg.start(), ar.start());
            }
            return true;
        });
        return n[0];
    }

    /** Adds {@code delta} bytes of {@code vma} to the counters. */
    void account(Vma vma, long delta) {
        usageAS += delta;
        if (vma.isPrivateData()) {
            dataAS += delta;
        }
        if (vma.mlockMode() != MLockMode.NONE) {
            lockedAS += delta;
        }
    }

    // ---------------------------------------------------------------- removal

    /**
     * gVisor's unmapLocked: the pmas of {@code ar} go first (so no translation outlives the
     * Mappable's knowledge of the mapping), then each vma piece in {@code ar}, ascending, gets
     * RemoveMapping; its identity is queued in {@code dropped} for release after unlocking.
     */
    void unmapLocked(Context ctx, AddrRange ar, List<MappingIdentity> dropped) {
        if (ar.isEmpty()) {
            return;
        }
        mm.pmas.dirty.unmappingLocked(mm, ar); // what was written through a shared mapping, by offset, before the vma goes
        mm.pmas.invalidateLocked(ar, true);
        set.removeRangeWith(ar.start(), ar.end(), seg -> {
            Vma v = seg.value();
            if (v.mappable() != null) {
                v.mappable().removeMapping(ctx, mm, new AddrRange(seg.start(), seg.end()), v.off(), v.canWriteMappable());
            }
            if (v.id() != null) {
                dropped.add(v.id());
            }
            account(v, -seg.length());
        });
    }

    // ---------------------------------------------------------------- the one attribute-change helper

    /** What a call that changes vma attributes does to each isolated piece. */
    @FunctionalInterface
    interface Change {
        /**
         * @param piece the vma piece, already isolated to the call's range: its value (offset
         *     included) is the piece's own
         * @return the piece's new value (the same object for no change)
         */
        Vma apply(Segment<Vma> piece) throws MemmapException;
    }

    /**
     * How far a {@link #changeLocked} got.
     *
     * @param end where the contiguous coverage from the range's start ended
     * @param hole whether a hole was met (and skipped, unless the change stops at holes)
     */
    record Coverage(long end, boolean hole) {
        /** Whether the whole of {@code ar} was mapped. */
        boolean complete(AddrRange ar) {
            return !hole && Long.compareUnsigned(end, ar.end()) >= 0;
        }
    }

    /**
     * The isolate / change / merge pattern every vma-attribute call shares (mprotect, mlock,
     * madvise(DONTFORK/DOFORK), setName): each vma piece in {@code ar} is isolated (pmas are
     * split at the same edges, so that no pma spans two vmas), handed to {@code change}, its
     * new value stored with the counters adjusted, and at the end — also when {@code change}
     * throws — the range is merged inside and at its two outer edges.
     *
     * <p>Postcondition: pieces before a throwing {@code change} keep their new values (Linux
     * does the same for mprotect's EACCES).
     *
     * @param stopAtHole stop at the first unmapped address (mprotect, mlock) instead of going on (madvise, setName)
     */
    Coverage changeLocked(AddrRange ar, boolean stopAtHole, Change change) throws MemmapException {
        long pos = ar.start();
        boolean hole = false;
        try {
            Segment<Vma> v = set.lowerBoundSegment(ar.start());
            while (v != null && Long.compareUnsigned(v.start(), ar.end()) < 0) {
                if (Long.compareUnsigned(v.start(), pos) > 0) {
                    hole = true;
                    if (stopAtHole) {
                        break;
                    }
                }
                v = set.isolate(v, ar.start(), ar.end());
                mm.pmas.splitAtLocked(v.start());
                mm.pmas.splitAtLocked(v.end());
                Vma old = v.value();
                Vma changed = change.apply(v);
                if (changed != old) {
                    account(old, -v.length());
                    v.setValue(changed);
                    account(changed, v.length());
                }
                pos = v.end();
                v = v.nextSegment();
            }
        } finally {
            set.mergeInsideRange(ar.start(), ar.end());
            set.mergeOutsideRange(ar.start(), ar.end());
        }
        return new Coverage(pos, hole);
    }

    // ---------------------------------------------------------------- address selection

    /** gVisor's findAvailableLocked (spec §4.4). */
    long findAvailableLocked(MMapOpts opts, long length, long addr) throws MemmapException {
        MemoryManager.Layout layout = mm.layout();
        boolean map32 = opts.map32Bit() && !opts.fixed();
        long lo = layout.minAddr();
        long hi = layout.maxAddr();
        if (map32) {
            lo = Math.max(lo, MAP32_START);
            hi = Math.min(hi, MAP32_END);
        }
        if (addr != 0 || opts.fixed()) {
            long end = addr + length;
            boolean valid = Long.compareUnsigned(end, addr) > 0 && Long.compareUnsigned(addr, lo) >= 0
                    && Long.compareUnsigned(end, hi) <= 0;
            if (valid) {
                if (opts.unmap()) {
                    return addr;
                }
                Gap<Vma> gap = set.findGap(addr);
                if (opts.noReplace()) {
                    if (gap != null && Long.compareUnsigned(end, gap.end()) <= 0) {
                        return addr;
                    }
                    throw Errno.EEXIST.exception("[" + Pages.hex(addr) + ", " + Pages.hex(end) + ") overlaps an existing mapping");
                }
                if (gap != null) {
                    AddrRange avail = available(gap);
                    if (Long.compareUnsigned(addr, avail.start()) >= 0 && Long.compareUnsigned(end, avail.end()) <= 0) {
                        return addr;
                    }
                }
            }
            if (opts.fixed()) {
                if (opts.noReplace() && !valid) {
                    throw Errno.ENOMEM.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") is outside the address space");
                }
                throw Errno.ENOMEM.exception("cannot map [" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") at that fixed address");
            }
        }
        long align = length % Pages.HUGE_PAGE_SIZE == 0 && opts.isPrivate() && !opts.growsDown() && !opts.stack()
                ? Pages.HUGE_PAGE_SIZE : Pages.PAGE_SIZE;
        if (map32) {
            return findLowest(length, align, lo, hi);
        }
        if (!layout.topDown()) {
            return findLowest(length, align, layout.bottomUpBase(), layout.maxAddr());
        }
        return findHighest(length, align, layout.minAddr(), layout.topDownBase());
    }

    /** The part of a gap a new mapping may use: below a growsDown vma, not its guard. */
    private static AddrRange available(Gap<Vma> gap) {
        long end = gap.end();
        Segment<Vma> next = gap.nextSegment();
        if (next != null && next.value().growsDown()) {
            end = Long.compareUnsigned(gap.length(), GUARD_BYTES) > 0 ? end - GUARD_BYTES : gap.start();
        }
        return new AddrRange(gap.start(), end);
    }

    private Gap<Vma> gapAtOrAfter(long a) {
        Gap<Vma> g = set.findGap(a);
        return g != null ? g : set.findSegment(a).nextGap();
    }

    private long findLowest(long length, long align, long lo, long hi) throws MemmapException {
        for (Gap<Vma> g = gapAtOrAfter(lo); g != null && Long.compareUnsigned(g.start(), hi) < 0; g = g.nextLargeEnoughGap(length)) {
            AddrRange avail = available(g).intersect(new AddrRange(lo, hi));
            if (Long.compareUnsigned(avail.length(), length) < 0) {
                continue;
            }
            long aligned = (avail.start() + align - 1) & -align;
            if (Long.compareUnsigned(aligned, avail.start()) >= 0 && Long.compareUnsigned(aligned + length, avail.end()) <= 0) {
                return aligned;
            }
            return avail.start();
        }
        throw Errno.ENOMEM.exception("no free range of " + Pages.hex(length) + " bytes in [" + Pages.hex(lo) + ", " + Pages.hex(hi) + ")");
    }

    private long findHighest(long length, long align, long lo, long hi) throws MemmapException {
        Gap<Vma> g = set.findGap(hi - 1);
        if (g == null) {
            g = set.findSegment(hi - 1).prevGap();
        }
        for (; g != null && Long.compareUnsigned(g.end(), lo) > 0; g = g.prevLargeEnoughGap(length)) {
            AddrRange avail = available(g).intersect(new AddrRange(lo, hi));
            if (Long.compareUnsigned(avail.length(), length) < 0) {
                continue;
            }
            long start = avail.end() - length;
            long aligned = start & -align;
            return Long.compareUnsigned(aligned, avail.start()) >= 0 ? aligned : start;
        }
        throw Errno.ENOMEM.exception("no free range of " + Pages.hex(length) + " bytes in [" + Pages.hex(lo) + ", " + Pages.hex(hi) + ")");
    }

    // ---------------------------------------------------------------- invariants

    /** Checks the vma set and the counters against each other. */
    void checkInvariants() {
        set.checkInvariants();
        long usage = 0;
        long data = 0;
        long locked = 0;
        Segment<Vma> prev = null;
        for (Segment<Vma> s = set.firstSegment(); s != null; s = s.nextSegment()) {
            Vma v = s.value();
            if (!Pages.isPageAligned(s.start()) || !Pages.isPageAligned(s.end())) {
                throw new IllegalStateException("unaligned vma " + s);
            }
            if (!v.maxPerms().equals(v.maxPerms().effective())) {
                throw new IllegalStateException("vma with ineffective maxPerms at " + Pages.hex(s.start()));
            }
            if (prev != null && prev.end() == s.start() && prev.value().canMergeWith(prev.length(), v)) {
                throw new IllegalStateException("mergeable vmas left apart at " + Pages.hex(s.start()));
            }
            usage += s.length();
            data += v.isPrivateData() ? s.length() : 0;
            locked += v.mlockMode() != MLockMode.NONE ? s.length() : 0;
            prev = s;
        }
        if (usage != usageAS || data != dataAS || locked != lockedAS) {
            throw new IllegalStateException("counters usageAS/dataAS/lockedAS = " + usageAS + "/" + dataAS + "/" + lockedAS
                    + " but the vmas say " + usage + "/" + data + "/" + locked);
        }
    }
}
