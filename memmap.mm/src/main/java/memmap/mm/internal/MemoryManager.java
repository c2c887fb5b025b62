package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.FaultException;
import memmap.api.InvalidateOpts;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.PinnedView;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.segment.Segment;

/**
 * An address space (gVisor's {@code mm.MemoryManager}, spec §4): its state, its locks, and
 * the {@link AddressSpace} calls, each handed to the layer that owns it. The layers, one job
 * each, as gVisor splits {@code pkg/sentry/mm}:
 * <ul>
 * <li>{@link VmaLayer} ({@code vma.go}): vmas, address selection, creation, removal, the one
 *     isolate/change/merge helper;</li>
 * <li>{@link PmaLayer} ({@code pma.go}): pmas — private pages, cached translations,
 *     copy-on-write, invalidation — and {@link Tlb} ({@code address_space.go});</li>
 * <li>{@link Syscalls} and {@link AttributeCalls} ({@code syscalls.go}): mmap, munmap, mremap,
 *     msync, shm; mprotect, mlock, madvise, setName;</li>
 * <li>{@link Io} ({@code io.go}): read, write, zero, fault;</li>
 * <li>{@link Lifecycle} ({@code lifecycle.go}): fork, release;</li>
 * <li>{@link Migration}: this address space's part of a provider hot swap;</li>
 * <li>{@link Procfs} ({@code procfs.go}): maps and smaps.</li>
 * </ul>
 *
 * <p>Lock order (spec §4.2): {@link #mappingMu} (vmas) → locks of MappingIdentity and
 * Mappable methods other than translate → {@link #activeMu} (pmas and the fast path) →
 * translate's locks → File locks. Across address spaces (fork, migration): creation order
 * ({@link #serial}), every {@code mappingMu} before any {@code activeMu}. Identity references
 * dropped while {@code mappingMu} is held are released after unlocking, because a last DecRef
 * may take locks ranking above it.
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

    private static final AtomicLong SERIALS = new AtomicLong();

    /** Creation order: the order in which a migration locks address spaces. */
    final long serial = SERIALS.incrementAndGet();
    private final Layout layout;
    private final Backings backings;

    /** Guards the vma layer. */
    final ReentrantReadWriteLock mappingMu = new ReentrantReadWriteLock();
    /**
     * Bumped (under {@code mappingMu} for writing) by everything that may change the vmas, so a
     * migration can tell whether what it learned of them still holds.
     */
    long vmaGeneration;
    /** The heap, {@code [start, break)} (gVisor's mm.brk). Guarded by mappingMu. */
    AddrRange brk = new AddrRange(0, 0);
    /** Guards the pma layer and the fast path; ranks below mappingMu (gVisor's activeMu). */
    final ReentrantLock activeMu = new ReentrantLock();

    final VmaLayer vmas = new VmaLayer(this);
    final PmaLayer pmas = new PmaLayer(this);
    final Migration migration = new Migration(this);
    /** The open pinned views. */
    final Pins pins = new Pins(this);
    private final Syscalls syscalls = new Syscalls(this);
    private final AttributeCalls attributes = new AttributeCalls(this);
    private final Io io = new Io(this);

    /** An empty address space taking private memory from {@code memoryFile} and no providers. */
    public MemoryManager(Layout layout, MemoryFile memoryFile) {
        this(layout, Backings.of(java.util.Objects.requireNonNull(memoryFile, "memoryFile")));
    }

    /** An empty address space using {@code backings}. */
    public MemoryManager(Layout layout, Backings backings) {
        this.layout = java.util.Objects.requireNonNull(layout, "layout");
        this.backings = java.util.Objects.requireNonNull(backings, "backings");
        backings.created(this);
    }

    /** The layout. */
    public Layout layout() {
        return layout;
    }

    /** What this address space takes from outside. */
    Backings backings() {
        return backings;
    }

    /**
     * A fault or copy at {@code addr}, which no vma holds, may grow the stack above it
     * ({@link VmaLayer#expandStackLocked}). The caller holds mappingMu for reading; this trades
     * it for the write lock and back (callers look the vmas up again afterwards).
     *
     * @return whether a vma holds {@code addr} now
     */
    boolean growStackFor(Context ctx, long addr) {
        Segment<Vma> next = vmas.set.lowerBoundSegment(addr);
        if (next == null || !next.value().growsDown() || mappingMu.getReadHoldCount() != 1) {
            return false; // nothing to grow, or a caller up the stack holds the read lock too: no trading it
        }
        mappingMu.readLock().unlock();
        mappingMu.writeLock().lock();
        try {
            vmaGeneration++;
            return vmas.expandStackLocked(ctx, addr);
        } finally {
            mappingMu.readLock().lock(); // downgrade: taken before the write lock goes
            mappingMu.writeLock().unlock();
        }
    }

    /** Runs {@code body} with mappingMu write-locked, then drops the identities it queued (after unlocking). */
    <T> T withWriteLock(Context ctx, Body<T> body) throws MemmapException {
        java.util.List<MappingIdentity> dropped = new java.util.ArrayList<>();
        mappingMu.writeLock().lock();
        vmaGeneration++;
        try {
            return body.run(dropped);
        } finally {
            mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    /** A system call's body under {@link #withWriteLock}. */
    @FunctionalInterface
    interface Body<T> {
        T run(java.util.List<MappingIdentity> dropped) throws MemmapException;
    }

    // ---------------------------------------------------------------- system calls (Syscalls, AttributeCalls)

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
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(opts, "opts = null");
        return syscalls.mmap(ctx, opts);
    }

    /**
     * Removes the mappings of {@code [addr, addr + length)} (spec §4.6). Unmapping what is not
     * mapped is not an error.
     *
     * @throws MemmapException EINVAL for an unaligned address, a zero length or an overflowing range
     */
    @Override
    public void munmap(Context ctx, long addr, long length) throws MemmapException {
        syscalls.munmap(ctx, addr, length);
    }

    /**
     * mremap (spec §4.7). Growing in place maps the extension as a new vma (the Mappable sees a
     * fresh AddMapping); moving calls CopyMapping, moves the cached translations, then
     * RemoveMapping of the old range; an old size of 0 copies the mapping (CopyMapping only).
     * An EAGER-locked mapping is populated afterwards, errors ignored (as gVisor does).
     *
     * @return the mapping's address afterwards
     * @throws MemmapException EINVAL, EFAULT, ENOMEM, EAGAIN as the spec gives them, or the
     *     Mappable's CopyMapping error (the destination may already have been unmapped then)
     */
    @Override
    public long mremap(Context ctx, long oldAddr, long oldSize, long newSize, MRemapMove move, long newAddr)
            throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(move, "move = null");
        return syscalls.mremap(ctx, oldAddr, oldSize, newSize, move, newAddr);
    }

    /**
     * Changes the permissions of {@code [addr, addr + length)} (spec §4.8). No Mappable is told;
     * {@code writable} and the maximum permissions never change.
     *
     * @throws MemmapException EINVAL (unaligned), ENOMEM (overflow, or a hole in the range, after
     *     changing what is mapped before it), EACCES (beyond a vma's maximum permissions; earlier
     *     vmas keep their new permissions)
     */
    @Override
    public void brkSetup(Context ctx, long addr) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        syscalls.brkSetup(ctx, addr);
    }

    @Override
    public long brk(Context ctx, long addr) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        return syscalls.brk(ctx, addr);
    }

    @Override
    public AddrRange heap() {
        mappingMu.readLock().lock();
        try {
            return brk;
        } finally {
            mappingMu.readLock().unlock();
        }
    }

    @Override
    public byte[] mincore(Context ctx, long addr, long length) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        return attributes.mincore(ctx, addr, length);
    }

    @Override
    public void mprotect(Context ctx, long addr, long length, AccessType perms) throws MemmapException {
        mprotect(ctx, addr, length, perms, false);
    }

    @Override
    public void mprotect(Context ctx, long addr, long length, AccessType perms, boolean growsDown) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(perms, "perms = null");
        attributes.mprotect(ctx, addr, length, perms, growsDown);
    }

    /**
     * Writes back the shared file mappings in {@code [addr, addr + length)} (spec §4.12).
     *
     * @throws MemmapException EINVAL (unaligned), ENOMEM (a hole, after the rest is done), EBUSY
     *     ({@code invalidate} on an mlocked mapping), or the identity's msync error
     */
    @Override
    public void msync(Context ctx, long addr, long length, boolean sync, boolean invalidate) throws MemmapException {
        syscalls.msync(ctx, addr, length, sync, invalidate);
    }

    /**
     * madvise (spec §4.14): DONTNEED drops every pma in the range, DONTFORK/DOFORK mark vmas.
     *
     * @throws MemmapException EINVAL (unaligned, DONTNEED on an mlocked mapping), ENOMEM (a
     *     hole, after the rest is done), ENOSYS (REMOVE), EPERM (HWPOISON)
     */
    @Override
    public void madvise(Context ctx, long addr, long length, MAdvice advice) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(advice, "advice = null");
        attributes.madvise(ctx, addr, length, advice);
    }

    /**
     * mlock/munlock (spec §4.13): sets {@code mode} on every vma piece of the page range around
     * {@code [addr, addr + length)}; EAGER also backs every page now.
     *
     * @throws MemmapException EPERM (RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK), ENOMEM (past the
     *     limit; a hole, after what comes before it; a page EAGER cannot reach), EAGAIN (EAGER
     *     without memory), or the Mappable's error populating
     */
    @Override
    public void mlock(Context ctx, long addr, long length, MLockMode mode) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(mode, "mode = null");
        attributes.mlock(ctx, addr, length, mode);
    }

    /** mlockall: {@code current} locks (and with EAGER backs) every vma now, {@code future} makes new mappings locked. */
    @Override
    public void mlockAll(Context ctx, boolean current, boolean future, MLockMode mode) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(mode, "mode = null");
        attributes.mlockAll(ctx, current, future, mode);
    }

    /** munlockall: unlocks every vma and stops locking new ones. */
    @Override
    public void munlockAll(Context ctx) throws MemmapException {
        attributes.mlockAll(ctx, true, true, MLockMode.NONE);
    }

    @Override
    public void setName(Context ctx, long addr, long length, String name) throws MemmapException {
        attributes.setName(ctx, addr, length, name);
    }

    @Override
    public long shmat(Context ctx, int id, long addr, int flags) throws MemmapException {
        return syscalls.shmat(ctx, id, addr, flags);
    }

    @Override
    public void shmdt(Context ctx, long addr) throws MemmapException {
        syscalls.shmdt(ctx, addr);
    }

    // ---------------------------------------------------------------- I/O (Io)

    /**
     * Copies {@code dst.byteSize()} bytes at {@code addr} into {@code dst} (gVisor's CopyIn).
     *
     * <p>The fast path takes no lock (a seqlock read): the TLB entry is looked up and copied
     * from at the pma version read first, and the copy counts only if that version still holds
     * after it; else (a pma changed meanwhile: munmap, mprotect, invalidation, a swap) the full
     * path copies again. So a read returns what the memory held at one instant, and never
     * what it held after a change that completed before the read began. On a short result the
     * bytes of {@code dst} past the count are unspecified.
     */
    @Override
    public IoResult read(Context ctx, long addr, MemorySegment dst) {
        // Kept small enough for the JIT to inline into the caller's loop: an 8-byte load of
        // memory that cannot fault here, everything else in readSlow.
        long v = pmas.version();
        Tlb.Entry e = pmas.tlb.lookup(addr, 8, v);
        if (e != null && e.readable() && !e.mayFault() && dst.byteSize() == 8) {
            try {
                dst.set(Tlb.LONG, 0, e.segment().get(Tlb.LONG, addr - e.start()));
                VarHandle.loadLoadFence();
                if (pmas.version() == v) {
                    return IoResult.ok(8);
                }
            } catch (IllegalStateException closed) {
                // the memory file was released under this lock-free read: the full path says what is there now
            }
        }
        return readSlow(ctx, addr, dst);
    }

    /** {@link #read} of any size through the TLB (fault-tolerant), else the full path. */
    private IoResult readSlow(Context ctx, long addr, MemorySegment dst) {
        long v = pmas.version();
        Tlb.Entry e = pmas.tlb.lookup(addr, dst.byteSize(), v);
        if (e != null && e.readable() && Tlb.copy(e, addr, dst, false)) {
            VarHandle.loadLoadFence();
            if (pmas.version() == v) {
                return IoResult.ok(dst.byteSize());
            }
        }
        return io.read(ctx, addr, dst, false);
    }

    /** Copies {@code src} to {@code addr} (gVisor's CopyOut). */
    @Override
    public IoResult write(Context ctx, long addr, MemorySegment src) {
        return fastWrite(addr, src) ? IoResult.ok(src.byteSize()) : io.write(ctx, addr, src, false);
    }

    /** CopyIn with options (IgnorePermissions takes the full path). */
    @Override
    public IoResult read(Context ctx, long addr, MemorySegment dst, IoOpts opts) {
        java.util.Objects.requireNonNull(opts, "opts = null");
        return opts.ignorePermissions() ? io.read(ctx, addr, dst, true) : read(ctx, addr, dst);
    }

    /** CopyOut with options (IgnorePermissions takes the full path). */
    @Override
    public IoResult write(Context ctx, long addr, MemorySegment src, IoOpts opts) {
        java.util.Objects.requireNonNull(opts, "opts = null");
        return opts.ignorePermissions() ? io.write(ctx, addr, src, true) : write(ctx, addr, src);
    }

    /** gVisor's Pin, with the pinned memory's internal mappings as a view (see {@link Pins}). */
    @Override
    public PinnedView pin(Context ctx, long addr, long length, AccessType at, boolean ignorePermissions) throws MemmapException {
        return pins.pin(ctx, addr, length, at, ignorePermissions);
    }

    /**
     * The fast path of a write: without activeMu, announced to the TLB's shootdown (a write,
     * unlike a read, cannot be taken back, so no change to the pmas may begin during it; see
     * {@link Tlb}): kept apart from the full path so that it stays small enough for the JIT to
     * inline.
     */
    private boolean fastWrite(long addr, MemorySegment src) {
        Tlb tlb = pmas.tlb;
        int stripe = Tlb.stripe();
        if (!tlb.enterWrite(stripe)) {
            return false;
        }
        try {
            Tlb.Entry e = tlb.lookup(addr, src.byteSize(), pmas.version());
            return e != null && e.writable() && Tlb.copy(e, addr, src, true);
        } finally {
            tlb.exitWrite(stripe);
        }
    }

    /** Zeroes {@code length} bytes at {@code addr} (gVisor's ZeroOut). */
    @Override
    public IoResult zero(Context ctx, long addr, long length) {
        return io.zero(ctx, addr, length);
    }

    @Override
    public void fault(Context ctx, long addr, AccessType at) throws FaultException {
        io.fault(ctx, addr, at);
    }

    // ---------------------------------------------------------------- MappingSpace (PmaLayer)

    /**
     * Drops cached translations of {@code ar} (spec §4.9): every non-private pma, and private
     * ones too with {@code invalidatePrivate}; the next access translates again (or, for private
     * memory dropped, sees what the Mappable has now).
     */
    @Override
    public void invalidate(AddrRange ar, InvalidateOpts opts) {
        ar.checkPageAligned("ar");
        pmas.invalidate(ar, opts);
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * A copy of this address space (spec §4.11): every vma but DONTFORK ones; private pages are
     * shared copy-on-write; cached translations are not copied; invalidations that reach the
     * child while it is made are applied after.
     *
     * @throws MemmapException if a Mappable refuses the mapping; the child is then torn down
     */
    @Override
    public MemoryManager fork(Context ctx) throws MemmapException {
        return Lifecycle.fork(ctx, this);
    }

    /** Unmaps everything (the last user of the address space is gone). */
    @Override
    public void release(Context ctx) {
        Lifecycle.release(ctx, this);
    }

    // ---------------------------------------------------------------- procfs and accounting

    /** {@code /proc/[pid]/maps} in Linux's exact format (spec §4.17). */
    @Override
    public String maps(Context ctx) {
        return Procfs.maps(ctx, this);
    }

    @Override
    public String smaps(Context ctx) {
        return Procfs.smaps(ctx, this);
    }

    /** Dirty tracking of {@code range} ({@link SpaceTracker}). */
    @Override
    public memmap.api.DirtyTracker trackWrites(Context ctx, AddrRange range) {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(range, "range = null");
        range.checkNonEmpty("range").checkPageAligned("range");
        return SpaceTracker.start(this, range);
    }

    /** Bytes of memory backing this address space now (RSS). */
    @Override
    public long rss() {
        activeMu.lock();
        try {
            return pmas.rssLocked();
        } finally {
            activeMu.unlock();
        }
    }

    /** Bytes mapped (RLIMIT_AS's measure). */
    @Override
    public long id() {
        return serial;
    }

    @Override
    public long usageAS() {
        return readCounter(() -> vmas.usageAS);
    }

    /** Bytes of private, writable, not-growsDown mappings (RLIMIT_DATA's measure). */
    public long dataAS() {
        return readCounter(() -> vmas.dataAS);
    }

    /** Bytes of mlocked mappings. */
    public long lockedAS() {
        return readCounter(() -> vmas.lockedAS);
    }

    /** A vma-layer counter, read under mappingMu. */
    private long readCounter(java.util.function.LongSupplier counter) {
        mappingMu.readLock().lock();
        try {
            return counter.getAsLong();
        } finally {
            mappingMu.readLock().unlock();
        }
    }

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

    /**
     * Checks every invariant of both layers (for tests): vmas never overlap, adjacent mergeable
     * vmas are merged, the counters match; every pma lies inside one vma with no more than its
     * permissions, copy-on-write pmas are not writable, RSS matches, the fast path's entry is
     * one pma's.
     */
    public void checkInvariants() {
        mappingMu.readLock().lock();
        try {
            vmas.checkInvariants();
            activeMu.lock();
            try {
                pmas.checkInvariants();
            } finally {
                activeMu.unlock();
            }
        } finally {
            mappingMu.readLock().unlock();
        }
    }
}
