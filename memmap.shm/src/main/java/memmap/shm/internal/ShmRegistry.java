package memmap.shm.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.provider.SysVSharedMemory;

/**
 * The System V shared-memory registry of one IPC namespace (gVisor's {@code shm.Registry},
 * spec §7.1, §7.3): segments by id and key, the limits, and the shmget/shmat/shmctl logic in
 * the order the spec checks things.
 *
 * <p>Lock order: {@link #mu}, then a segment's lock, then the memory file's.
 */
final class ShmRegistry implements SysVSharedMemory {
    /** Linux's limits (uapi defaults). */
    static final long SHMMIN = 1;
    static final long SHMMAX = -1L - (1L << 24); // 2^64 - 1 - 2^24, unsigned
    static final long SHMALL = SHMMAX;
    static final long SHMMNI = 4096;
    static final long SHMSEG = 4096;

    private final ReentrantLock mu = new ReentrantLock();
    private final Map<Integer, ShmSegment> objects = new TreeMap<>();
    private final Map<Integer, Integer> keysToIds = new HashMap<>();
    private final MemoryFile memoryFile;
    private volatile long deviceId;
    private int lastIdUsed;
    private long totalPages;
    private volatile Limits limits;

    /**
     * The limits in force (unsigned where Linux's are).
     *
     * @param shmMin smallest segment
     * @param shmMax largest segment
     * @param shmAll most pages in all segments
     * @param shmMni most segments
     */
    record Limits(long shmMin, long shmMax, long shmAll, long shmMni) {
        static final Limits LINUX = new Limits(SHMMIN, SHMMAX, SHMALL, SHMMNI);
    }

    ShmRegistry(MemoryFile memoryFile, long deviceId, Limits limits) {
        this.memoryFile = memoryFile;
        this.deviceId = deviceId;
        this.limits = limits;
    }

    /** The limits in force. */
    Limits limits() {
        return limits;
    }

    void setLimits(Limits l) {
        this.limits = l;
    }

    /** The device number of segments made from now on. */
    long deviceId() {
        return deviceId;
    }

    /** Sets the device number of segments made from now on. */
    void setDeviceId(long d) {
        this.deviceId = d;
    }

    // ---------------------------------------------------------------- shmget

    @Override
    public int get(Context ctx, int key, long size, int flags) throws MemmapException {
        ShmSegment s = findOrCreate(ctx, key, size, flags & 0777, key == IPC_PRIVATE, (flags & IPC_CREAT) != 0, (flags & IPC_EXCL) != 0);
        s.decRef(ctx); // shmget drops the caller's reference before returning the id
        return s.id;
    }

    /** gVisor's FindOrCreate: returns the segment with a reference for the caller. */
    ShmSegment findOrCreate(Context ctx, int key, long size, int mode, boolean isPrivate, boolean create, boolean exclusive)
            throws MemmapException {
        Limits l = limits;
        if ((create || isPrivate) && (Long.compareUnsigned(size, l.shmMin()) < 0 || Long.compareUnsigned(size, l.shmMax()) > 0)) {
            throw Errno.EINVAL.exception("size = " + Long.toUnsignedString(size) + " is outside [" + l.shmMin() + ", "
                    + Long.toUnsignedString(l.shmMax()) + "]");
        }
        mu.lock();
        try {
            if (objects.size() >= l.shmMni()) {
                throw Errno.ENOSPC.exception("the " + l.shmMni() + " segments allowed (SHMMNI) exist");
            }
            if (!isPrivate) {
                Integer id = keysToIds.get(key);
                if (id != null) {
                    ShmSegment s = objects.get(id);
                    if (!s.permits(ctx, mode & 7)) {
                        throw Errno.EACCES.exception("key = " + key + ": access " + Integer.toOctalString(mode & 7) + " not permitted");
                    }
                    if (create && exclusive) {
                        throw Errno.EEXIST.exception("key = " + key + " already has segment " + id);
                    }
                    if (Long.compareUnsigned(size, s.size) > 0) {
                        throw Errno.EINVAL.exception("size = " + Long.toUnsignedString(size) + " is larger than segment " + id
                                + " (" + s.size + " bytes)");
                    }
                    s.incRef();
                    return s;
                }
                if (!create) {
                    throw Errno.ENOENT.exception("key = " + key + " has no segment");
                }
            }
            Pages.Rounded rounded = Pages.roundUp(size);
            if (!rounded.ok() || rounded.value() == 0) {
                throw Errno.EINVAL.exception("size = " + Long.toUnsignedString(size) + " overflows when rounded to a page");
            }
            long pages = rounded.value() >>> Pages.PAGE_SHIFT;
            if (Long.compareUnsigned(totalPages + pages, l.shmAll()) > 0 || totalPages + pages < totalPages) {
                throw Errno.ENOSPC.exception("SHMALL: " + totalPages + " pages in segments, " + pages + " more would pass "
                        + Long.toUnsignedString(l.shmAll()));
            }
            int id = nextId();
            FileRange fr = memoryFile.allocate(rounded.value(), AllocOpts.DEFAULT.withMemCgId(ctx.memCgId()));
            ShmSegment s = new ShmSegment(this, id, key, size, rounded.value(), fr, memoryFile, deviceId, ctx, mode);
            objects.put(id, s);
            keysToIds.put(key, id);
            lastIdUsed = id;
            totalPages += pages;
            s.incRef(); // the caller's, beside the self-reference
            return s;
        } finally {
            mu.unlock();
        }
    }

