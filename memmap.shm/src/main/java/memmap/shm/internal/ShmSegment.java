package memmap.shm.internal;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MappingSpace;
import memmap.api.MemoryFile;
import memmap.api.RefCount;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.SysVSharedMemory;

/**
 * One System V shared-memory segment (gVisor's {@code shm.Shm}, spec §7.2): a fixed range of
 * the memory file, both the Mappable and the MappingIdentity of its attachments.
 *
 * <p>References: the registry holds one (the self-reference, dropped by IPC_RMID), every
 * attachment (vma) one, every lookup one while it lasts. The last one frees the memory and
 * takes the id out of the registry. Attachments are counted from the references, as gVisor
 * does: {@code nattach = refs - lookups - (self-reference ? 1 : 0)}.
 *
 * <p>Lock order: the registry's lock, then {@link #mu}. Translate takes no lock (the range
 * never changes).
 */
final class ShmSegment implements SysVSharedMemory.Segment, memmap.api.OwnedPages {
    final ShmRegistry registry;
    final int id;
    final long size;
    final long effectiveSize;
    final FileRange fr;
    final MemoryFile memoryFile;
    final long deviceId;

    final ReentrantLock mu = new ReentrantLock();
    /** Guarded by the registry's lock for reads outside {@link #mu} by the registry itself. */
    int key;
    int uid;
    int gid;
    final int cuid;
    final int cgid;
    int mode;
    long atime;
    long dtime;
    long ctime;
    final int cpid;
    int lpid;
    boolean pendingDestruction;
    /** Removed with IPC_RMID (pendingDestruction may also come from the registry's release). */
    boolean removed;
    private final RefCount refs = new RefCount(this);

    ShmSegment(ShmRegistry registry, int id, int key, long size, long effectiveSize, FileRange fr, MemoryFile memoryFile,
            long deviceId, Context ctx, int mode) {
        this.registry = registry;
        this.id = id;
        this.key = key;
        this.size = size;
        this.effectiveSize = effectiveSize;
        this.fr = fr;
        this.memoryFile = memoryFile;
        this.deviceId = deviceId;
        this.uid = ctx.credentials().uid();
        this.gid = ctx.credentials().gid();
        this.cuid = uid;
        this.cgid = gid;
        this.mode = mode & 0777;
        this.ctime = ctx.clock().instant().getEpochSecond();
        this.cpid = ctx.threadGroupId();
    }

    /** A segment taking over {@code st} (a handover from another registry). */
    ShmSegment(ShmRegistry registry, SysVSharedMemory.ShmStat st, long effectiveSize, FileRange fr, MemoryFile memoryFile,
            long deviceId) {
        this.registry = registry;
        this.id = st.id();
        this.key = st.key();
        this.size = st.size();
        this.effectiveSize = effectiveSize;
        this.fr = fr;
        this.memoryFile = memoryFile;
        this.deviceId = deviceId;
        this.uid = st.uid();
        this.gid = st.gid();
        this.cuid = st.cuid();
        this.cgid = st.cgid();
        this.mode = st.mode() & 0777;
        this.atime = st.atime();
        this.dtime = st.dtime();
        this.ctime = st.ctime();
        this.cpid = st.cpid();
        this.lpid = st.lpid();
    }

    @Override
    public long effectiveSize() {
        return effectiveSize;
    }

    // ---------------------------------------------------------------- references

    /** One more reference if the segment is still alive (gVisor's TryIncRef). */
    boolean tryIncRef() {
        return refs.tryIncRef();
    }

    @Override
    public void incRef() {
        refs.incRef();
    }

    @Override
    public void decRef(Context ctx) {
        if (refs.decRef()) {
            memoryFile.decRef(fr);
            registry.destroyed(this);
        }
    }

    /** Attachments: references less the caller's lookups and the self-reference. */
    long nattach(int lookups) {
        mu.lock();
        try {
            return refs.get() - lookups - (pendingDestruction ? 0 : 1);
        } finally {
            mu.unlock();
        }
    }

    // ---------------------------------------------------------------- permissions

    /**
     * Whether {@code ctx} may access the segment as {@code want} (rwx in the low 3 bits):
     * owner bits for the owner, group bits for its group, other bits otherwise;
     * CAP_IPC_OWNER overrides.
     */
    boolean permits(Context ctx, int want) {
        var c = ctx.credentials();
        if (c.has(memmap.api.Capability.IPC_OWNER)) {
            return true;
        }
        int granted;
        mu.lock();
        try {
            if (c.uid() == uid) {
                granted = (mode >> 6) & 7;
            } else if (c.inGroup(gid)) {
                granted = (mode >> 3) & 7;
            } else {
                granted = mode & 7;
            }
        } finally {
            mu.unlock();
        }
        return (granted & want) == want;
    }

