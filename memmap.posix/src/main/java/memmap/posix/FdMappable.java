package memmap.posix;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.InvalidateOpts;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MappingSet;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.RefCount;
import memmap.api.Resizable;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * A host file (a regular file, or a POSIX shared-memory object under /dev/shm) as a
 * {@link Resizable} Mappable and its {@link MappingIdentity} (gVisor's gofer dentry in host-FD
 * mode, spec §6.6): translations point straight at the file's own pages through
 * {@link MappedFd}, so shared writes reach the file and other processes see them. Providers
 * keep one instance per (device, inode), so every mapping of a file is coherent.
 *
 * <p>{@link #translate} returns one translation of {@code optional} cut to the page-rounded
 * file size; past the end it returns a {@link BusError}. Translations for write mark their
 * range dirty; {@link #msync} forces only dirty ranges (a clean range costs a lookup) and
 * cleans those no writable mapping can dirty again.
 *
 * <p>Shrinking through {@link #setSize} first invalidates every mapping of the pages past
 * the new end, private copies included, then truncates.
 *
 * <p>Lock order: {@link #mapsMu} (mapping bookkeeping, size changes, msync) ranks above the
 * address space's activeMu; {@link #dataMu} (translate, dirty set) below it.
 */
public final class FdMappable implements Resizable, MappingIdentity {
    private final MappedFd file;
    private final String name;
    private final long device;
    private final long inode;
    private final Runnable onRelease;
    private final RefCount refs = new RefCount(this);

    private final ReentrantLock mapsMu = new ReentrantLock();
    private final MappingSet mappings = new MappingSet();

    private final ReentrantLock dataMu = new ReentrantLock();
    private final SegmentSet<Boolean> dirty = new SegmentSet<>(SegmentFunctions.mergeEqual());
    private volatile long size;
    /** Set (under {@link #mapsMu}) while a shrinking {@link #setSize} runs: translate must not re-read the old size. */
    private volatile boolean shrinking;

    /**
     * @param file the descriptor and its mappings (owned from now on)
     * @param name the name shown in maps
     * @param device the device number, Linux's internal {@code major << 20 | minor}
     * @param inode the inode number
     * @param size the file's size now
     * @param onRelease called once when the last reference is dropped
     */
    public FdMappable(MappedFd file, String name, long device, long inode, long size, Runnable onRelease) {
        this.file = file;
        this.name = name;
        this.device = device;
        this.inode = inode;
        this.size = size;
        this.onRelease = onRelease;
    }

    /** The descriptor and its mappings. */
    public MappedFd file() {
        return file;
    }

    // ---------------------------------------------------------------- Mappable

    @Override
    public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException {
        Mappable.checkMapping(ar, offset);
        if (writable && !file.isWritable()) {
            throw Errno.EACCES.exception(name + " is open read-only: no shared writable mapping");
        }
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
    public void copyMapping(Context ctx, MappingSpace ms, AddrRange srcAR, AddrRange dstAR, long offset, boolean writable)
            throws MemmapException {
        addMapping(ctx, ms, dstAR, offset, writable);
    }

    @Override
    public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
        Mappable.checkTranslate(required, optional);
        if (at.write() && !file.isWritable()) {
            return TranslateResult.failure(Errno.EACCES.withDetail(name + " is open read-only"));
        }
        long end = Pages.roundUp(size).value();
        if (required.end() > end && !shrinking) {
            // Maybe the file grew behind our back: look once before reporting SIGBUS (not while
            // a truncation is under way: fstat would still say the old size).
            end = Pages.roundUp(refreshSize()).value();
        }
        MappableRange valid = new MappableRange(0, end);
        MappableRange req = required.intersect(valid);
        MappableRange opt = optional.intersect(valid);
        BusError pastEnd = req.end() != required.end() ? new BusError(EndOfFile.INSTANCE) : null;
        if (req.isEmpty()) {
            return TranslateResult.failure(pastEnd);
        }
        // Write permission only for a write translation, which marks the range dirty: a pma
        // translated for reading must come back here before it is written, or msync would
        // miss the write.
        AccessType perms = at.write() ? AccessType.ANY_ACCESS : AccessType.READ_EXECUTE;
        if (at.write()) {
            dataMu.lock();
            try {
                markDirty(opt);
            } finally {
                dataMu.unlock();
            }
        }
        return new TranslateResult(java.util.List.of(new Translation(opt, file, opt.start(), perms)), pastEnd);
    }

    /** Adds {@code r} to the dirty set. Requires {@link #dataMu}. */
    private void markDirty(MappableRange r) {
        dirty.removeRange(r.start(), r.end());
        dirty.add(r.start(), r.end(), Boolean.TRUE);
    }

    private long refreshSize() {
        try {
            long s = Posix.fstat(file.fd()).size();
            size = s;
            return s;
        } catch (MemmapException e) {
            return size;
        }
    }

    @Override
    public void invalidateUnsavable(Context ctx) {
        mapsMu.lock();
        try {
            mappings.invalidateAll(InvalidateOpts.DEFAULT);
        } finally {
            mapsMu.unlock();
        }
    }

    // ---------------------------------------------------------------- Resizable

    @Override
    public long size() {
        return size;
    }

    @Override
    public void setSize(Context ctx, long newSize) throws MemmapException {
        if (newSize < 0) {
            throw new IllegalArgumentException("newSize = " + newSize + " is negative");
        }
        if (!file.isWritable()) {
            throw Errno.EACCES.exception(name + " is open read-only");
        }
        mapsMu.lock();
        try {
            long oldSize = size;
            long oldEnd = Pages.roundUp(oldSize).value();
            long newEnd = Pages.roundUp(newSize).value();
            if (newEnd < oldEnd) {
                // As Linux's truncate: the new size is stored first, so that a fault racing with
                // the invalidation below cannot translate a page being cut off; then
                // unmap_mapping_range(evencows=1): no cached translation and no private copy of a
                // page past the new end survives.
                shrinking = true;
                try {
                    size = newSize;
                    mappings.invalidate(new MappableRange(newEnd, oldEnd), InvalidateOpts.PRIVATE);
                    Posix.ftruncate(file.fd(), newSize);
                } catch (MemmapException e) {
                    size = oldSize; // nothing was cut: the pages dropped are translated again on demand
                    throw e;
                } finally {
                    shrinking = false;
                }
            } else {
                Posix.ftruncate(file.fd(), newSize);
                size = newSize;
            }
            if (newEnd < oldEnd) {
                dataMu.lock();
                try {
                    dirty.removeRange(newEnd, oldEnd);
                } finally {
                    dataMu.unlock();
                }
            }
        } finally {
            mapsMu.unlock();
        }
    }

    // ---------------------------------------------------------------- MappingIdentity

    @Override
    public void incRef() {
        refs.incRef();
    }

    /** One more reference if still alive. */
    public boolean tryIncRef() {
        return refs.tryIncRef();
    }

    @Override
    public void decRef(Context ctx) {
        if (refs.decRef()) {
            file.release();
            if (onRelease != null) {
                onRelease.run();
            }
        }
    }

    /** The current reference count. */
    public long refCount() {
        return refs.get();
    }

    /** The file's path, with {@code " (deleted)"} once it has no name left (as Linux's maps prints it). */
    @Override
    public String mappedName(Context ctx) {
        try {
            if (Posix.fstat(file.fd()).links() == 0) {
                return name + " (deleted)";
            }
        } catch (MemmapException e) {
            // A descriptor no longer open: the name it had.
        }
        return name;
    }

    @Override
    public long deviceId() {
        return device;
    }

    @Override
    public long inodeId() {
        return inode;
    }

    /**
     * Forces the dirty parts of {@code mr} to storage. Every part that no writable mapping can
     * dirty again becomes clean; the parts a writable mapping covers stay dirty (gVisor's
     * KeepDirty, part by part).
     */
    @Override
    public void msync(Context ctx, MappableRange mr) throws MemmapException {
        if (mr.isEmpty()) {
            return;
        }
        mapsMu.lock();
        try {
            java.util.List<MappableRange> toSync = new java.util.ArrayList<>();
            dataMu.lock();
            try {
                dirty.visitRange(mr.start(), mr.end(), seg -> {
                    toSync.add(new MappableRange(seg.start(), seg.end()).intersect(mr));
                    return true;
                });
            } finally {
                dataMu.unlock();
            }
            for (MappableRange r : toSync) {
                file.sync(new FileRange(r.start(), r.end()));
            }
            dataMu.lock();
            try {
                for (MappableRange r : toSync) {
                    // Each part no writable mapping can dirty again is clean now; the parts a
                    // writable mapping covers stay dirty (gVisor cleans per part, not per range).
                    List<MappableRange> keep = mappings.writableRanges(r);
                    dirty.removeRange(r.start(), r.end());
                    for (MappableRange k : keep) {
                        dirty.add(k.start(), k.end(), Boolean.TRUE);
                    }
                }
            } finally {
                dataMu.unlock();
            }
        } finally {
            mapsMu.unlock();
        }
    }

    /** The dirty ranges (for tests and usage). */
    public long dirtyBytes() {
        dataMu.lock();
        try {
            return dirty.span();
        } finally {
            dataMu.unlock();
        }
    }

    @Override
    public String toString() {
        return "FdMappable[" + name + ", dev " + Pages.hex(device) + ", ino " + inode + "]";
    }
}