    /** The first id after the last one used that is free; ids start at 1 and wrap within int32. Requires {@link #mu}. */
    private int nextId() throws MemmapException {
        int id = lastIdUsed;
        for (long tries = 0; tries < Integer.MAX_VALUE; tries++) {
            id = id == Integer.MAX_VALUE ? 1 : id + 1;
            if (!objects.containsKey(id)) {
                return id;
            }
        }
        throw Errno.ENOSPC.exception("no free segment id");
    }

    /** The segment with {@code id}, with a reference for the caller, or EINVAL (gVisor's FindByID). */
    private ShmSegment findById(int id) throws MemmapException {
        mu.lock();
        try {
            ShmSegment s = objects.get(id);
            if (s == null || !s.tryIncRef()) {
                throw Errno.EINVAL.exception("id = " + id + " is not a segment");
            }
            return s;
        } finally {
            mu.unlock();
        }
    }

    /** The last reference on {@code s} is gone: forget it. */
    void destroyed(ShmSegment s) {
        mu.lock();
        try {
            if (objects.remove(s.id, s)) {
                if (keysToIds.get(s.key) != null && keysToIds.get(s.key) == s.id && s.key != IPC_PRIVATE) {
                    throw new IllegalStateException("destroying shm segment " + s.id + " whose key " + s.key + " is still associated");
                }
                totalPages -= s.effectiveSize >>> Pages.PAGE_SHIFT;
            }
        } finally {
            mu.unlock();
        }
    }

    // ---------------------------------------------------------------- shmat

    @Override
    public Attachment attach(Context ctx, int id, long addr, int flags) throws MemmapException {
        ShmSegment s = findById(id);
        try {
            boolean readOnly = (flags & SHM_RDONLY) != 0;
            boolean exec = (flags & SHM_EXEC) != 0;
            s.mu.lock();
            try {
                if (s.pendingDestruction && s.nattach(1) < 0) {
                    throw Errno.EIDRM.exception("segment " + id + " is being destroyed");
                }
            } finally {
                s.mu.unlock();
            }
            int want = 4 | (readOnly ? 0 : 2) | (exec ? 1 : 0);
            if (!s.permits(ctx, want)) {
                throw Errno.EACCES.exception("segment " + id + ": access " + Integer.toOctalString(want) + " not permitted");
            }
            MMapOpts opts = MMapOpts.builder().length(s.size).mappable(s).mappingIdentity(s).offset(0).addr(addr)
                    .fixed((flags & SHM_REMAP) != 0)
                    .perms(new AccessType(true, !readOnly, exec))
                    .maxPerms(readOnly ? AccessType.READ_EXECUTE : AccessType.ANY_ACCESS)
                    .isPrivate(false).build();
            return new Attachment() {
                private boolean closed;

                @Override
                public MMapOpts opts() {
                    return opts;
                }

                @Override
                public synchronized void close() {
                    if (!closed) {
                        closed = true;
                        s.decRef(ctx);
                    }
                }
            };
        } catch (MemmapException | RuntimeException e) {
            s.decRef(ctx);
            throw e;
        }
    }

    // ---------------------------------------------------------------- shmctl

