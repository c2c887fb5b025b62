package memmap.mm.internal;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import java.lang.foreign.MemorySegment;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.MAdvice;
import memmap.api.Mappable;
import memmap.api.MRemapMove;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.BufferedIOFallback;
import memmap.api.BusError;
import memmap.api.FileRange;
import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MappableRange;
import memmap.api.MemmapError;
import memmap.api.MemmapFile;
import memmap.api.MemoryFile;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FaultException;
import memmap.api.MMapPlatformEffect;
import memmap.api.InvalidateOpts;
import memmap.api.MLockMode;
import memmap.api.NameMut;
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
 * An address space (gVisor's {@code mm.MemoryManager}, spec §4): the vmas of one process and
 * the system calls that change them.
 *
 * <p><b>Status:</b> built: vmas (mmap, munmap, address selection, limits, vma merging, the
 * maps text) and pmas (cached translations, {@link #read}/{@link #write}/{@link #zero},
 * private anonymous memory from the {@link MemoryFile}, copy-on-write of private file
 * mappings, {@link #invalidate}), mprotect, msync, madvise (DONTNEED, DONTFORK/DOFORK),
 * mlock/munlock/mlockall, fork, mremap. Not yet: population at mmap, smaps, brk/stack,
 * DS binding of providers, the buffered-I/O fallback through the strategy service.
 *
 * <p>Lock order (spec §4.2): {@link #mappingMu} → locks of MappingIdentity and Mappable methods
 * other than translate → activeMu (with the pma layer) → translate's locks → File locks.
 * Identity references dropped while {@code mappingMu} is held are released after unlocking,
 * because a last DecRef may take locks ranking above it.
 */
public final class MemoryManager implements AddressSpace {
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
    private final Backings backings;
    private static final AtomicLong SERIALS = new AtomicLong();

    /** Creation order: the order in which a migration locks address spaces. */
    final long serial = SERIALS.incrementAndGet();

    private final ReentrantReadWriteLock mappingMu = new ReentrantReadWriteLock();
    private final SegmentSet<Vma> vmas;
    /** Guards {@link #pmas} and {@link #curRSS}; ranks below mappingMu (gVisor's activeMu). */
    private final ReentrantLock activeMu = new ReentrantLock();
    private final SegmentSet<Pma> pmas = new SegmentSet<>(new SegmentFunctions<>() {
        @Override
        public Pma merge(long s1, long e1, Pma v1, long s2, long e2, Pma v2) {
            return v1.canMergeWith(e1 - s1, v2) ? v1.withInternal(null) : null;
        }

        @Override
        public Split<Pma> split(long start, long end, Pma v, long at) {
            long d = at - start;
            Pma right = new Pma(v.file(), v.off() + d, v.translatePerms(), v.effectivePerms(), v.maxPerms(), v.needCOW(),
                    v.isPrivate(), v.internal() == null ? null : v.internal().dropFirst(d));
            return new Split<>(v.internal() == null ? v : v.withInternal(v.internal().takeFirst(d)), right);
        }
    });
    private long curRSS;
    /** Bumped (under activeMu) whenever pmas may change; the fast path trusts its cache only at the same version. */
    private long pmaVersion;
    /** The fast path's cache, guarded by activeMu: the last single-Block, safe pma copied through. */
    private long hitStart;
    private long hitEnd;
    private MemorySegment hitSegment;
    private AccessType hitPerms = AccessType.NO_ACCESS;
    private long hitVersion = -1;
    private long usageAS;
    private long lockedAS;
    private long dataAS;
    private MLockMode defMLockMode = MLockMode.NONE;

    /** An empty address space taking private memory from {@code memoryFile} and no providers. */
    public MemoryManager(Layout layout, MemoryFile memoryFile) {
        this(layout, Backings.of(java.util.Objects.requireNonNull(memoryFile, "memoryFile")));
    }

    /** An empty address space using {@code backings}. */
    public MemoryManager(Layout layout, Backings backings) {
        this.layout = layout;
        this.backings = backings;
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
        backings.created(this);
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
    @Override
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

        Backing shared = null;
        if (opts.mappable() == null && !opts.isPrivate()) {
            // MAP_SHARED | MAP_ANONYMOUS: memory from the anonymous provider, as gVisor's mmap
            // system call makes a shared anonymous Mappable.
            shared = backings.backing(ctx, new BackingRequest.Anonymous(len.value()));
            opts = opts.toBuilder().mappable(shared.mappable()).mappingIdentity(shared.identity()).offset(0).build();
        }
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            MLockMode mlock = MLockMode.max(opts.mlockMode(), defMLockMode);
            long start = createVma(ctx, opts, len.value(), offset, addr, mlock, dropped);
            AddrRange ar = new AddrRange(start, start + len.value());
            if (opts.platformEffect().compareTo(MMapPlatformEffect.POPULATE) >= 0 || mlock == MLockMode.EAGER) {
                // Spec §4.3: populate now; only with requirePlatformEffect does a failure undo the mmap.
                MemmapError err = populateBestEffort(ctx, ar);
                if (err != null && opts.requirePlatformEffect() && opts.platformEffect() != MMapPlatformEffect.DEFAULT) {
                    unmapLocked(ctx, ar, dropped);
                    throw err.toErrno().exception("populating " + ar + ": " + err.message());
                }
            }
            return start;
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
            if (shared != null) {
                shared.identity().decRef(ctx); // the vma holds its own reference (or none, on failure)
            }
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

    // ---------------------------------------------------------------- shm

    @Override
    public long shmat(Context ctx, int id, long addr, int flags) throws MemmapException {
        try (SysVSharedMemory.Attachment a = backings.sysv().attach(ctx, id, addr, flags)) {
            return mmap(ctx, a.opts());
        }
    }

    @Override
    public void shmdt(Context ctx, long addr) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            Segment<Vma> v = vmas.lowerBoundSegment(addr);
            while (v != null && !(v.value().mappable() instanceof SysVSharedMemory.Segment && v.start() - addr == v.value().off())) {
                v = v.nextSegment();
            }
            if (v == null) {
                throw Errno.EINVAL.exception("no System V segment is attached at " + Pages.hex(addr));
            }
            SysVSharedMemory.Segment seg = (SysVSharedMemory.Segment) v.value().mappable();
            long end = addr + seg.effectiveSize();
            List<AddrRange> fragments = new ArrayList<>();
            for (; v != null && Long.compareUnsigned(v.end(), end) <= 0; v = v.nextSegment()) {
                if (v.value().mappable() == seg && v.start() - addr == v.value().off()) {
                    fragments.add(new AddrRange(v.start(), v.end()));
                }
            }
            for (AddrRange f : fragments) {
                unmapLocked(ctx, f, dropped);
            }
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    // ---------------------------------------------------------------- munmap

    /**
     * Removes the mappings of {@code [addr, addr + length)} (spec §4.6). Unmapping what is not
     * mapped is not an error.
     *
     * @throws MemmapException EINVAL for an unaligned address, a zero length or an overflowing range
     */
    @Override
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
        // Cached translations go first, so none outlives the Mappable's knowledge of the mapping.
        invalidateLocked(ar, true);
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
     * Drops cached translations of {@code ar} (spec §4.9): every non-private pma, and private
     * ones too with {@code invalidatePrivate}; the next access translates again (or, for private
     * memory dropped, sees what the Mappable has now).
     */
    @Override
    public void invalidate(AddrRange ar, InvalidateOpts opts) {
        ar.checkPageAligned("ar");
        invalidateLocked(ar, opts.invalidatePrivate());
    }

    /** Locks activeMu to change pmas: the fast path's cache stops being trusted. */
    private void lockActiveForChange() {
        activeMu.lock();
        pmaVersion++;
    }

    private void invalidateLocked(AddrRange ar, boolean invalidatePrivate) {
        lockActiveForChange();
        try {
            Segment<Pma> p = pmas.lowerBoundSegment(ar.start());
            while (p != null && Long.compareUnsigned(p.start(), ar.end()) < 0) {
                if (p.value().isPrivate() && !invalidatePrivate) {
                    p = p.nextSegment();
                    continue;
                }
                p = pmas.isolate(p, ar.start(), ar.end());
                long len = p.length();
                p.value().file().decRef(p.value().fileRange(len));
                curRSS -= len;
                p = pmas.remove(p).nextSegment();
            }
        } finally {
            activeMu.unlock();
        }
    }

    // ---------------------------------------------------------------- I/O

    /** Copies {@code dst.byteSize()} bytes at {@code addr} into {@code dst} (gVisor's CopyIn). */
    @Override
    public IoResult read(Context ctx, long addr, MemorySegment dst) {
        IoResult fast = fastCopy(addr, dst, false);
        if (fast != null) {
            return fast;
        }
        return io(ctx, addr, dst.byteSize(), AccessType.READ, (block, at) -> Block.copy(Block.ofSafe(dst.asSlice(at, block.length())), block));
    }

    /** Copies {@code src} to {@code addr} (gVisor's CopyOut). */
    @Override
    public IoResult write(Context ctx, long addr, MemorySegment src) {
        IoResult fast = fastCopy(addr, src, true);
        if (fast != null) {
            return fast;
        }
        return io(ctx, addr, src.byteSize(), AccessType.WRITE, (block, at) -> Block.copy(block, Block.ofSafe(src.asSlice(at, block.length()))));
    }

    /** Zeroes {@code length} bytes at {@code addr} (gVisor's ZeroOut). */
    @Override
    public IoResult zero(Context ctx, long addr, long length) {
        return io(ctx, addr, length, AccessType.WRITE, (block, at) -> Block.zero(block));
    }

    @Override
    public void fault(Context ctx, long addr, AccessType at) throws FaultException {
        long page = Pages.roundDown(addr);
        mappingMu.readLock().lock();
        try {
            Segment<Vma> v = vmas.findSegment(page);
            if (v == null) {
                throw new FaultException(addr, Errno.EFAULT.withDetail("no mapping"));
            }
            if (!v.value().effectivePerms().supersetOf(at)) {
                throw new FaultException(addr, Errno.EPERM.withDetail("mapped " + v.value().effectivePerms() + ", not for " + at));
            }
            lockActiveForChange();
            try {
                MemmapError err = getPmas(ctx, v, new AddrRange(page, page + Pages.PAGE_SIZE), at);
                if (err != null) {
                    throw new FaultException(addr, err);
                }
            } finally {
                activeMu.unlock();
            }
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    /**
     * The fast path of small copies: under activeMu only, through the last pma used if it covers
     * the whole copy with the permission needed and no pma has changed since. Sound without
     * mappingMu: a pma exists only inside a live vma (munmap drops pmas first) and its effective
     * permissions follow mprotect; holding activeMu, no page can be freed under the copy.
     *
     * @return the result, or null to take the full path
     */
    private IoResult fastCopy(long addr, MemorySegment mem, boolean write) {
        long n = mem.byteSize();
        activeMu.lock();
        try {
            if (hitVersion != pmaVersion || Long.compareUnsigned(addr, hitStart) < 0 || Long.compareUnsigned(addr + n, hitEnd) > 0
                    || Long.compareUnsigned(addr + n, addr) < 0 || !(write ? hitPerms.write() : hitPerms.read())) {
                return null;
            }
            if (write) {
                MemorySegment.copy(mem, 0, hitSegment, addr - hitStart, n);
            } else {
                MemorySegment.copy(hitSegment, addr - hitStart, mem, 0, n);
            }
            return IoResult.ok(n);
        } finally {
            activeMu.unlock();
        }
    }

    /** One step of an I/O: transfer between {@code block} and the caller's memory at offset {@code at}. */
    private interface Transfer {
        IoResult apply(Block block, long at);
    }

    /**
     * The I/O path (spec §4.5): vma checks, then pmas obtained (translating, allocating or
     * breaking copy-on-write as needed) and their internal mappings used for the copy. Returns
     * the bytes done and, if short, why: EFAULT for a missing vma or permission, the
     * Mappable's error (a {@link BusError} past the end of a file), or a {@link BusError}
     * wrapping the {@link HostFault} a copy took.
     */
    private IoResult io(Context ctx, long addr, long length, AccessType at, Transfer t) {
        if (length == 0) {
            return IoResult.ok(0);
        }
        long end = addr + length;
        if (Long.compareUnsigned(end, addr) < 0) {
            return new IoResult(0, Errno.EFAULT.withDetail("[" + Pages.hex(addr) + ", +" + length + ") overflows"));
        }
        long done = 0;
        mappingMu.readLock().lock();
        try {
            long pos = addr;
            while (Long.compareUnsigned(pos, end) < 0) {
                Segment<Vma> vseg = vmas.findSegment(pos);
                if (vseg == null) {
                    return new IoResult(done, Errno.EFAULT.withDetail(Pages.hex(pos) + " is not mapped"));
                }
                Vma vma = vseg.value();
                if (!vma.effectivePerms().supersetOf(at)) {
                    return new IoResult(done, Errno.EFAULT.withDetail(Pages.hex(pos) + " is mapped " + vma.effectivePerms()
                            + ", not for " + at));
                }
                long chunkEnd = Long.compareUnsigned(vseg.end(), end) < 0 ? vseg.end() : end;
                lockActiveForChange();
                try {
                    AddrRange pages = new AddrRange(Pages.roundDown(pos), Pages.roundUp(chunkEnd).value());
                    MemmapError err = getPmas(ctx, vseg, pages, at);
                    while (pos < chunkEnd) {
                        Segment<Pma> p = pmas.findSegment(pos);
                        if (p == null) {
                            return new IoResult(done, err != null ? err : Errno.EFAULT.withDetail(Pages.hex(pos) + " has no memory"));
                        }
                        long n = Math.min(chunkEnd, p.end()) - pos;
                        IoResult r = transfer(p, pos, n, at, done, t);
                        done += r.n();
                        pos += r.n();
                        if (r.error() != null) {
                            return new IoResult(done, r.error());
                        }
                    }
                } finally {
                    activeMu.unlock();
                }
            }
            return IoResult.ok(done);
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    /** Copies {@code n} bytes of pma {@code p} from address {@code pos}. Requires activeMu. */
    private IoResult transfer(Segment<Pma> p, long pos, long n, AccessType at, long callerOffset, Transfer t) {
        Pma pma = p.value();
        BlockSeq internal = pma.internal();
        if (internal == null) {
            try {
                internal = pma.file().mapInternal(pma.fileRange(p.length()), pma.maxPerms().intersect(AccessType.READ_WRITE));
                p.setValue(pma.withInternal(internal));
            } catch (MemmapException e) {
                if (e.error() == BufferedIOFallback.INSTANCE) {
                    return bufferedTransfer(pma, p.start(), pos, n, at, callerOffset, t);
                }
                return new IoResult(0, e.error());
            }
        }
        if (internal.numBlocks() == 1 && !internal.head().needSafecopy()) {
            hitStart = p.start();
            hitEnd = p.end();
            hitSegment = internal.head().segment();
            hitPerms = pma.effectivePerms();
            hitVersion = pmaVersion;
        }
        long done = 0;
        for (BlockSeq bs = internal.dropFirst(pos - p.start()).takeFirst(n); !bs.isEmpty(); bs = bs.tail()) {
            Block b = bs.head();
            IoResult r = t.apply(b, callerOffset + done);
            done += r.n();
            if (r.error() != null) {
                MemmapError err = r.error() instanceof HostFault ? new BusError(r.error()) : r.error();
                return new IoResult(done, err);
            }
        }
        return IoResult.ok(done);
    }

    /**
     * The buffered-I/O fallback for a file that cannot be mapped: through a heap buffer, by the
     * highest-ranked fallback strategy (taken afresh for each copy), else the File's own
     * buffered I/O.
     */
    private IoResult bufferedTransfer(Pma pma, long pmaStart, long pos, long n, AccessType at, long callerOffset, Transfer t) {
        long fileOff = pma.off() + (pos - pmaStart);
        byte[] buf = new byte[(int) Math.min(n, Integer.MAX_VALUE)];
        MemorySegment seg = MemorySegment.ofArray(buf);
        BufferedIOFallbackStrategy strategy = backings.fallback();
        if (!at.write()) {
            IoResult r = strategy != null ? strategy.read(pma.file(), fileOff, BlockSeq.of(Block.ofSafe(seg)))
                    : pma.file().bufferReadAt(fileOff, seg);
            IoResult c = t.apply(Block.ofSafe(seg.asSlice(0, r.n())), callerOffset);
            return r.error() != null ? new IoResult(c.n(), r.error()) : c;
        }
        IoResult c = t.apply(Block.ofSafe(seg), callerOffset);
        IoResult w = strategy != null ? strategy.write(pma.file(), fileOff, BlockSeq.of(Block.ofSafe(seg.asSlice(0, c.n()))))
                : pma.file().bufferWriteAt(fileOff, seg.asSlice(0, c.n()));
        return w.error() != null ? w : c;
    }

    /**
     * Makes pmas cover {@code ar} (page-aligned, inside vma {@code vseg}) for {@code at}
     * (spec §4.5): gaps of anonymous vmas get private memory-file pages; gaps of file-backed vmas
     * are translated (required = the gap's part of {@code ar}, optional = the whole gap within
     * the vma; private vmas ask for read only); written copy-on-write pmas are copied. Returns the
     * error that stopped it short of {@code ar.end()}, or null. Requires mappingMu and activeMu.
     */
    private MemmapError getPmas(Context ctx, Segment<Vma> vseg, AddrRange ar, AccessType at) {
        Vma vma = vseg.value();
        long pos = ar.start();
        while (pos < ar.end()) {
            Segment.Step<Pma> st = pmas.find(pos);
            if (st.segment() != null) {
                Segment<Pma> p = st.segment();
                Pma pma = p.value();
                if (at.write() && pma.needCOW() && pma.isPrivate() && pma.file() instanceof MemoryFile owner
                        && owner.hasUniqueRef(pma.fileRange(p.length()))) {
                    // The other side of a fork let go: take the pages over instead of copying (spec §4.10).
                    p.setValue(new Pma(pma.file(), pma.off(), pma.translatePerms(), vma.effectivePerms(), vma.maxPerms(), false,
                            true, pma.internal()));
                    continue;
                }
                if (at.write() && pma.needCOW()) {
                    MemmapError err = breakCopyOnWrite(ctx, p, vma, new AddrRange(pos, Math.min(ar.end(), p.end())));
                    if (err != null) {
                        return err;
                    }
                    continue;
                }
                if (!pma.isPrivate() && !pma.translatePerms().supersetOf(vma.isPrivate() ? AccessType.READ : at)) {
                    // Translated for less than this access: drop it and translate again.
                    Segment<Pma> q = pmas.isolate(p, pos, ar.end());
                    q.value().file().decRef(q.value().fileRange(q.length()));
                    curRSS -= q.length();
                    pmas.remove(q);
                    continue;
                }
                pos = p.end();
                continue;
            }
            Gap<Pma> gap = st.gap();
            long gapStart = Math.max(gap.start(), vseg.start());
            long gapEnd = Long.compareUnsigned(gap.end(), vseg.end()) < 0 ? gap.end() : vseg.end();
            MemmapError err = vma.mappable() == null
                    ? allocateAnonymous(ctx, vma, gapStart, gapEnd, pos, Math.min(ar.end(), gapEnd))
                    : translateGap(ctx, vseg, gapStart, gapEnd, pos, Math.min(ar.end(), gapEnd), at);
            if (err != null) {
                return err;
            }
            if (pmas.findSegment(pos) == null) {
                return Errno.EFAULT.withDetail(Pages.hex(pos) + " could not be backed");
            }
            // Look at the new pma again: a write to a private mapping must copy it first.
        }
        return null;
    }

    /** Private anonymous memory for {@code [need, needEnd)}, up to a huge page around it within the gap. */
    private MemmapError allocateAnonymous(Context ctx, Vma vma, long gapStart, long gapEnd, long need, long needEnd) {
        long s = Math.max(gapStart, Pages.hugeRoundDown(need));
        long e = Math.min(gapEnd, Pages.hugeRoundUp(needEnd).value());
        FileRange fr;
        MemoryFile memoryFile;
        try {
            memoryFile = backings.memoryFile();
            fr = memoryFile.allocate(e - s, new AllocOpts(AllocationMode.CALLER_INDIRECT_COMMIT, AllocOpts.Direction.BOTTOM_UP,
                    false, ctx.memCgId()));
        } catch (MemmapException ex) {
            return ex.error();
        }
        pmas.insert(pmas.findGap(s), s, e, new Pma(memoryFile, fr.start(), AccessType.ANY_ACCESS, vma.effectivePerms(),
                vma.maxPerms(), false, true, null));
        curRSS += e - s;
        return null;
    }

    /** Translates the gap {@code [gapStart, gapEnd)} of a file-backed vma, requiring {@code [need, needEnd)}. */
    private MemmapError translateGap(Context ctx, Segment<Vma> vseg, long gapStart, long gapEnd, long need, long needEnd,
            AccessType at) {
        Vma vma = vseg.value();
        long base = vma.off() - vseg.start();
        MappableRange optional = new MappableRange(base + gapStart, base + gapEnd);
        MappableRange required = new MappableRange(base + need, base + needEnd);
        AccessType perms = vma.isPrivate() ? AccessType.READ : at;
        TranslateResult tr = vma.mappable().translate(ctx, required, optional, perms);
        assert tr.check(required, optional, perms).isEmpty() : vma.mappable() + " broke translate's postconditions: "
                + tr.check(required, optional, perms);
        for (Translation t : tr.translations()) {
            long s = t.source().start() - base;
            long e = t.source().end() - base;
            AccessType eff = vma.effectivePerms().intersect(t.perms());
            AccessType max = vma.maxPerms().intersect(t.perms());
            if (vma.isPrivate()) {
                eff = eff.withoutWrite();
                max = max.withoutWrite();
            }
            t.file().incRef(t.fileRange(), ctx.memCgId());
            pmas.insert(pmas.findGap(s), s, e, new Pma(t.file(), t.offset(), t.perms(), eff, max, vma.isPrivate(), false, null));
            curRSS += e - s;
        }
        if (tr.translations().isEmpty()) {
            return tr.error() != null ? tr.error() : Errno.EFAULT;
        }
        long covered = tr.translations().getLast().source().end() - base;
        return tr.error() != null && covered < needEnd ? tr.error() : null;
    }

    /**
     * Gives pma {@code p} private pages for {@code range} (spec §4.10): the written part is
     * copied from the file into new memory-file pages, which replace it. Requires activeMu.
     */
    private MemmapError breakCopyOnWrite(Context ctx, Segment<Pma> p, Vma vma, AddrRange range) {
        p = pmas.isolate(p, Pages.roundDown(range.start()), Pages.roundUp(range.end()).value());
        Pma old = p.value();
        long len = p.length();
        FileRange fr;
        MemoryFile memoryFile;
        try {
            memoryFile = backings.memoryFile();
            fr = memoryFile.allocate(len, new AllocOpts(AllocationMode.CALLER_INDIRECT_COMMIT, AllocOpts.Direction.BOTTOM_UP,
                    false, ctx.memCgId()));
        } catch (MemmapException e) {
            return e.error();
        }
        try {
            BlockSeq src = old.internal() != null ? old.internal() : old.file().mapInternal(old.fileRange(len), AccessType.READ);
            IoResult c = BlockSeq.copy(memoryFile.mapInternal(fr, AccessType.WRITE), src);
            if (c.error() != null) {
                memoryFile.decRef(fr);
                return c.error() instanceof HostFault ? new BusError(c.error()) : c.error();
            }
        } catch (MemmapException e) {
            memoryFile.decRef(fr);
            return e.error();
        }
        old.file().decRef(old.fileRange(len));
        p.setValue(new Pma(memoryFile, fr.start(), AccessType.ANY_ACCESS, vma.effectivePerms(), vma.maxPerms(), false, true, null));
        return null;
    }

    /** Bytes of memory backing this address space now (RSS). */
    @Override
    public long rss() {
        activeMu.lock();
        try {
            return curRSS;
        } finally {
            activeMu.unlock();
        }
    }



    // ---------------------------------------------------------------- mremap

    /**
     * mremap (spec §4.7). Growing in place maps the extension as a new vma (the Mappable sees a
     * fresh AddMapping); moving calls CopyMapping, moves the cached translations, then
     * RemoveMapping of the old range; an old size of 0 copies the mapping (CopyMapping only).
     *
     * @return the mapping's address afterwards
     * @throws MemmapException EINVAL, EFAULT, ENOMEM, EAGAIN as the spec gives them, or the
     *     Mappable's CopyMapping error (the destination may already have been unmapped then)
     */
    @Override
    public long mremap(Context ctx, long oldAddr, long oldSize, long newSize, MRemapMove move, long newAddr)
            throws MemmapException {
        if (!Pages.isPageAligned(oldAddr)) {
            throw Errno.EINVAL.exception("oldAddr = " + Pages.hex(oldAddr) + " is not page-aligned");
        }
        long oldLen = Pages.roundUp(oldSize).value(); // overflow wraps to 0: "copy", as in Linux
        Pages.Rounded nl = Pages.roundUp(newSize);
        if (!nl.ok() || nl.value() == 0) {
            throw Errno.EINVAL.exception("newSize = " + Pages.hex(newSize) + " is 0 or overflows");
        }
        long newLen = nl.value();
        if (oldLen != 0 && Long.compareUnsigned(oldAddr + oldLen, oldAddr) <= 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(oldAddr) + ", +" + Pages.hex(oldLen) + ") overflows");
        }
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            Segment<Vma> v = vmas.findSegment(oldAddr);
            if (v == null) {
                throw Errno.EFAULT.exception(Pages.hex(oldAddr) + " is not mapped");
            }
            Vma vma = v.value();
            if (vma.mlockMode() != MLockMode.NONE && Long.compareUnsigned(newLen, oldLen) > 0
                    && !ctx.credentials().has(Capability.IPC_LOCK)) {
                long limit = ctx.limits().memlock();
                if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(lockedAS - oldLen + newLen, limit) > 0) {
                    throw Errno.EAGAIN.exception("RLIMIT_MEMLOCK: growing the locked mapping passes " + limit);
                }
            }
            if (move != MRemapMove.MUST_MOVE) {
                if (oldLen == newLen) {
                    return oldAddr;
                }
                if (oldLen != 0 && Long.compareUnsigned(oldLen, newLen) > 0) {
                    unmapLocked(ctx, new AddrRange(oldAddr + newLen, oldAddr + oldLen), dropped);
                    return oldAddr;
                }
                if (oldLen == 0 && move == MRemapMove.NO_MOVE) {
                    throw Errno.ENOMEM.exception("cannot grow a zero-length range in place");
                }
                if (oldLen != 0) {
                    long oldEnd = oldAddr + oldLen;
                    if (Long.compareUnsigned(oldEnd, v.end()) > 0) {
                        throw Errno.EFAULT.exception("[" + Pages.hex(oldAddr) + ", " + Pages.hex(oldEnd) + ") spans more than one mapping");
                    }
                    try {
                        long off = vma.mappable() == null ? 0 : vma.off() + (oldEnd - v.start());
                        createVma(ctx, extensionOpts(vma, oldEnd, newLen - oldLen, off), newLen - oldLen, off, oldEnd,
                                vma.mlockMode(), dropped);
                        if (vma.mlockMode() == MLockMode.EAGER) {
                            populate(ctx, new AddrRange(oldAddr, oldAddr + newLen));
                        }
                        return oldAddr;
                    } catch (MemmapException e) {
                        if (move == MRemapMove.NO_MOVE) {
                            throw e;
                        }
                    }
                }
            }
            // Move (or copy, for an old size of 0).
            long dst;
            if (move == MRemapMove.MAY_MOVE) {
                dst = findAvailable(MMapOpts.builder().length(newLen).build(), newLen, 0);
            } else {
                if (!Pages.isPageAligned(newAddr)) {
                    throw Errno.EINVAL.exception("newAddr = " + Pages.hex(newAddr) + " is not page-aligned");
                }
                if (Long.compareUnsigned(newAddr + newLen, newAddr) <= 0) {
                    throw Errno.EINVAL.exception("[" + Pages.hex(newAddr) + ", +" + Pages.hex(newLen) + ") overflows");
                }
                AddrRange dstAR = new AddrRange(newAddr, newAddr + newLen);
                if (oldLen != 0 && dstAR.overlaps(new AddrRange(oldAddr, oldAddr + oldLen))) {
                    throw Errno.EINVAL.exception("the new range " + dstAR + " overlaps the old one");
                }
                dst = findAvailable(MMapOpts.builder().length(newLen).addr(newAddr).fixed(true).unmap(true).build(), newLen, newAddr);
                unmapLocked(ctx, dstAR, dropped);
                if (Long.compareUnsigned(oldLen, newLen) > 0) {
                    unmapLocked(ctx, new AddrRange(oldAddr + newLen, oldAddr + oldLen), dropped);
                    oldLen = newLen;
                }
            }
            v = vmas.findSegment(oldAddr);
            if (v == null) {
                throw Errno.EFAULT.exception(Pages.hex(oldAddr) + " is not mapped");
            }
            vma = v.value();
            AddrRange oldAR = new AddrRange(oldAddr, oldAddr + oldLen);
            if (oldLen != 0 && Long.compareUnsigned(oldAR.end(), v.end()) > 0) {
                throw Errno.EFAULT.exception(oldAR + " spans more than one mapping");
            }
            long limit = ctx.limits().addressSpace();
            if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(usageAS - oldLen + newLen, limit) > 0) {
                throw Errno.ENOMEM.exception("RLIMIT_AS: moving to " + newLen + " bytes passes " + limit);
            }
            long off = vma.mappable() == null ? 0 : vma.off() + (oldAddr - v.start());
            if (vma.mappable() != null && !Pages.addFits(off, newLen)) {
                throw Errno.EINVAL.exception("offset " + Pages.hex(off) + " + " + Pages.hex(newLen) + " overflows");
            }
            AddrRange newAR = new AddrRange(dst, dst + newLen);
            if (vma.mappable() != null) {
                vma.mappable().copyMapping(ctx, this, oldAR, newAR, off, vma.canWriteMappable());
            }
            Vma moved = new Vma(vma.mappable(), off, vma.realPerms(), vma.maxPerms(), vma.isPrivate(), vma.growsDown(),
                    vma.isStack(), vma.dontfork(), vma.mlockMode(), vma.id(), vma.name(), vma.nameMut(), vma.lastFault());
            if (oldLen == 0) {
                if (vma.id() != null) {
                    vma.id().incRef();
                }
            } else {
                // The old vma goes without RemoveMapping (yet) and without dropping its identity: both transfer.
                v = vmas.isolate(v, oldAR.start(), oldAR.end());
                vmas.remove(v);
                account(vma, -oldLen);
            }
            vmas.insert(vmas.findGap(newAR.start()), newAR.start(), newAR.end(), moved);
            account(moved, newLen);
            if (oldLen != 0) {
                movePmas(oldAR, newAR.start());
                if (vma.mappable() != null) {
                    vma.mappable().removeMapping(ctx, this, oldAR, off, vma.canWriteMappable());
                }
            }
            if (vma.mlockMode() == MLockMode.EAGER) {
                populate(ctx, newAR);
            }
            return dst;
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    /** What MMapOpts can carry of {@code vma}, for an extension of {@code length} bytes at {@code addr}. */
    private static MMapOpts extensionOpts(Vma vma, long addr, long length, long off) {
        return MMapOpts.builder().length(length).addr(addr).fixed(true).mappable(vma.mappable()).mappingIdentity(vma.id())
                .offset(off).perms(vma.realPerms()).maxPerms(vma.maxPerms()).isPrivate(vma.isPrivate())
                .growsDown(vma.growsDown()).stack(vma.isStack()).mlockMode(vma.mlockMode()).name(vma.name())
                .nameMut(vma.nameMut()).build();
    }

    private void account(Vma vma, long delta) {
        usageAS += delta;
        if (vma.isPrivateData()) {
            dataAS += delta;
        }
        if (vma.mlockMode() != MLockMode.NONE) {
            lockedAS += delta;
        }
    }

    /** Re-keys the pmas of {@code from} to start at {@code to}: cached pages move with the mapping. */
    private void movePmas(AddrRange from, long to) {
        lockActiveForChange();
        try {
            List<long[]> ranges = new ArrayList<>();
            List<Pma> values = new ArrayList<>();
            pmas.removeRangeWith(from.start(), from.end(), p -> {
                ranges.add(new long[] {p.start(), p.end()});
                values.add(p.value());
            });
            long delta = to - from.start();
            for (int i = 0; i < ranges.size(); i++) {
                long s = ranges.get(i)[0] + delta;
                long e = ranges.get(i)[1] + delta;
                pmas.insert(pmas.findGap(s), s, e, values.get(i));
            }
        } finally {
            activeMu.unlock();
        }
    }

    // ---------------------------------------------------------------- mprotect

    /**
     * Changes the permissions of {@code [addr, addr + length)} (spec §4.8). No Mappable is told;
     * {@code writable} and the maximum permissions never change.
     *
     * @throws MemmapException EINVAL (unaligned), ENOMEM (overflow, or a hole in the range, after
     *     changing what is mapped before it), EACCES (beyond a vma's maximum permissions; earlier
     *     vmas keep their new permissions)
     */
    @Override
    public void mprotect(Context ctx, long addr, long length, AccessType perms) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.ENOMEM);
        AccessType effective = perms.effective();
        mappingMu.writeLock().lock();
        try {
            Segment<Vma> v = vmas.findSegment(ar.start());
            if (v == null) {
                throw Errno.ENOMEM.exception(Pages.hex(ar.start()) + " is not mapped");
            }
            long pos = ar.start();
            while (v != null && Long.compareUnsigned(v.start(), ar.end()) < 0) {
                if (Long.compareUnsigned(v.start(), pos) > 0) {
                    break; // a hole (the first vma contains pos; later ones must start there)
                }
                Vma vma = v.value();
                if (!vma.maxPerms().supersetOf(effective)) {
                    throw Errno.EACCES.exception(effective + " exceeds the maximum " + vma.maxPerms() + " at " + Pages.hex(pos));
                }
                v = vmas.isolate(v, ar.start(), ar.end());
                if (vma.isPrivateData()) {
                    dataAS -= v.length();
                }
                Vma changed = vma.withRealPerms(perms);
                v.setValue(changed);
                if (changed.isPrivateData()) {
                    dataAS += v.length();
                }
                reprotectPmas(new AddrRange(v.start(), v.end()), effective);
                pos = v.end();
                v = v.nextSegment();
            }
            vmas.mergeInsideRange(ar.start(), ar.end());
            vmas.mergeOutsideRange(ar.start(), ar.end());
            if (Long.compareUnsigned(pos, ar.end()) < 0) {
                throw Errno.ENOMEM.exception(Pages.hex(pos) + " is not mapped");
            }
        } finally {
            mappingMu.writeLock().unlock();
        }
    }

    private void reprotectPmas(AddrRange ar, AccessType effective) {
        lockActiveForChange();
        try {
            for (Segment<Pma> p = pmas.lowerBoundSegment(ar.start()); p != null && Long.compareUnsigned(p.start(), ar.end()) < 0;
                    p = p.nextSegment()) {
                p = pmas.isolate(p, ar.start(), ar.end());
                Pma pma = p.value();
                AccessType eff = effective.intersect(pma.translatePerms());
                p.setValue(new Pma(pma.file(), pma.off(), pma.translatePerms(), pma.needCOW() ? eff.withoutWrite() : eff,
                        pma.maxPerms(), pma.needCOW(), pma.isPrivate(), pma.internal()));
            }
            pmas.mergeInsideRange(ar.start(), ar.end());
            pmas.mergeOutsideRange(ar.start(), ar.end());
        } finally {
            activeMu.unlock();
        }
    }

    /** {@code [addr, addr + roundUp(length))}, or {@code overflow} naming the range. */
    private static AddrRange pageRange(long addr, long length, Errno overflow) throws MemmapException {
        Pages.Rounded len = Pages.roundUp(length);
        long end = addr + len.value();
        if (!len.ok() || Long.compareUnsigned(end, addr) <= 0) {
            throw overflow.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        return new AddrRange(addr, end);
    }

    // ---------------------------------------------------------------- msync

    /**
     * Writes back the shared file mappings in {@code [addr, addr + length)} (spec §4.12): with
     * {@code sync}, each shared vma's identity msyncs its range (mappingMu released around
     * the call); {@code invalidate} on an mlocked vma is EBUSY. A hole gives ENOMEM after the
     * rest is done.
     */
    @Override
    public void msync(Context ctx, long addr, long length, boolean sync, boolean invalidate) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.ENOMEM);
        boolean unmapped = false;
        long pos = ar.start();
        mappingMu.readLock().lock();
        try {
            Segment<Vma> v = vmas.lowerBoundSegment(pos);
            if (v == null) {
                throw Errno.ENOMEM.exception("nothing is mapped at or after " + Pages.hex(pos));
            }
            while (true) {
                if (Long.compareUnsigned(pos, v.start()) < 0) {
                    unmapped = true;
                }
                Vma vma = v.value();
                if (invalidate && vma.mlockMode() != MLockMode.NONE) {
                    throw Errno.EBUSY.exception("MS_INVALIDATE on the mlocked mapping at " + Pages.hex(v.start()));
                }
                long vEnd = v.end();
                if (sync && vma.id() != null && vma.mappable() != null && !vma.isPrivate()) {
                    long s = Math.max(v.start(), ar.start());
                    long e = Math.min(vEnd, ar.end());
                    long base = vma.off() - v.start();
                    MappableRange mr = s < e ? new MappableRange(base + s, base + e) : new MappableRange(base + s, base + s);
                    MappingIdentity id = vma.id();
                    id.incRef();
                    mappingMu.readLock().unlock();
                    try {
                        id.msync(ctx, mr);
                    } finally {
                        id.decRef(ctx);
                        mappingMu.readLock().lock();
                    }
                }
                if (Long.compareUnsigned(vEnd, ar.end()) >= 0) {
                    break;
                }
                pos = vEnd;
                v = vmas.lowerBoundSegment(pos);
                if (v == null) {
                    unmapped = true;
                    break;
                }
            }
        } finally {
            mappingMu.readLock().unlock();
        }
        if (unmapped) {
            throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
        }
    }

    // ---------------------------------------------------------------- madvise

    /**
     * madvise (spec §4.14): DONTNEED drops every pma in the range (private copies lost; a later
     * access re-translates or gets fresh zero pages) and is EINVAL on mlocked vmas;
     * DONTFORK/DOFORK mark vmas; REMOVE is ENOSYS, HWPOISON EPERM; the rest succeed doing
     * nothing. Holes give ENOMEM after the rest is done.
     */
    @Override
    public void madvise(Context ctx, long addr, long length, MAdvice advice) throws MemmapException {
        switch (advice) {
            case REMOVE -> throw Errno.ENOSYS.exception("MADV_REMOVE");
            case HWPOISON -> throw Errno.EPERM.exception("MADV_HWPOISON");
            case DONTNEED, DONTFORK, DOFORK -> { }
            default -> {
                return;
            }
        }
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.EINVAL);
        mappingMu.writeLock().lock();
        try {
            Segment<Vma> v = vmas.lowerBoundSegment(ar.start());
            if (v == null) {
                throw Errno.ENOMEM.exception("nothing is mapped at or after " + Pages.hex(ar.start()));
            }
            boolean hole = Long.compareUnsigned(v.start(), ar.start()) > 0;
            long pos = ar.start();
            while (v != null && Long.compareUnsigned(v.start(), ar.end()) < 0) {
                if (Long.compareUnsigned(v.start(), pos) > 0) {
                    hole = true;
                }
                if (advice == MAdvice.DONTNEED) {
                    if (v.value().mlockMode() != MLockMode.NONE) {
                        throw Errno.EINVAL.exception("MADV_DONTNEED on the mlocked mapping at " + Pages.hex(v.start()));
                    }
                    long s = Math.max(v.start(), ar.start());
                    long e = Math.min(v.end(), ar.end());
                    invalidateLocked(new AddrRange(s, e), true);
                } else {
                    v = vmas.isolate(v, ar.start(), ar.end());
                    Vma vma = v.value();
                    v.setValue(new Vma(vma.mappable(), vma.off(), vma.realPerms(), vma.maxPerms(), vma.isPrivate(),
                            vma.growsDown(), vma.isStack(), advice == MAdvice.DONTFORK, vma.mlockMode(), vma.id(), vma.name(),
                            vma.nameMut(), vma.lastFault()));
                }
                pos = v.end();
                v = v.nextSegment();
            }
            if (advice != MAdvice.DONTNEED) {
                vmas.mergeInsideRange(ar.start(), ar.end());
                vmas.mergeOutsideRange(ar.start(), ar.end());
            }
            if (hole || Long.compareUnsigned(pos, ar.end()) < 0) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
        } finally {
            mappingMu.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------- mlock

    /**
     * mlock/munlock (spec §4.13): sets {@code mode} on every vma piece of the page range around
     * {@code [addr, addr + length)}; EAGER also backs every page now. Without CAP_IPC_LOCK a zero
     * RLIMIT_MEMLOCK is EPERM and passing it ENOMEM. A hole is ENOMEM after what comes before it.
     */
    @Override
    public void mlock(Context ctx, long addr, long length, MLockMode mode) throws MemmapException {
        long start = Pages.roundDown(addr);
        Pages.Rounded len = Pages.roundUp(length + Pages.pageOffset(addr));
        long end = start + len.value();
        if (Long.compareUnsigned(end, start) < 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        AddrRange ar = new AddrRange(start, end);
        mappingMu.writeLock().lock();
        try {
            if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                long limit = ctx.limits().memlock();
                if (limit == 0) {
                    throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                }
                if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(lockedAS + ar.length() - lockedIn(ar), limit) > 0) {
                    throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: locking " + ar.length() + " more bytes passes " + limit);
                }
            }
            if (ar.isEmpty()) {
                return;
            }
            long pos = ar.start();
            Segment<Vma> v = vmas.findSegment(pos);
            // The first vma contains pos (and may start before it); each later one must start at pos.
            while (v != null && Long.compareUnsigned(v.start(), pos) <= 0 && Long.compareUnsigned(pos, ar.end()) < 0) {
                v = vmas.isolate(v, ar.start(), ar.end());
                Vma vma = v.value();
                if (vma.mlockMode() == MLockMode.NONE && mode != MLockMode.NONE) {
                    lockedAS += v.length();
                } else if (vma.mlockMode() != MLockMode.NONE && mode == MLockMode.NONE) {
                    lockedAS -= v.length();
                }
                v.setValue(vma.withMLockMode(mode));
                pos = v.end();
                v = v.nextSegment();
            }
            vmas.mergeInsideRange(ar.start(), ar.end());
            vmas.mergeOutsideRange(ar.start(), ar.end());
            if (Long.compareUnsigned(pos, ar.end()) < 0) {
                throw Errno.ENOMEM.exception(Pages.hex(pos) + " is not mapped");
            }
            if (mode == MLockMode.EAGER) {
                populate(ctx, ar);
            }
        } finally {
            mappingMu.writeLock().unlock();
        }
    }

    /** Backs every page of {@code ar} now (EAGER mlock). Requires mappingMu. */
    private void populate(Context ctx, AddrRange ar) throws MemmapException {
        for (Segment<Vma> v = vmas.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (!v.value().effectivePerms().any()) {
                throw Errno.ENOMEM.exception("the mapping at " + Pages.hex(v.start()) + " has no permissions to populate");
            }
            AddrRange r = new AddrRange(Math.max(v.start(), ar.start()), Math.min(v.end(), ar.end()));
            lockActiveForChange();
            try {
                MemmapError err = getPmas(ctx, v, r, AccessType.READ);
                if (err != null) {
                    throw (err.toErrno().equals(Errno.ENOMEM) ? Errno.EAGAIN : Errno.ENOMEM).exception("populating "
                            + r + ": " + err.message());
                }
            } finally {
                activeMu.unlock();
            }
        }
    }

    /**
     * Backs every page of {@code ar} now if its vmas have any permission (spec §4.3's
     * populate: shared vmas translate for no access, private ones for read). Returns the first
     * error. Requires mappingMu.
     */
    private MemmapError populateBestEffort(Context ctx, AddrRange ar) {
        for (Segment<Vma> v = vmas.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (!v.value().effectivePerms().any()) {
                continue;
            }
            AddrRange r = new AddrRange(Math.max(v.start(), ar.start()), Math.min(v.end(), ar.end()));
            lockActiveForChange();
            try {
                MemmapError err = getPmas(ctx, v, r, v.value().isPrivate() ? AccessType.READ : AccessType.NO_ACCESS);
                if (err != null) {
                    return err;
                }
            } finally {
                activeMu.unlock();
            }
        }
        return null;
    }

    /** mlockall: {@code current} locks every vma now, {@code future} makes new mappings locked. */
    @Override
    public void mlockAll(Context ctx, boolean current, boolean future, MLockMode mode) throws MemmapException {
        if (!current && !future) {
            throw Errno.EINVAL.exception("mlockall needs MCL_CURRENT or MCL_FUTURE");
        }
        mappingMu.writeLock().lock();
        try {
            if (current) {
                if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                    long limit = ctx.limits().memlock();
                    if (limit == 0) {
                        throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                    }
                    if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(usageAS, limit) > 0) {
                        throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: " + usageAS + " bytes mapped pass " + limit);
                    }
                }
                lockedAS = mode == MLockMode.NONE ? 0 : usageAS;
                for (Segment<Vma> v = vmas.firstSegment(); v != null; v = v.nextSegment()) {
                    v.setValue(v.value().withMLockMode(mode));
                }
                vmas.mergeAll();
            }
            if (future) {
                defMLockMode = mode;
            }
        } finally {
            mappingMu.writeLock().unlock();
        }
    }

    /** munlockall: unlocks every vma and stops locking new ones. */
    @Override
    public void munlockAll(Context ctx) throws MemmapException {
        mlockAll(ctx, true, true, MLockMode.NONE);
    }

    // ---------------------------------------------------------------- fork

    /**
     * A copy of this address space (spec §4.11): every vma but DONTFORK ones (the Mappable gets
     * AddMapping, the identity a reference; locks are not inherited); private pages are shared
     * copy-on-write (both sides lose write access to them until one writes and copies, or finds
     * itself the only owner and takes them over); cached translations are not copied.
     *
     * @throws MemmapException if a Mappable refuses the mapping; the child is then torn down
     */
    @Override
    public MemoryManager fork(Context ctx) throws MemmapException {
        MemoryManager child = new MemoryManager(layout, backings);
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.readLock().lock();
        try {
            for (Segment<Vma> v = vmas.firstSegment(); v != null; v = v.nextSegment()) {
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
                        child.unmapLocked(ctx, new AddrRange(layout.minAddr(), layout.maxAddr()), dropped);
                    } finally {
                        child.mappingMu.writeLock().unlock();
                    }
                    throw e;
                }
                if (vma.id() != null) {
                    vma.id().incRef();
                }
                Vma copy = vma.withMLockMode(MLockMode.NONE);
                child.vmas.insertWithoutMerging(child.vmas.findGap(ar.start()), ar.start(), ar.end(), copy);
                child.usageAS += ar.length();
                if (copy.isPrivateData()) {
                    child.dataAS += ar.length();
                }
            }
            child.vmas.mergeAll();
            lockActiveForChange();
            child.activeMu.lock();
            try {
                for (Segment<Pma> p = pmas.firstSegment(); p != null; p = p.nextSegment()) {
                    Pma pma = p.value();
                    if (!pma.isPrivate()) {
                        continue; // cached translations: the child translates for itself
                    }
                    Segment<Vma> v = vmas.findSegment(p.start());
                    if (v.value().dontfork()) {
                        continue;
                    }
                    p = pmas.isolate(p, v.start(), v.end());
                    pma = p.value();
                    Pma shared = new Pma(pma.file(), pma.off(), pma.translatePerms(), pma.effectivePerms().withoutWrite(),
                            pma.maxPerms(), true, true, pma.internal());
                    p.setValue(shared);
                    pma.file().incRef(pma.fileRange(p.length()), ctx.memCgId());
                    child.pmas.insert(child.pmas.findGap(p.start()), p.start(), p.end(), shared.withInternal(null));
                    child.curRSS += p.length();
                }
            } finally {
                child.activeMu.unlock();
                activeMu.unlock();
            }
        } finally {
            mappingMu.readLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
        return child;
    }

    /** Unmaps everything (the last user of the address space is gone). */
    @Override
    public void release(Context ctx) {
        List<MappingIdentity> dropped = new ArrayList<>();
        mappingMu.writeLock().lock();
        try {
            unmapLocked(ctx, new AddrRange(0, -1L), dropped);
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
        backings.released(this);
    }

    // ---------------------------------------------------------------- provider migration

    /**
     * Locks this address space against every change and every access, fast path included, for
     * a provider migration. Lock order: across address spaces in creation order ({@link #serial});
     * all {@code mappingMu}s before any {@code activeMu}. Call {@link #lockActiveForMigration}
     * after this one has been called on every address space involved.
     */
    void lockMappingForMigration() {
        mappingMu.writeLock().lock();
    }

    /** The second half of {@link #lockMappingForMigration}. */
    void lockActiveForMigration() {
        lockActiveForChange();
    }

    /** Undoes both migration locks. */
    void unlockAfterMigration() {
        activeMu.unlock();
        mappingMu.writeLock().unlock();
    }

    /** Undoes {@link #lockMappingForMigration} alone. */
    void unlockMappingAfterMigration() {
        mappingMu.writeLock().unlock();
    }

    /**
     * Drops the cached translations of every vma whose Mappable {@code moving} accepts, so that
     * no access — the fast path included — reaches that Mappable's memory until the vma is
     * re-pointed: the accesses fault, and faults wait for {@code mappingMu}, which the caller
     * holds for writing.
     */
    void invalidateMappablesLocked(java.util.function.Predicate<Mappable> moving) {
        for (Segment<Vma> v = vmas.firstSegment(); v != null; v = v.nextSegment()) {
            if (v.value().mappable() != null && moving.test(v.value().mappable())) {
                invalidateLocked(new AddrRange(v.start(), v.end()), false);
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
        for (Segment<Vma> v = vmas.firstSegment(); v != null; v = v.nextSegment()) {
            Vma vma = v.value();
            if (vma.mappable() == null) {
                continue;
            }
            Replacement to = replacement.apply(vma.mappable());
            if (to == null) {
                continue;
            }
            AddrRange ar = new AddrRange(v.start(), v.end());
            try {
                to.mappable().addMapping(ctx, this, ar, vma.off(), vma.canWriteMappable());
            } catch (MemmapException e) {
                continue;
            }
            invalidateLocked(ar, false);
            vma.mappable().removeMapping(ctx, this, ar, vma.off(), vma.canWriteMappable());
            to.identity().incRef();
            if (vma.id() != null) {
                dropped.add(vma.id());
            }
            v.setValue(vma.withBacking(to.mappable(), to.identity()));
            n++;
        }
        vmas.mergeAll();
        return n;
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
        for (Segment<Pma> p = pmas.firstSegment(); p != null; p = p.nextSegment()) {
            Pma pma = p.value();
            if (!pma.isPrivate() || pma.file() == to) {
                continue;
            }
            long len = p.length();
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
                try {
                    BlockSeq src = pma.internal() != null ? pma.internal() : pma.file().mapInternal(old, AccessType.READ);
                    IoResult c = BlockSeq.copy(to.mapInternal(fr, AccessType.WRITE), src);
                    if (c.error() != null) {
                        to.decRef(fr);
                        continue;
                    }
                } catch (MemmapException e) {
                    to.decRef(fr);
                    continue;
                }
                moved.put(key, fr);
            }
            pma.file().decRef(old);
            p.setValue(new Pma(to, fr.start(), pma.translatePerms(), pma.effectivePerms(), pma.maxPerms(), pma.needCOW(), true, null));
            bytes += len;
        }
        pmas.mergeAll();
        return bytes;
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

    /** The Mappables mapped here (caller holds the migration locks or mappingMu). */
    Set<Mappable> mappablesLocked() {
        Set<Mappable> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Segment<Vma> v = vmas.firstSegment(); v != null; v = v.nextSegment()) {
            if (v.value().mappable() != null) {
                out.add(v.value().mappable());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- accounting and maps

    /** Whether the calling thread holds mappingMu for writing (for lock-order checks in tests). */
    boolean holdsMappingWrite() {
        return mappingMu.isWriteLockedByCurrentThread();
    }

    /** Whether the calling thread holds mappingMu in either mode (for lock-order checks in tests). */
    boolean holdsMapping() {
        return mappingMu.isWriteLockedByCurrentThread() || mappingMu.getReadHoldCount() > 0;
    }

    /** Whether the calling thread holds activeMu (for lock-order checks in tests). */
    boolean holdsActive() {
        return activeMu.isHeldByCurrentThread();
    }

    /** Bytes mapped (RLIMIT_AS's measure). */
    @Override
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
    @Override
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

    @Override
    public String smaps(Context ctx) {
        StringBuilder sb = new StringBuilder();
        mappingMu.readLock().lock();
        try {
            activeMu.lock();
            try {
                for (Segment<Vma> s = vmas.firstSegment(); s != null; s = s.nextSegment()) {
                    Vma v = s.value();
                    String path = !v.name().isEmpty() ? v.name() : v.id() != null ? v.id().mappedName(ctx) : "";
                    long dev = v.id() != null ? v.id().deviceId() : 0;
                    long ino = v.id() != null ? v.id().inodeId() : 0;
                    mapsLine(sb, s.start(), s.end(), v.realPerms(), v.isPrivate(), v.mappable() == null ? 0 : v.off(), dev, ino, path);
                    long rss = 0;
                    long anonymous = 0;
                    for (Segment<Pma> p = pmas.lowerBoundSegment(s.start()); p != null && Long.compareUnsigned(p.start(), s.end()) < 0;
                            p = p.nextSegment()) {
                        long len = Math.min(p.end(), s.end()) - Math.max(p.start(), s.start());
                        rss += len;
                        anonymous += p.value().isPrivate() ? len : 0;
                    }
                    smapsFields(sb, s.length(), rss, v.effectivePerms().write() ? 0 : rss, anonymous, v.mlockMode() != MLockMode.NONE ? rss : 0);
                    StringBuilder flags = new StringBuilder("VmFlags: ");
                    flag(flags, v.realPerms().read(), "rd").flag(flags, v.realPerms().write(), "wr");
                    flag(flags, v.realPerms().execute(), "ex").flag(flags, v.canWriteMappable(), "sh");
                    flag(flags, v.maxPerms().read(), "mr").flag(flags, v.maxPerms().write(), "mw");
                    flag(flags, v.maxPerms().execute(), "me").flag(flags, !v.isPrivate(), "ms");
                    flag(flags, v.growsDown(), "gd").flag(flags, v.mlockMode() != MLockMode.NONE, "lo");
                    flag(flags, v.mlockMode() == MLockMode.LAZY, "??").flag(flags, v.isPrivate() && v.effectivePerms().write(), "ac");
                    sb.append(flags).append('\n');
                }
            } finally {
                activeMu.unlock();
            }
        } finally {
            mappingMu.readLock().unlock();
        }
        mapsLine(sb, 0xffff_ffff_ff60_0000L, 0xffff_ffff_ff60_1000L, AccessType.READ_EXECUTE, true, 0, 0, 0, "[vsyscall]");
        smapsFields(sb, Pages.PAGE_SIZE, 0, 0, 0, 0);
        sb.append("VmFlags: rd ex \n");
        return sb.toString();
    }

    private MemoryManager flag(StringBuilder sb, boolean set, String name) {
        if (set) {
            sb.append(name).append(' ');
        }
        return this;
    }

    /** The smaps fields after a maps line (gVisor's layout: PSS = RSS, dirty iff writable). */
    private static void smapsFields(StringBuilder sb, long size, long rss, long privateClean, long anonymous, long locked) {
        field(sb, "Size:", size);
        field(sb, "Rss:", rss);
        field(sb, "Pss:", rss);
        field(sb, "Shared_Clean:", 0);
        field(sb, "Shared_Dirty:", 0);
        field(sb, "Private_Clean:", privateClean);
        field(sb, "Private_Dirty:", rss - privateClean);
        field(sb, "Referenced:", rss);
        field(sb, "Anonymous:", anonymous);
        field(sb, "AnonHugePages:", 0);
        field(sb, "Shared_Hugetlb:", 0);
        sb.append(String.format("%-17s%7d kB%n", "Private_Hugetlb:", 0).replace(System.lineSeparator(), "\n"));
        field(sb, "Swap:", 0);
        field(sb, "SwapPss:", 0);
        field(sb, "KernelPageSize:", Pages.PAGE_SIZE);
        field(sb, "MMUPageSize:", Pages.PAGE_SIZE);
        field(sb, "Locked:", locked);
    }

    private static void field(StringBuilder sb, String label, long bytes) {
        sb.append(String.format("%-16s%8d kB", label, bytes / 1024)).append('\n');
    }

    @Override
    public void setName(Context ctx, long addr, long length, String name) throws MemmapException {
        if (name != null) {
            for (char c : name.toCharArray()) {
                if (c <= 0x1f || c >= 0x7f || c == '\\' || c == '`' || c == '$' || c == '[' || c == ']') {
                    throw Errno.EINVAL.exception("name = \"" + name + "\" has the character " + (int) c + ", which names may not");
                }
            }
        }
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.EINVAL);
        mappingMu.writeLock().lock();
        try {
            Segment<Vma> v = vmas.lowerBoundSegment(ar.start());
            if (v == null) {
                throw Errno.ENOMEM.exception("nothing is mapped at or after " + Pages.hex(ar.start()));
            }
            long pos = ar.start();
            boolean hole = false;
            while (v != null && Long.compareUnsigned(v.start(), ar.end()) < 0) {
                if (Long.compareUnsigned(v.start(), pos) > 0) {
                    hole = true;
                }
                Vma vma = v.value();
                if (vma.nameMut() == NameMut.DISALLOWED) {
                    throw Errno.EBADF.exception("the mapping at " + Pages.hex(v.start()) + " may not be renamed");
                }
                v = vmas.isolate(v, ar.start(), ar.end());
                String newName = name == null ? "" : (vma.nameMut() == NameMut.ANON ? "[anon:" : "[anon_shmem:") + name + "]";
                v.setValue(new Vma(vma.mappable(), vma.off(), vma.realPerms(), vma.maxPerms(), vma.isPrivate(), vma.growsDown(),
                        vma.isStack(), vma.dontfork(), vma.mlockMode(), vma.id(), newName, vma.nameMut(), vma.lastFault()));
                pos = v.end();
                v = v.nextSegment();
            }
            vmas.mergeInsideRange(ar.start(), ar.end());
            vmas.mergeOutsideRange(ar.start(), ar.end());
            if (hole || Long.compareUnsigned(pos, ar.end()) < 0) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
        } finally {
            mappingMu.writeLock().unlock();
        }
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
