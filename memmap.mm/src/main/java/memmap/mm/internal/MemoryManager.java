package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.InvalidateOpts;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MappingIdentity;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.ResourceLimits;
import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * An address space (gVisor's {@code mm.MemoryManager}, spec §4): the vmas of one process and
 * the system calls that change them.
 *
 * <p><b>Status:</b> this is the vma layer — mmap (validation, address selection, limits,
 * {@code AddMapping}, identity references, vma merging), munmap ({@code RemoveMapping} per
 * vma piece, identities dropped after unlocking) and the maps text. The pma layer (cached
 * translations, I/O, copy-on-write, population) is not built yet, so nothing is cached and
 * {@link #invalidate} has nothing to drop.
 *
 * <p>Lock order (spec §4.2): {@link #mappingMu} → locks of MappingIdentity and Mappable methods
 * other than translate → activeMu (with the pma layer) → translate's locks → File locks.
 * Identity references dropped while {@code mappingMu} is held are released after unlocking,
 * because a last DecRef may take locks ranking above it.
 */
public final class MemoryManager implements MappingSpace {
    /**
     * Where mappings go (x86-64 defaults: {@link #LINUX_X86_64}).
     *
     * @param minAddr lowest mappable address
     * @param maxAddr end of the application's address range
     * @param bottomUpBase where bottom-up searches start
     * @param topDownBase where top-down searches start (searching down)
     * @param topDown the default direction
     */
    public record Layout(long minAddr, long maxAddr, long bottomUpBase, long topDownBase, boolean topDown) {
        /** Linux x86-64: 64 KiB to 128 TiB - 4 KiB, top-down below a 128 MiB stack gap. */
        public static final Layout LINUX_X86_64 = new Layout(0x10000L, 0x7fff_ffff_f000L, 0x2aaa_aaaa_a000L,
                0x7fff_ffff_f000L - (128L << 20), true);
    }

    /** A gap directly below a growsDown vma keeps this many bytes free (stack guard). */
    static final long GUARD_BYTES = 256 * Pages.PAGE_SIZE;
    private static final long MAP32_START = 0x4000_0000L;
    private static final long MAP32_END = 0x8000_0000L;

    private final Layout layout;
    private final ReentrantReadWriteLock mappingMu = new ReentrantReadWriteLock();
    private final SegmentSet<Vma> vmas;
    private long usageAS;
    private long lockedAS;
    private long dataAS;
    private MLockMode defMLockMode = MLockMode.NONE;

    /** An empty address space with the given layout. */
    public MemoryManager(Layout layout) {
        this.layout = layout;
        this.vmas = new SegmentSet<>(0, -1L, new SegmentFunctions<>() {
            @Override
            public Vma merge(long s1, long e1, Vma v1, long s2, long e2, Vma v2) {
                if (!v1.canMergeWith(e1 - s1, v2)) {
                    return null;
                }
                if (v2.id() != null) {
                    // Never the last reference: v1 holds one on the same identity object.
                    v2.id().decRef(Context.background());
                }
                return v1.lastFault() != 0 || v2.lastFault() == 0 ? v1 : new Vma(v1.mappable(), v1.off(), v1.realPerms(),
                        v1.maxPerms(), v1.isPrivate(), v1.growsDown(), v1.isStack(), v1.dontfork(), v1.mlockMode(), v1.id(),
                        v1.name(), v1.nameMut(), v2.lastFault());
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

    /** The layout. */
    public Layout layout() {
        return layout;
    }

    // ---------------------------------------------------------------- mmap

    /**
     * Creates a mapping (spec §4.3) and returns its address.
     *
     * @throws MemmapException EINVAL, ENOMEM, EOVERFLOW, EACCES, EEXIST, EPERM, EAGAIN as Linux
     *     returns them, checked in the spec's order, or the Mappable's AddMapping error; the
     *     address space is then unchanged (except that {@code unmap} has already removed what was
     *     at the fixed address when AddMapping fails, as in Linux)
     */
    public long mmap(Context ctx, MMapOpts opts) throws MemmapException {
        if (opts.length() == 0) {
            throw Errno.EINVAL.exception("length = 0");
        }
        Pages.Rounded len = Pages.roundUp(opts.length());
        if (!len.ok() || len.value() == 0) {
            throw Errno.ENOMEM.exception("length = " + Pages.hex(opts.length()) + " overflows when rounded up to a page");
        }
        long offset = 0;
        if (opts.mappable() != null) {
            if (!Pages.isPageAligned(opts.offset())) {
                throw Errno.EINVAL.exception("offset = " + Pages.hex(opts.offset()) + " is not page-aligned");
            }
            if (!Pages.addFits(opts.offset(), len.value())) {
                throw Errno.EOVERFLOW.exception("offset = " + Pages.hex(opts.offset()) + " + length overflows");
            }
            offset = opts.offset();
        }
        long addr = opts.addr();
        if (!Pages.isPageAligned(addr)) {
            if (opts.fixed()) {
                throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned for a fixed mapping");
            }
            addr = Pages.roundDown(addr);
        }
        if (!opts.maxPerms().supersetOf(opts.perms())) {
            throw Errno.EACCES.exception("perms = " + opts.perms() + " exceed maxPerms = " + opts.maxPerms());
        }
        if (opts.growsDown() && opts.mappable() != null) {
            throw Errno.EINVAL.exception("growsDown is for anonymous mappings only");
        }

        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            MLockMode mlock = MLockMode.max(opts.mlockMode(), defMLockMode);
            return createVma(ctx, opts, len.value(), offset, addr, mlock, dropped);
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    /** gVisor's createVMA. Requires {@link #mappingMu} write-locked. */
    private long createVma(Context ctx, MMapOpts opts, long length, long offset, long addr, MLockMode mlock,
            List<MappingIdentity> dropped) throws MemmapException {
        long start;
        try {
            start = findAvailable(opts, length, addr);
        } catch (MemmapException e) {
            if (opts.force() && opts.unmap() && opts.fixed()) {
                start = addr;
            } else {
                throw e;
            }
        }
        AddrRange ar = new AddrRange(start, start + length);
        ResourceLimits limits = ctx.limits();
        long replaced = opts.unmap() ? vmas.spanRange(ar.start(), ar.end()) : 0;
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
            opts.mappable().addMapping(ctx, this, ar, offset, vma.canWriteMappable());
        }
        if (opts.mappingIdentity() != null) {
            opts.mappingIdentity().incRef(); // before insertion: a merge may drop a reference
        }
        Gap<Vma> gap = vmas.findGap(ar.start());
        vmas.insert(gap, ar.start(), ar.end(), vma);
        usageAS += length;
        if (vma.isPrivateData()) {
            dataAS += length;
        }
        if (mlock != MLockMode.NONE) {
            lockedAS += length;
        }
        return start;
    }

    private long lockedIn(AddrRange ar) {
        long[] n = {0};
        vmas.visitRange(ar.start(), ar.end(), seg -> {
            if (seg.value().mlockMode() != MLockMode.NONE) {
                n[0] += Math.min(seg.end(), ar.end()) - Math.max(seg.start(), ar.start());
            }
            return true;
        });
        return n[0];
    }

    // ---------------------------------------------------------------- address selection

    /** gVisor's findAvailableLocked (spec §4.4). Requires {@link #mappingMu}. */
    long findAvailable(MMapOpts opts, long length, long addr) throws MemmapException {
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
                Gap<Vma> gap = vmas.findGap(addr);
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
            end = gap.length() > GUARD_BYTES ? end - GUARD_BYTES : gap.start();
        }
        return new AddrRange(gap.start(), end);
    }

    private Gap<Vma> gapAtOrAfter(long a) {
        Gap<Vma> g = vmas.findGap(a);
        return g != null ? g : vmas.findSegment(a).nextGap();
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
        Gap<Vma> g = vmas.findGap(hi - 1);
        if (g == null) {
            g = vmas.findSegment(hi - 1).prevGap();
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

    // ---------------------------------------------------------------- munmap

    /**
     * Removes the mappings of {@code [addr, addr + length)} (spec §4.6). Unmapping what is not
     * mapped is not an error.
     *
     * @throws MemmapException EINVAL for an unaligned address, a zero length or an overflowing range
     */
    public void munmap(Context ctx, long addr, long length) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            throw Errno.EINVAL.exception("length = 0");
        }
        Pages.Rounded len = Pages.roundUp(length);
        if (!len.ok() || len.value() == 0 || !Pages.addFits(addr, len.value()) || addr + len.value() == 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            unmapLocked(ctx, new AddrRange(addr, addr + len.value()), dropped);
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    /**
     * gVisor's unmapLocked: each vma piece in {@code ar}, ascending, gets RemoveMapping; its
     * identity is queued for release after unlocking. Requires {@link #mappingMu} write-locked.
     */
    private void unmapLocked(Context ctx, AddrRange ar, List<MappingIdentity> dropped) {
        // With the pma layer: invalidate(ar, InvalidatePrivate) first, so no cached translation
        // outlives the Mappable's knowledge of the mapping. Nothing is cached yet.
        vmas.removeRangeWith(ar.start(), ar.end(), seg -> {
            Vma v = seg.value();
            long len = seg.length();
            if (v.mappable() != null) {
                v.mappable().removeMapping(ctx, this, new AddrRange(seg.start(), seg.end()), v.off(), v.canWriteMappable());
            }
            if (v.id() != null) {
                dropped.add(v.id());
            }
            usageAS -= len;
            if (v.isPrivateData()) {
                dataAS -= len;
            }
            if (v.mlockMode() != MLockMode.NONE) {
                lockedAS -= len;
            }
        });
    }

    // ---------------------------------------------------------------- MappingSpace

    /**
     * Drops cached translations of {@code ar}. The pma layer is not built yet, so nothing is
     * cached and there is nothing to drop.
     */
    @Override
    public void invalidate(AddrRange ar, InvalidateOpts opts) {
        ar.checkPageAligned("ar");
    }

    // ---------------------------------------------------------------- accounting and maps

    /** Bytes mapped (RLIMIT_AS's measure). */
    public long usageAS() {
        mappingMu.readLock().lock();
        try {
            return usageAS;
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    /** Bytes of private, writable, not-growsDown mappings (RLIMIT_DATA's measure). */
    public long dataAS() {
        mappingMu.readLock().lock();
        try {
            return dataAS;
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    /** Bytes of mlocked mappings. */
    public long lockedAS() {
        mappingMu.readLock().lock();
        try {
            return lockedAS;
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    /**
     * {@code /proc/[pid]/maps} in Linux's exact format (spec §4.17): one line per vma,
     * {@code %08x-%08x %s%s %08x %02x:%02x %d }, the path padded to column 73, then the fixed
     * vsyscall line.
     */
    public String maps(Context ctx) {
        StringBuilder sb = new StringBuilder();
        mappingMu.readLock().lock();
        try {
            for (Segment<Vma> s = vmas.firstSegment(); s != null; s = s.nextSegment()) {
                Vma v = s.value();
                String path = !v.name().isEmpty() ? v.name() : v.id() != null ? v.id().mappedName(ctx) : "";
                long dev = v.id() != null ? v.id().deviceId() : 0;
                long ino = v.id() != null ? v.id().inodeId() : 0;
                mapsLine(sb, s.start(), s.end(), v.realPerms(), v.isPrivate(), v.mappable() == null ? 0 : v.off(), dev, ino, path);
            }
        } finally {
            mappingMu.readLock().unlock();
        }
        mapsLine(sb, 0xffff_ffff_ff60_0000L, 0xffff_ffff_ff60_1000L, AccessType.READ_EXECUTE, true, 0, 0, 0, "[vsyscall]");
        return sb.toString();
    }

    static void mapsLine(StringBuilder sb, long start, long end, AccessType perms, boolean isPrivate, long off, long dev,
            long ino, String path) {
        int lineStart = sb.length();
        sb.append(String.format("%08x-%08x %s%s %08x %02x:%02x %d ", start, end, perms, isPrivate ? "p" : "s", off,
                dev >>> 20, dev & 0xfffff, ino));
        if (!path.isEmpty()) {
            int pad = 73 - (sb.length() - lineStart);
            sb.append(" ".repeat(Math.max(pad, 0))).append(path);
        }
        sb.append('\n');
    }

    /** Checks the vma set and the counters against each other (for tests). */
    public void checkInvariants() {
        mappingMu.readLock().lock();
        try {
            vmas.checkInvariants();
            long usage = 0;
            long data = 0;
            long locked = 0;
            for (Segment<Vma> s = vmas.firstSegment(); s != null; s = s.nextSegment()) {
                Vma v = s.value();
                if (!Pages.isPageAligned(s.start()) || !Pages.isPageAligned(s.end())) {
                    throw new IllegalStateException("unaligned vma " + s);
                }
                if (!v.maxPerms().equals(v.maxPerms().effective())) {
                    throw new IllegalStateException("vma with ineffective maxPerms at " + Pages.hex(s.start()));
                }
                usage += s.length();
                data += v.isPrivateData() ? s.length() : 0;
                locked += v.mlockMode() != MLockMode.NONE ? s.length() : 0;
            }
            if (usage != usageAS || data != dataAS || locked != lockedAS) {
                throw new IllegalStateException("counters usageAS/dataAS/lockedAS = " + usageAS + "/" + dataAS + "/" + lockedAS
                        + " but the vmas say " + usage + "/" + data + "/" + locked);
            }
        } finally {
            mappingMu.readLock().unlock();
        }
    }
}