    @Override
    public ShmStat stat(Context ctx, int id) throws MemmapException {
        ShmSegment s = findById(id);
        try {
            if (!s.permits(ctx, 4)) {
                throw Errno.EACCES.exception("segment " + id + ": no read permission");
            }
            return s.stat(1);
        } finally {
            s.decRef(ctx);
        }
    }

    @Override
    public void set(Context ctx, int id, int uid, int gid, int mode) throws MemmapException {
        ShmSegment s = findById(id);
        try {
            var c = ctx.credentials();
            s.mu.lock();
            try {
                if (c.uid() != s.uid && c.uid() != s.cuid && !c.has(Capability.SYS_ADMIN)) {
                    throw Errno.EPERM.exception("segment " + id + ": only its owner, creator or CAP_SYS_ADMIN may IPC_SET");
                }
                if (uid == -1 || gid == -1) {
                    // Linux's ipc_update_perm: (uid_t) -1 is no user (and no group).
                    throw Errno.EINVAL.exception((uid == -1 ? "uid" : "gid") + " = -1 is not a valid " + (uid == -1 ? "user" : "group"));
                }
                s.uid = uid;
                s.gid = gid;
                s.mode = mode & 0777;
                s.ctime = ctx.clock().instant().getEpochSecond();
            } finally {
                s.mu.unlock();
            }
        } finally {
            s.decRef(ctx);
        }
    }

    @Override
    public void remove(Context ctx, int id) throws MemmapException {
        ShmSegment s = findById(id);
        boolean dropSelf = false;
        try {
            mu.lock();
            try {
                s.mu.lock();
                try {
                    dropSelf = markRemovedLocked(s);
                    s.key = 0;
                } finally {
                    s.mu.unlock();
                }
            } finally {
                mu.unlock();
            }
        } finally {
            if (dropSelf) {
                s.decRef(ctx);
            }
            s.decRef(ctx);
        }
    }

    @Override
    public void lock(Context ctx, int id) throws MemmapException {
        findById(id).decRef(ctx);
    }

    @Override
    public void unlock(Context ctx, int id) throws MemmapException {
        findById(id).decRef(ctx);
    }

    @Override
    public IpcInfo ipcInfo() {
        Limits l = limits;
        return new IpcInfo(l.shmMax(), l.shmMin(), l.shmMni(), SHMSEG, l.shmAll());
    }

    @Override
    public ShmInfo shmInfo() {
        mu.lock();
        try {
            return new ShmInfo(lastIdUsed, totalPages, totalPages, 0);
        } finally {
            mu.unlock();
        }
    }

    @Override
    public List<ShmStat> list() {
        List<ShmSegment> live;
        mu.lock();
        try {
            live = new ArrayList<>(objects.values());
        } finally {
            mu.unlock();
        }
        List<ShmStat> out = new ArrayList<>();
        for (ShmSegment s : live) {
            if (s.tryIncRef()) {
                out.add(s.stat(1));
                s.decRef(Context.background());
            }
        }
        return out;
    }

    /** {@link #twin} and a copy of the pages of {@code live} that exist (an untouched page stays untouched). */
    @Override
    public Segment adopt(Context ctx, Segment live) throws MemmapException {
        Segment s = twin(ctx, live);
        if (s == live) {
            return s;
        }
        try {
            memmap.api.OwnedPages.copy(ctx, live, s, new memmap.api.MappableRange(0, s.effectiveSize()));
            return s;
        } catch (MemmapException | RuntimeException e) {
            forget(ctx, s);
            throw e;
        }
    }

    /** Registers a segment equal to {@code live} whose pages do not exist yet (they read as zeros until copied). */
    @Override
    public Segment twin(Context ctx, Segment live) throws MemmapException {
        java.util.Objects.requireNonNull(live, "live");
        mu.lock();
        try {
            if (objects.get(live.stat().id()) == live) {
                return live;
            }
        } finally {
            mu.unlock();
        }
        return register(ctx, live.stat(), live.effectiveSize());
    }

