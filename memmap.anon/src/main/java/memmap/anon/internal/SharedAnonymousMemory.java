package memmap.anon.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MappingSet;
import memmap.api.MappingSpace;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.RefCount;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS): a Mappable of fixed size whose pages
 * come from the {@link MemoryFile} on first touch, and its own {@link MappingIdentity}
 * (Linux shows it as {@code /dev/zero (deleted)} on device 00:01). Built like gVisor's tmpfs
 * regular file: a file-range set from Mappable offsets to memory-file offsets, and a
 * {@link MappingSet}.
 *
 * <p>{@link #translate} allocates on demand: the pages required, plus the rest of an aligned
 * window around them ({@code fillAhead} bytes, never beyond {@code optional}), committed in
 * one go so the first write does not fault page by page. It holds one reference on every
 * page it allocated until the identity's last reference is dropped.
 *
 * <p>Lock order: {@link #mapsMu} (add/remove/copy mapping) ranks above the address space's
 * activeMu; {@link #dataMu} (translate) below it; the memory file's lock below that.
 * Translate never takes {@link #mapsMu}.
 */
public final class SharedAnonymousMemory implements Mappable, MappingIdentity, memmap.api.OwnedPages {
    private static final SegmentFunctions<Long> FILE_RANGES = new SegmentFunctions<>() {
        @Override
        public Long merge(long s1, long e1, Long v1, long s2, long e2, Long v2) {
            return v1 + (e1 - s1) == v2 ? v1 : null;
        }

        @Override
        public Split<Long> split(long start, long end, Long v, long at) {
            return new Split<>(v, v + (at - start));
        }
    };

    private final MemoryFile memoryFile;
    private final long size;
    private final long inode;
    private final int memCgId;
    private final long fillAhead;
    private final boolean populate;
    private final Runnable onRelease;
    private final RefCount refs = new RefCount(this);

    private final ReentrantLock mapsMu = new ReentrantLock();
    private final MappingSet mappings = new MappingSet();

    private final ReentrantLock dataMu = new ReentrantLock();
    private final SegmentSet<Long> pages = new SegmentSet<>(FILE_RANGES);
    private long allocatedBytes;

    /**
     * @param memoryFile where pages come from
     * @param size bytes, page-aligned and non-zero
     * @param inode the inode number shown in maps
     * @param memCgId the memory cgroup charged
     * @param fillAhead bytes (a power of two, at least a page) of the aligned window
     *     allocated around a fault
     * @param populate whether allocations are committed and mapped at once
     * @param onRelease called once when the last reference is dropped and the pages are freed
     */
    public SharedAnonymousMemory(MemoryFile memoryFile, long size, long inode, int memCgId, long fillAhead, boolean populate,
            Runnable onRelease) {
        if (size == 0 || !Pages.isPageAligned(size)) {
            throw new IllegalArgumentException("size = " + Pages.hex(size) + " must be a non-zero multiple of the page size");
        }
        if (fillAhead < Pages.PAGE_SIZE || Long.bitCount(fillAhead) != 1) {
            throw new IllegalArgumentException("fillAhead = " + fillAhead + " must be a power of two of at least a page");
        }
        this.memoryFile = memoryFile;
        this.size = size;
        this.inode = inode;
        this.memCgId = memCgId;
        this.fillAhead = fillAhead;
        this.populate = populate;
        this.onRelease = onRelease;
    }

    /** The size in bytes. */
    public long size() {
        return size;
    }

    /** Bytes of memory-file pages this object holds. */
    public long allocatedBytes() {
        dataMu.lock();
        try {
            return allocatedBytes;
        } finally {
            dataMu.unlock();
        }
    }

    // ---------------------------------------------------------------- Mappable

    @Override
    public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        Mappable.checkMapping(ar, offset);
        mapsMu.lock();
        try {
            mappings.addMapping(ms, ar, offset, writable);
        } finally {
            mapsMu.unlock();
        }
    }

    @Override
    public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        Mappable.checkMapping(ar, offset);
        mapsMu.lock();
        try {
            mappings.removeMapping(ms, ar, offset, writable);
        } finally {
            mapsMu.unlock();
        }
    }

    @Override
    public void copyMapping(Context ctx, MappingSpace ms, AddrRange srcAR, AddrRange dstAR, long offset, boolean writable) {
        addMapping(ctx, ms, dstAR, offset, writable);
    }

    @Override
    public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
        Mappable.checkTranslate(required, optional);
        MappableRange valid = new MappableRange(0, size);
        MappableRange req = required.intersect(valid);
        MappableRange opt = optional.intersect(valid);
        MemmapError beyondEnd = req.end() != required.end() ? new BusError(Errno.EFAULT.withDetail(
                "offset " + Pages.hex(Math.max(size, required.start())) + " is past the end of shared anonymous memory of size " + Pages.hex(size))) : null;
        if (req.isEmpty()) {
            return TranslateResult.failure(beyondEnd);
        }
        long winStart = Math.max(opt.start(), req.start() & -fillAhead);
        long winEnd = Math.min(opt.end(), Math.max(req.end(), ((req.end() - 1) & -fillAhead) + fillAhead));
        dataMu.lock();
        try {
            MemmapError fillError = fill(winStart, winEnd, req, ctx);
            List<Translation> ts = new ArrayList<>(1);
            Segment<Long> seg = pages.findSegment(req.start());
            long pos = req.start();
            while (seg != null && seg.start() <= pos && Long.compareUnsigned(pos, req.end()) < 0) {
                long s = Math.max(seg.start(), opt.start());
                long e = Math.min(seg.end(), opt.end());
                ts.add(new Translation(new MappableRange(s, e), memoryFile, seg.value() + (s - seg.start()), AccessType.ANY_ACCESS));
                pos = seg.end();
                seg = seg.nextSegment();
            }
            if (pos < req.end()) {
                return new TranslateResult(ts, fillError != null ? fillError : Errno.ENOMEM);
            }
            return new TranslateResult(ts, beyondEnd);
        } finally {
            dataMu.unlock();
        }
    }

    /**
     * Allocates every unbacked page of {@code [start, end)}; if the whole window cannot be
     * had, at least those of {@code req}. Returns the error if even that failed. Requires
     * {@link #dataMu}.
     */
    private MemmapError fill(long start, long end, MappableRange req, Context ctx) {
        MemmapError err = fillGaps(start, end);
        if (err != null && (start != req.start() || end != req.end())) {
            err = fillGaps(req.start(), req.end());
        }
        return err;
    }

    private MemmapError fillGaps(long start, long end) {
        long pos = start;
        while (pos < end) {
            Segment.Step<Long> at = pages.find(pos);
            if (at.segment() != null) {
                pos = at.segment().end();
                continue;
            }
            Gap<Long> gap = at.gap();
            // The last gap ends at the set's maximum key, 2^64 - 1: compare unsigned.
            long e = Long.compareUnsigned(gap.end(), end) < 0 ? gap.end() : end;
            FileRange fr;
            try {
                fr = memoryFile.allocate(e - pos, new AllocOpts(populate ? AllocationMode.WRITE_POPULATE : AllocationMode.UNCOMMITTED,
                        AllocOpts.Direction.BOTTOM_UP, false, memCgId));
            } catch (MemmapException ex) {
                return ex.error();
            }
            allocatedBytes += fr.length();
            pages.insert(gap, pos, e, fr.start());
            pos = e;
        }
        return null;
    }

    /**
     * Gives every range of {@code runs} (ascending, disjoint, page-aligned, inside the size, none
     * backed yet) pages now, from one allocation of the memory file committed in one go: a twin
     * about to receive a sparse object's pages gets them at the cost of one allocation, not one
     * per run. Nothing changes if the memory file refuses (the copy then allocates run by run).
     */
    void reserve(List<MappableRange> runs) {
        long total = 0;
        for (MappableRange r : runs) {
            total += r.length();
        }
        if (total == 0) {
            return;
        }
        dataMu.lock();
        try {
            if (!pages.isEmpty()) {
                return;
            }
            FileRange fr;
            try {
                fr = memoryFile.allocate(total, new AllocOpts(populate ? AllocationMode.WRITE_POPULATE : AllocationMode.UNCOMMITTED,
                        AllocOpts.Direction.BOTTOM_UP, false, memCgId));
            } catch (MemmapException e) {
                return;
            }
            // The runs tile the allocation: its one reference per page is each run's own, dropped per segment.
            long at = fr.start();
            for (MappableRange r : runs) {
                pages.insert(pages.findGap(r.start()), r.start(), r.end(), at);
                at += r.length();
            }
            allocatedBytes += total;
        } finally {
            dataMu.unlock();
        }
    }

    /** The translations of the pages of {@code within} that exist (one per segment of the file-range set). */
    @Override
    public List<Translation> existing(MappableRange within) {
        within.checkPageAligned("within");
        List<Translation> out = new ArrayList<>();
        dataMu.lock();
        try {
            for (Segment<Long> seg = pages.lowerBoundSegment(within.start());
                    seg != null && Long.compareUnsigned(seg.start(), within.end()) < 0; seg = seg.nextSegment()) {
                long s = Long.compareUnsigned(seg.start(), within.start()) > 0 ? seg.start() : within.start();
                long e = Long.compareUnsigned(seg.end(), within.end()) < 0 ? seg.end() : within.end();
                out.add(new Translation(new MappableRange(s, e), memoryFile, seg.value() + (s - seg.start()), AccessType.ANY_ACCESS));
            }
        } finally {
            dataMu.unlock();
        }
        return out;
    }

    /** The ranges of {@code within} that have memory-file pages (what {@link #translate} allocated). */
    @Override
    public List<MappableRange> populated(MappableRange within) {
        List<MappableRange> out = new ArrayList<>();
        for (Translation t : existing(within)) {
            if (!out.isEmpty() && out.getLast().end() == t.source().start()) {
                out.set(out.size() - 1, new MappableRange(out.getLast().start(), t.source().end())); // file offsets apart
            } else {
                out.add(t.source());
            }
        }
        return out;
    }

    @Override
    public void invalidateUnsavable(Context ctx) {
        // The memory file's contents survive save/restore; nothing to invalidate.
    }

    // ---------------------------------------------------------------- MappingIdentity

    @Override
    public void incRef() {
        refs.incRef();
    }

    @Override
    public void decRef(Context ctx) {
        if (refs.decRef()) {
            release();
        }
    }

    private void release() {
        dataMu.lock();
        try {
            for (Segment<Long> s = pages.firstSegment(); s != null; s = s.nextSegment()) {
                memoryFile.decRef(new FileRange(s.value(), s.value() + s.length()));
            }
            pages.removeAll();
            allocatedBytes = 0;
        } finally {
            dataMu.unlock();
        }
        if (onRelease != null) {
            onRelease.run();
        }
    }

    /** The current reference count. */
    public long refCount() {
        return refs.get();
    }

    @Override
    public String mappedName(Context ctx) {
        return "/dev/zero (deleted)";
    }

    /** Linux's shmem device, 00:01. */
    @Override
    public long deviceId() {
        return 1;
    }

    @Override
    public long inodeId() {
        return inode;
    }

    @Override
    public void msync(Context ctx, MappableRange mr) {
        // Memory has no backing store to write back to.
    }

    @Override
    public String toString() {
        return "SharedAnonymousMemory[inode " + inode + ", " + Pages.hex(size) + " bytes]";
    }
}