    @Override
    public SysVSharedMemory.ShmStat stat() {
        long n = nattach(0);
        mu.lock();
        try {
            return new SysVSharedMemory.ShmStat(id, key, uid, gid, cuid, cgid, mode | (removed ? SysVSharedMemory.SHM_DEST : 0),
                    size, atime, dtime, ctime, cpid, lpid, n);
        } finally {
            mu.unlock();
        }
    }

    SysVSharedMemory.ShmStat stat(int lookups) {
        long n = nattach(lookups);
        mu.lock();
        try {
            return new SysVSharedMemory.ShmStat(id, key, uid, gid, cuid, cgid,
                    mode | (pendingDestruction ? SysVSharedMemory.SHM_DEST : 0), size, atime, dtime, ctime, cpid, lpid, n);
        } finally {
            mu.unlock();
        }
    }

    // ---------------------------------------------------------------- Mappable

    /** Records the attach time and the attaching process. */
    @Override
    public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        Mappable.checkMapping(ar, offset);
        mu.lock();
        try {
            atime = ctx.clock().instant().getEpochSecond();
            if (ctx.threadGroupId() != 0) {
                lpid = ctx.threadGroupId();
            }
        } finally {
            mu.unlock();
        }
    }

    /** Records the detach time and the detaching process. */
    @Override
    public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        Mappable.checkMapping(ar, offset);
        mu.lock();
        try {
            dtime = ctx.clock().instant().getEpochSecond();
            if (ctx.threadGroupId() != 0) {
                lpid = ctx.threadGroupId();
            }
        } finally {
            mu.unlock();
        }
    }

    /** No attach bookkeeping on mremap, as in gVisor. */
    @Override
    public void copyMapping(Context ctx, MappingSpace ms, AddrRange srcAR, AddrRange dstAR, long offset, boolean writable) {
        Mappable.checkMapping(dstAR, offset);
    }

    /**
     * One translation of {@code optional} within the segment, with every permission; a
     * {@link BusError} (EFAULT) if {@code required} reaches past the segment's end.
     */
    @Override
    public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
        Mappable.checkTranslate(required, optional);
        BusError err = Long.compareUnsigned(required.end(), effectiveSize) > 0
                ? new BusError(Errno.EFAULT.withDetail("offset past the end of shm segment " + id + " (" + effectiveSize + " bytes)"))
                : null;
        MappableRange source = optional.intersect(new MappableRange(0, effectiveSize));
        if (source.isEmpty() || !source.overlaps(required)) {
            return TranslateResult.failure(err);
        }
        return new TranslateResult(List.of(new Translation(source, memoryFile, fr.start() + source.start(), AccessType.ANY_ACCESS)), err);
    }

    /** The pages of {@code within} the memory file has committed: the rest was never touched. */
    @Override
    public List<MappableRange> populated(MappableRange within) {
        within.checkPageAligned("within");
        MappableRange in = within.intersect(new MappableRange(0, effectiveSize));
        if (in.isEmpty()) {
            return List.of();
        }
        return memoryFile.committed(new FileRange(fr.start() + in.start(), fr.start() + in.end())).stream()
                .map(c -> new MappableRange(c.start() - fr.start(), c.end() - fr.start())).toList();
    }

    /** The committed pages of {@code within}, as translations into the segment's file range. */
    @Override
    public List<Translation> existing(MappableRange within) {
        return populated(within).stream()
                .map(r -> new Translation(r, memoryFile, fr.start() + r.start(), AccessType.ANY_ACCESS)).toList();
    }

    @Override
    public void invalidateUnsavable(Context ctx) {
        // The memory file's contents survive save/restore.
    }

    // ---------------------------------------------------------------- MappingIdentity

    /** {@code SYSV%08d} of the current key, in decimal (so {@code SYSV00000000} after IPC_RMID). */
    @Override
    public String mappedName(Context ctx) {
        mu.lock();
        try {
            return String.format("SYSV%08d", key);
        } finally {
            mu.unlock();
        }
    }

    @Override
    public long deviceId() {
        return deviceId;
    }

    /** The segment id. */
    @Override
    public long inodeId() {
        return id;
    }

    @Override
    public void msync(Context ctx, MappableRange mr) {
        // Shared memory has no backing store.
    }

    @Override
    public String toString() {
        return "ShmSegment[id " + id + ", key " + key + ", " + size + " bytes]";
    }
}
