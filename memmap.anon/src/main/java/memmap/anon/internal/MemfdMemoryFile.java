package memmap.anon.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.MemoryUsage;
import memmap.api.Pages;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;
import memmap.posix.Posix;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * gVisor's {@code pgalloc.MemoryFile} over a real memfd (spec §5): one host file grown in
 * chunks, each chunk mapped into the JVM once, pages handed out in page-aligned ranges and
 * reference counted.
 *
 * <p>Page states: <b>used</b> (refs > 0), <b>free</b> (allocatable, reads as zero: either
 * never committed, punched, or zeroed in place and <b>retained</b> committed for cheap reuse),
 * <b>void</b> (beyond the file). {@link #unfree} holds used and void ranges (value: refs and
 * memory cgroup; void has refs 0) with gap tracking, so its gaps are exactly the free
 * ranges and first/last-fit allocation is O(log n). {@link #retained} holds the free ranges
 * kept committed and zeroed.
 *
 * <p>Freeing: a range whose last reference goes is zeroed in place and retained while the
 * retained total stays within its limit (zeroing 2 MiB costs a fifth of punching a hole and
 * faulting it back); otherwise its blocks go back to the host with
 * {@code fallocate(PUNCH_HOLE)}. Either way the range is free and reads as zero.
 *
 * <p>Lifetime: {@link #release()} (the component went away) marks the file for closing; it
 * keeps serving the users it has (a live anonymous mapping still allocates the pages it
 * touches for the first time) and closes once it has no {@linkplain #addUser() user} and no
 * page has a reference. Allocating from a closed file is a bug.
 *
 * <p>Lock order: {@link #mu} is a leaf lock (MemmapFile locks rank lowest); zeroing and hole
 * punching happen under it so a range is never handed out half-cleaned.
 */
@Component(service = MemoryFile.class, configurationPid = MemfdMemoryFile.PID, immediate = true)
@Designate(ocd = MemfdMemoryFile.Config.class)
public final class MemfdMemoryFile implements MemoryFile {
    /** The Config Admin PID of the memory file's settings. */
    public static final String PID = "memmap.anon.memoryfile";

    /**
     * The memory file's settings. Changing any of them starts a new memory file (DS
     * re-activates the component); the old one is released and lives on until its last
     * page is freed, so live mappings never lose a byte.
     */
    @ObjectClassDefinition(name = "memmap memory file",
            description = "The memfd that anonymous memory, copy-on-write copies and shared memory come from.")
    public @interface Config {
        @AttributeDefinition(name = "Chunk size", description = "Bytes the memfd grows by; a multiple of 2 MiB.")
        long chunkSize() default 1L << 30;

        @AttributeDefinition(name = "Memory limit", description = "Most bytes allocated at once; past it allocation fails with ENOMEM.")
        long memoryLimit() default 16L << 30;

        @AttributeDefinition(name = "Retained limit",
                description = "Most freed bytes kept committed and zeroed for fast reuse; the rest goes back to the host at once.")
        long retainedLimit() default 64L << 20;

        @AttributeDefinition(name = "Huge pages",
                description = "Advise huge pages on the memory file (effective where the host enables them for shared memory).")
        boolean hugePages() default false;
    }

    /** Value of an {@link #unfree} segment: page references and the cgroup charged. */
    record Refs(long refs, int memCgId) {}

    private static final Refs VOID = new Refs(0, 0);
    private static final long P = Pages.PAGE_SIZE;

    private final ReentrantLock mu = new ReentrantLock();
    private final int fd;
    private final long chunkSize;
    private final Arena arena = Arena.ofShared();
    private final FileChannel channel;
    /** Chunk mappings; replaced (never mutated) when the file grows, so readers need no lock. */
    private volatile MemorySegment[] chunks = new MemorySegment[0];
    private final SegmentSet<Refs> unfree = new SegmentSet<>(0, -1L, SegmentFunctions.mergeEqual(), true);
    private final SegmentSet<Boolean> retained = new SegmentSet<>(0, -1L, SegmentFunctions.mergeEqual(), false);
    private final Map<Integer, long[]> allocatedByCgroup = new HashMap<>();
    private final boolean hugePagesAdvised;
    private final String name;
    private long fileSize;
    private long allocated;
    private long retainedBytes;
    private volatile long memoryLimit;
    private volatile long retainedLimit;
    private boolean released;
    private boolean closed;
    private long users;

    /**
     * A new, empty memory file.
     *
     * @param name the memfd's name (shown in /proc/[pid]/fd as {@code /memfd:NAME})
     * @param chunkSize bytes the file grows by, a non-zero multiple of the huge-page size
     * @param memoryLimit most bytes allocated at once
     * @param retainedLimit most freed bytes kept committed and zeroed for reuse
     * @param hugePages whether to advise huge pages on the chunk mappings (effective where the
     *     host enables transparent huge pages for shared memory)
     * @throws MemmapException if neither memfd_create nor a file under /dev/shm works
     */
    public MemfdMemoryFile(String name, long chunkSize, long memoryLimit, long retainedLimit, boolean hugePages)
            throws MemmapException {
        if (chunkSize <= 0 || !Pages.isHugePageAligned(chunkSize)) {
            throw new IllegalArgumentException("chunkSize = " + Pages.hex(chunkSize) + " must be a positive multiple of 2 MiB");
        }
        if (memoryLimit <= 0) {
            throw new IllegalArgumentException("memoryLimit = " + memoryLimit + " must be positive");
        }
        if (retainedLimit < 0) {
            throw new IllegalArgumentException("retainedLimit = " + retainedLimit + " must not be negative");
        }
        this.name = name;
        this.chunkSize = chunkSize;
        this.memoryLimit = memoryLimit;
        this.retainedLimit = retainedLimit;
        this.hugePagesAdvised = hugePages;
        this.fd = openBackingFile(name);
        try {
            this.channel = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            closeQuietly(fd);
            throw new MemmapException(Errno.EIO.withDetail("cannot open the memory file through /proc/self/fd: " + e.getMessage()), e);
        }
        unfree.add(0, -1L, VOID);
    }

    /** A memory file named {@code memmap} with {@code config}'s settings (plain-Java and ServiceLoader use). */
    public MemfdMemoryFile(Config config) throws MemmapException {
        this("memmap", config.chunkSize(), config.memoryLimit(), config.retainedLimit(), config.hugePages());
    }

    /**
     * The DS constructor: a memory file named {@code memmap}, the configuration checked property
     * by property; a bad value is rejected with one logged line naming the PID, the property and
     * the value, and the default serves in its place.
     */
    @Activate
    public MemfdMemoryFile(Map<String, Object> properties) throws MemmapException {
        this(MemoryFileSettings.checked(properties));
    }

    private MemfdMemoryFile(MemoryFileSettings.Checked c) throws MemmapException {
        this("memmap", c.chunkSize(), c.memoryLimit(), c.retainedLimit(), c.hugePages());
        rejectedAtStart = c.rejected();
    }

    /** What the configuration had rejected, logged once activated (with the log service bound). */
    private java.util.List<String> rejectedAtStart = java.util.List.of();

    @Activate
    void activated() {
        Logging.MEMORY_FILE.configured("memory file " + name, "activated", rejectedAtStart, () -> "chunkSize=" + chunkSize
                + " memoryLimit=" + memoryLimit + " retainedLimit=" + retainedLimit + " hugePages=" + hugePagesAdvised);
    }

    /** The log service, bound to every log of this bundle ({@link Logging}). */
    @org.osgi.service.component.annotations.Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
            policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC,
            policyOption = org.osgi.service.component.annotations.ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.unuse(this, f);
    }

    /** memfd_create, or an unlinked file under /dev/shm where memfd is unavailable. */
    private static int openBackingFile(String name) throws MemmapException {
        try {
            return Posix.memfdCreate(name, Posix.MFD_CLOEXEC);
        } catch (MemmapException | UnsupportedOperationException e) {
            String path = "/dev/shm/memmap-" + name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
            int f = Posix.open(path, Posix.O_RDWR | Posix.O_CREAT | Posix.O_EXCL | Posix.O_CLOEXEC, 0600);
            Posix.unlink(path);
            return f;
        }
    }

    private static void closeQuietly(int fd) {
        try {
            Posix.close(fd);
        } catch (MemmapException ignored) {
            // Nothing more can be done about a descriptor that does not close.
        }
    }

    // ---------------------------------------------------------------- allocation

    @Override
    public FileRange allocate(long length, AllocOpts opts) throws MemmapException {
        if (length == 0 || !Pages.isPageAligned(length)) {
            throw new IllegalArgumentException("length = " + Pages.hex(length) + " must be a non-zero multiple of the page size");
        }
        if (length < 0) { // unsigned: 2^63 or more, more than any memory file holds
            throw Errno.ENOMEM.exception("allocating " + Long.toUnsignedString(length) + " bytes would pass the memory limit of "
                    + memoryLimit + " bytes");
        }
        if (opts.huge() && !Pages.isHugePageAligned(length)) {
            throw new IllegalArgumentException("length = " + Pages.hex(length) + " must be a multiple of 2 MiB for a huge allocation");
        }
        FileRange fr;
        mu.lock();
        try {
            if (closed) {
                throw new IllegalStateException("memory file " + name + " is closed");
            }
            if (allocated + length > memoryLimit || allocated + length < 0) {
                throw Errno.ENOMEM.exception("allocating " + length + " bytes would pass the memory limit of " + memoryLimit
                        + " bytes (" + allocated + " allocated)");
            }
            long align = opts.huge() ? Pages.HUGE_PAGE_SIZE : P;
            long start = findFree(length, align, opts.direction());
            if (start < 0) {
                grow(length, align);
                start = findFree(length, align, opts.direction());
            }
            fr = new FileRange(start, start + length);
            unfree.add(fr.start(), fr.end(), new Refs(1, opts.memCgId()));
            long reused = retained.spanRange(fr.start(), fr.end());
            if (reused != 0) {
                retained.removeRange(fr.start(), fr.end());
                retainedBytes -= reused;
            }
            allocated += length;
            allocatedByCgroup.computeIfAbsent(opts.memCgId(), k -> new long[1])[0] += length;
        } finally {
            mu.unlock();
        }
        try {
            commit(fr, opts.mode());
        } catch (MemmapException e) {
            decRef(fr);
            throw e;
        }
        return fr;
    }

    /** The start of a free, {@code align}-aligned range of {@code length} bytes, or -1. Requires {@link #mu}. */
    private long findFree(long length, long align, AllocOpts.Direction dir) {
        if (dir == AllocOpts.Direction.BOTTOM_UP) {
            for (Gap<Refs> g = unfree.firstLargeEnoughGap(length); g != null; g = g.nextLargeEnoughGap(length)) {
                long s = (g.start() + align - 1) & -align;
                if (s + length <= g.end() && s >= g.start()) {
                    return s;
                }
            }
        } else {
            for (Gap<Refs> g = unfree.lastLargeEnoughGap(length); g != null; g = g.prevLargeEnoughGap(length)) {
                long s = (g.end() - length) & -align;
                if (s >= g.start()) {
                    return s;
                }
            }
        }
        return -1;
    }

    /** Grows the file by enough chunks for {@code length} more {@code align}-aligned bytes (reusing a free tail). Requires {@link #mu}. */
    private void grow(long length, long align) throws MemmapException {
        Gap<Refs> tail = unfree.findGap(fileSize == 0 ? 0 : fileSize - 1);
        long freeTail = tail != null && tail.end() == fileSize ? fileSize - tail.start() : 0;
        long need = length + (align > P ? align : 0) - freeTail; // room to align a huge allocation
        long newChunks = (need + chunkSize - 1) / chunkSize;
        long newSize = fileSize + newChunks * chunkSize;
        Posix.ftruncate(fd, newSize);
        MemorySegment[] grown = java.util.Arrays.copyOf(chunks, (int) (newSize / chunkSize));
        for (int c = chunks.length; c < grown.length; c++) {
            try {
                grown[c] = channel.map(FileChannel.MapMode.READ_WRITE, (long) c * chunkSize, chunkSize, arena);
            } catch (IOException e) {
                throw new MemmapException(Errno.ENOMEM.withDetail("cannot map chunk " + c + " of the memory file: " + e.getMessage()), e);
            }
            if (hugePagesAdvised) {
                try {
                    Posix.madvise(grown[c], chunkSize, Posix.MADV_HUGEPAGE);
                } catch (MemmapException ignored) {
                    // The host does not do huge pages for shared memory: small pages it is.
                }
            }
        }
        chunks = grown;
        unfree.removeRange(fileSize, newSize);
        fileSize = newSize;
    }

    private void commit(FileRange fr, AllocationMode mode) throws MemmapException {
        switch (mode) {
            case UNCOMMITTED, CALLER_INDIRECT_COMMIT -> { }
            case COMMIT -> Posix.fallocate(fd, 0, fr.start(), fr.length());
            case WRITE_POPULATE -> {
                for (Block b : mapped(fr).toList()) {
                    try {
                        Posix.madvise(b.segment(), b.length(), Posix.MADV_POPULATE_WRITE);
                    } catch (MemmapException e) {
                        if (!e.errno().equals(Errno.EINVAL)) {
                            throw Errno.ENOMEM.exception("cannot commit " + fr + ": " + e.getMessage());
                        }
                        // Kernels before 5.14 lack MADV_POPULATE_WRITE: touch every page instead.
                        for (long off = 0; off < b.length(); off += P) {
                            b.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, off, (byte) 0);
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- reference counting

    @Override
    public void incRef(FileRange fr, int memCgId) {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            requireReferenced(fr); // proves there is no hole, so mutateRange needs no second check
            unfree.mutateRange(fr.start(), fr.end(), seg -> {
                Refs r = seg.value();
                seg.setValue(new Refs(r.refs() + 1, r.memCgId()));
                return true;
            });
        } finally {
            mu.unlock();
        }
    }

    @Override
    public void decRef(FileRange fr) {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            requireReferenced(fr); // proves there is no hole, so mutateRange needs no second check
            java.util.List<FileRange> freed = new java.util.ArrayList<>(1);
            java.util.List<Integer> freedCgroups = new java.util.ArrayList<>(1);
            unfree.mutateRange(fr.start(), fr.end(), seg -> {
                Refs r = seg.value();
                if (r.refs() == 1) {
                    freed.add(new FileRange(seg.start(), seg.end()));
                    freedCgroups.add(r.memCgId());
                }
                seg.setValue(new Refs(r.refs() - 1, r.memCgId()));
                return true;
            });
            for (int i = 0; i < freed.size(); i++) {
                free(freed.get(i), freedCgroups.get(i));
            }
            maybeClose();
        } finally {
            mu.unlock();
        }
    }

    /** Throws {@link IllegalStateException} unless every page of {@code fr} has a reference. Requires {@link #mu}. */
    private void requireReferenced(FileRange fr) {
        long pos = fr.start();
        Segment<Refs> seg = unfree.findSegment(pos);
        while (Long.compareUnsigned(pos, fr.end()) < 0) {
            if (seg == null || seg.start() > pos || seg.value().refs() == 0) {
                throw new IllegalStateException("page " + Pages.hex(pos) + " of " + fr + " in memory file " + name
                        + " has no reference");
            }
            pos = seg.end();
            seg = seg.nextSegment();
        }
    }

    /** Makes a range whose last reference went free again, zero and retained or punched. Requires {@link #mu}. */
    private void free(FileRange fr, int memCgId) {
        long len = fr.length();
        boolean keep = !released && retainedBytes + len <= retainedLimit;
        if (keep) {
            zero(fr);
        } else {
            punch(fr);
        }
        unfree.removeRange(fr.start(), fr.end());
        if (keep) {
            retained.add(fr.start(), fr.end(), Boolean.TRUE);
            retainedBytes += len;
        }
        allocated -= len;
        long[] cg = allocatedByCgroup.get(memCgId);
        cg[0] -= len;
        if (cg[0] == 0) {
            allocatedByCgroup.remove(memCgId);
        }
    }

    /** Zeroes {@code fr} through the chunk mappings. */
    private void zero(FileRange fr) {
        MemorySegment[] cs = chunks;
        for (long off = fr.start(); off < fr.end(); ) {
            int c = (int) (off / chunkSize);
            long inChunk = off - (long) c * chunkSize;
            long n = Math.min(fr.end() - off, chunkSize - inChunk);
            cs[c].asSlice(inChunk, n).fill((byte) 0);
            off += n;
        }
    }

    private void punch(FileRange fr) {
        try {
            Posix.fallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, fr.start(), fr.length());
        } catch (MemmapException e) {
            // No hole punching here: zero in place so the range still reads as zero.
            zero(fr);
        }
    }

    @Override
    public boolean hasUniqueRef(FileRange fr) {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            requireReferenced(fr);
            boolean[] unique = {true};
            unfree.visitRange(fr.start(), fr.end(), seg -> unique[0] &= seg.value().refs() == 1);
            return unique[0];
        } finally {
            mu.unlock();
        }
    }

    /**
     * The reference count of the page at {@code offset}: 0 if it is free (for reference-count
     * models in tests and diagnostics; not part of the MemoryFile service).
     */
    public long refCount(long offset) {
        mu.lock();
        try {
            Refs r = unfree.findValue(Pages.roundDown(offset));
            return r == null ? 0 : r.refs();
        } finally {
            mu.unlock();
        }
    }

    @Override
    public void decommit(FileRange fr) throws MemmapException {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            requireReferenced(fr);
            Posix.fallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, fr.start(), fr.length());
        } finally {
            mu.unlock();
        }
    }

    // ---------------------------------------------------------------- mapping

    @Override
    public BlockSeq mapInternal(FileRange fr, AccessType at) throws MemmapException {
        if (at.execute()) {
            throw Errno.EACCES.exception("the memory file cannot be mapped for execute");
        }
        return mapped(fr.checkNonEmpty("fr"));
    }

    /** Blocks over the chunk mappings for {@code fr}: one per chunk touched, none made per call. */
    private BlockSeq mapped(FileRange fr) {
        MemorySegment[] cs = chunks;
        long first = fr.start() / chunkSize;
        long last = (fr.end() - 1) / chunkSize;
        if (last >= cs.length || fr.end() < fr.start()) {
            throw new IllegalArgumentException("fr = " + fr + " lies beyond the memory file (size " + Pages.hex((long) cs.length * chunkSize) + ")");
        }
        if (first == last) {
            return BlockSeq.of(Block.ofSafe(cs[(int) first].asSlice(fr.start() - first * chunkSize, fr.length())));
        }
        Block[] blocks = new Block[(int) (last - first + 1)];
        for (long c = first; c <= last; c++) {
            long s = Math.max(fr.start(), c * chunkSize);
            long e = Math.min(fr.end(), (c + 1) * chunkSize);
            blocks[(int) (c - first)] = Block.ofSafe(cs[(int) c].asSlice(s - c * chunkSize, e - s));
        }
        return BlockSeq.of(blocks);
    }

    @Override
    public int dataFd(FileRange fr) {
        return fd;
    }

    @Override
    public int fd() {
        return fd;
    }

    // ---------------------------------------------------------------- usage and lifetime

    /** What the memfd holds data for in {@code fr} (SEEK_DATA / SEEK_HOLE). */
    @Override
    public java.util.List<FileRange> committed(FileRange fr) {
        fr.checkPageAligned("fr");
        try {
            return Posix.dataExtents(fd, fr.start(), fr.end()).stream().map(x -> new FileRange(x[0], x[1])).toList();
        } catch (MemmapException e) {
            return java.util.List.of(fr); // the host cannot say: all of it, which is always correct
        }
    }

    @Override
    public java.util.List<Charge> charges(FileRange fr) {
        fr.checkPageAligned("fr");
        java.util.List<Charge> out = new java.util.ArrayList<>();
        mu.lock();
        try {
            for (memmap.api.segment.Segment<Refs> seg = unfree.lowerBoundSegment(fr.start());
                    seg != null && Long.compareUnsigned(seg.start(), fr.end()) < 0; seg = seg.nextSegment()) {
                if (seg.value().refs() <= 0) {
                    continue;
                }
                long s = Long.compareUnsigned(seg.start(), fr.start()) > 0 ? seg.start() : fr.start();
                long e = Long.compareUnsigned(seg.end(), fr.end()) < 0 ? seg.end() : fr.end();
                int cg = seg.value().memCgId();
                if (!out.isEmpty() && out.getLast().range().end() == s && out.getLast().memCgId() == cg) {
                    out.set(out.size() - 1, new Charge(new FileRange(out.getLast().range().start(), e), cg));
                } else {
                    out.add(new Charge(new FileRange(s, e), cg));
                }
            }
        } finally {
            mu.unlock();
        }
        return out;
    }

    @Override
    public long limit() {
        return memoryLimit;
    }

    @Override
    public MemoryUsage usage() {
        mu.lock();
        try {
            long committed = closed ? 0 : Posix.fstat(fd).allocatedBytes();
            Map<Integer, MemoryUsage.Cgroup> byCg = new HashMap<>();
            for (Map.Entry<Integer, long[]> e : allocatedByCgroup.entrySet()) {
                byCg.put(e.getKey(), new MemoryUsage.Cgroup(e.getValue()[0], residentBytes(e.getKey())));
            }
            return new MemoryUsage(allocated, committed, retainedBytes, fileSize, byCg);
        } catch (MemmapException e) {
            throw new IllegalStateException("fstat of the memory file failed: " + e.getMessage(), e);
        } finally {
            mu.unlock();
        }
    }

    /** Resident bytes of the pages used by cgroup {@code memCgId} (mincore). Requires {@link #mu}. */
    private long residentBytes(int memCgId) throws MemmapException {
        long resident = 0;
        for (Segment<Refs> s = unfree.firstSegment(); s != null; s = s.nextSegment()) {
            if (s.value().refs() > 0 && s.value().memCgId() == memCgId) {
                for (Block b : mapped(new FileRange(s.start(), s.end())).toList()) {
                    resident += Posix.residentPages(b.segment(), b.length(), P) * P;
                }
            }
        }
        return resident;
    }

    @Override
    public void releaseRetained() {
        mu.lock();
        try {
            for (Segment<Boolean> s = retained.firstSegment(); s != null; s = s.nextSegment()) {
                punch(new FileRange(s.start(), s.end()));
            }
            retained.removeAll();
            retainedBytes = 0;
        } finally {
            mu.unlock();
        }
    }

    /** The memory limit in force. */
    long memoryLimit() {
        return memoryLimit;
    }

    /** Changes the limits live; a lower memory limit applies to later allocations only. */
    public void setLimits(long memoryLimit, long retainedLimit) {
        if (memoryLimit <= 0 || retainedLimit < 0) {
            throw new IllegalArgumentException("memoryLimit = " + memoryLimit + ", retainedLimit = " + retainedLimit
                    + ": the memory limit must be positive and the retained limit not negative");
        }
        this.memoryLimit = memoryLimit;
        this.retainedLimit = retainedLimit;
    }

    /**
     * Registers a user that may allocate later (e.g. a live anonymous mapping), keeping a
     * released file open until {@link #removeUser()}.
     */
    public void addUser() {
        mu.lock();
        try {
            if (closed) {
                throw new IllegalStateException("memory file " + name + " is closed");
            }
            users++;
        } finally {
            mu.unlock();
        }
    }

    /** Drops a user registered with {@link #addUser()}. */
    public void removeUser() {
        mu.lock();
        try {
            if (users == 0) {
                throw new IllegalStateException("removeUser without a user on memory file " + name);
            }
            users--;
            maybeClose();
        } finally {
            mu.unlock();
        }
    }

    /**
     * Marks the file for closing: it is closed as soon as it has no user and no page is
     * referenced (at once if so already). Until then it serves its users as before.
     */
    @Deactivate
    public void release() {
        mu.lock();
        try {
            released = true;
            maybeClose();
        } finally {
            mu.unlock();
        }
    }

    /** True once the file has been released and every page freed, so nothing of it remains. */
    public boolean isClosed() {
        mu.lock();
        try {
            return closed;
        } finally {
            mu.unlock();
        }
    }

    /** Requires {@link #mu}. */
    private void maybeClose() {
        if (!released || closed || allocated != 0 || users != 0) {
            return;
        }
        closed = true;
        chunks = new MemorySegment[0];
        arena.close();
        try {
            channel.close();
        } catch (IOException ignored) {
            // The descriptor is closed below either way.
        }
        closeQuietly(fd);
    }

    /** The memory file's name. */
    public String name() {
        return name;
    }

    /** The chunk size. */
    public long chunkSize() {
        return chunkSize;
    }

    /** Checks the bookkeeping: segment-set invariants and that the allocated count matches the used pages. For tests. */
    public void checkInvariants() {
        mu.lock();
        try {
            unfree.checkInvariants();
            long used = 0;
            for (Segment<Refs> s = unfree.firstSegment(); s != null; s = s.nextSegment()) {
                if (s.value().refs() > 0) {
                    used += s.length();
                } else if (Long.compareUnsigned(s.start(), fileSize) < 0) {
                    throw new IllegalStateException("unreferenced unfree range inside the file at " + Pages.hex(s.start()));
                }
                if (retained.spanRange(s.start(), s.end()) != 0) {
                    throw new IllegalStateException("a used range is marked retained at " + Pages.hex(s.start()));
                }
            }
            if (used != allocated) {
                throw new IllegalStateException("allocated = " + allocated + " but used pages = " + used);
            }
            if (retained.span() != retainedBytes) {
                throw new IllegalStateException("retainedBytes = " + retainedBytes + " but retained span = " + retained.span());
            }
        } finally {
            mu.unlock();
        }
    }

    @Override
    public String toString() {
        return "MemoryFile[" + name + ", fd " + fd + "]";
    }
}