    /** Registers a segment as {@code stat} describes it, its pages not there yet (restores and twins). */
    @Override
    public Segment restore(Context ctx, SysVSharedMemory.ShmStat stat, long effectiveSize) throws MemmapException {
        java.util.Objects.requireNonNull(stat, "stat");
        if (effectiveSize == 0 || (effectiveSize & (Pages.PAGE_SIZE - 1)) != 0 || Long.compareUnsigned(effectiveSize, stat.size()) < 0) {
            throw new IllegalArgumentException("effectiveSize = " + Long.toUnsignedString(effectiveSize)
                    + " must be the segment's size " + Long.toUnsignedString(stat.size()) + " rounded up to pages");
        }
        return register(ctx, stat, effectiveSize);
    }

    private ShmSegment register(Context ctx, SysVSharedMemory.ShmStat st, long eff) throws MemmapException {
        boolean removed = (st.mode() & SHM_DEST) != 0;
        long pages = eff >>> Pages.PAGE_SHIFT;
        mu.lock();
        try {
            if (objects.containsKey(st.id())) {
                throw Errno.EEXIST.exception("id = " + st.id() + " is already used here");
            }
            if (!removed && st.key() != IPC_PRIVATE && keysToIds.containsKey(st.key())) {
                throw Errno.EEXIST.exception("key = " + st.key() + " already has segment " + keysToIds.get(st.key()) + " here");
            }
            if (Long.compareUnsigned(totalPages + pages, limits.shmAll()) > 0) {
                throw Errno.ENOSPC.exception("SHMALL: " + totalPages + " pages in segments, " + pages + " more would pass "
                        + Long.toUnsignedString(limits.shmAll()));
            }
            FileRange fr = memoryFile.allocate(eff, AllocOpts.DEFAULT.withMemCgId(ctx.memCgId()));
            ShmSegment s = new ShmSegment(this, st, eff, fr, memoryFile, deviceId);
            objects.put(s.id, s);
            totalPages += pages;
            if (removed) {
                // No self-reference: the one the constructor made is the caller's, and the
                // segment goes with its last mapping, as it would have in the old registry.
                s.pendingDestruction = true;
                s.removed = true;
            } else {
                if (st.key() != IPC_PRIVATE) {
                    keysToIds.put(s.key, s.id);
                }
                s.incRef(); // the caller's, beside the self-reference
            }
            return s;
        } finally {
            mu.unlock();
        }
    }

    /**
     * IPC_RMID's bookkeeping: the key forgotten (if it still names {@code s}), the segment marked
     * removed and pending destruction. Requires {@link #mu} and {@code s.mu}.
     *
     * @return whether the caller must drop the self-reference (after unlocking)
     */
    private boolean markRemovedLocked(ShmSegment s) {
        if (s.key != IPC_PRIVATE && keysToIds.get(s.key) != null && keysToIds.get(s.key) == s.id) {
            keysToIds.remove(s.key);
        }
        s.removed = true;
        if (s.pendingDestruction) {
            return false;
        }
        s.pendingDestruction = true;
        return true;
    }

    /** Takes a twin nobody maps out of this registry and frees it. */
    @Override
    public void forget(Context ctx, Segment adopted) {
        java.util.Objects.requireNonNull(adopted, "adopted = null");
        if (!(adopted instanceof ShmSegment s) || s.registry != this) {
            return;
        }
        boolean dropSelf = false;
        mu.lock();
        try {
            s.mu.lock();
            try {
                if (s.nattach(1) > 0) {
                    return;
                }
                dropSelf = markRemovedLocked(s);
            } finally {
                s.mu.unlock();
            }
        } finally {
            mu.unlock();
        }
        if (dropSelf) {
            s.decRef(ctx);
        }
        s.decRef(ctx);
    }

    /** The number of segments (for usage). */
    int count() {
        mu.lock();
        try {
            return objects.size();
        } finally {
            mu.unlock();
        }
    }

    /**
     * Namespace teardown (gVisor's Release): every segment not already removed forgets its key
     * and drops its self-reference, so it lives exactly as long as its attachments.
     */
    void release(Context ctx) {
        List<ShmSegment> drop = new ArrayList<>();
        mu.lock();
        try {
            for (ShmSegment s : objects.values()) {
                s.mu.lock();
                try {
                    if (!s.pendingDestruction) {
                        s.pendingDestruction = true;
                        keysToIds.remove(s.key);
                        drop.add(s);
                    }
                } finally {
                    s.mu.unlock();
                }
            }
        } finally {
            mu.unlock();
        }
        for (ShmSegment s : drop) {
            s.decRef(ctx);
        }
    }
}
