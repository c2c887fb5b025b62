package memmap.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import memmap.api.AccessType;
import memmap.api.BufferedIOFallback;
import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.Pages;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * A file descriptor as a {@link MemmapFile} (gVisor's {@code fsutil.MmapCachedFile}, spec
 * §6.2–6.3), shared by the providers whose memory is a host file (host files, POSIX shared
 * memory):
 * the descriptor, and mappings of it made lazily in 2 MiB chunks, cached, and reference
 * counted per chunk.
 *
 * <p>Each chunk mapping lives in its own shared {@link Arena}, closed (after the JVM's
 * handshake, so no thread is inside it) when the chunk's last reference goes: an access
 * racing with that close gets an exception, never a crash. Blocks are marked
 * {@code needSafecopy}: the file can be truncated behind our back, and a copy touching a page
 * past the new end ends with a {@link memmap.api.HostFault} instead of killing the JVM.
 *
 * <p>Files that cannot be mapped (pipes, character devices, procfs files, or files the
 * provider's settings exclude) signal {@link BufferedIOFallback} from {@link #mapInternal};
 * {@link #bufferReadAt}/{@link #bufferWriteAt} then use {@code pread}/{@code pwrite} (plain
 * {@code read}/{@code write} where the file has no position).
 *
 * <p>Lifetime: the descriptor is closed once the owning Mappable is released and no chunk
 * has a reference left. Lock: {@link #mu} is a leaf lock.
 */
public final class MappedFd implements MemmapFile {
    /** The chunk size of the cached mappings. */
    public static final long CHUNK = Pages.HUGE_PAGE_SIZE;

    private final ReentrantLock mu = new ReentrantLock();
    private final int fd;
    private final boolean writable;
    private final boolean mappable;
    private final boolean seekable;
    private final String path;
    /** Chunk start → {references, mapping}. */
    private final Map<Long, Chunk> chunks = new HashMap<>();
    private boolean released;
    private boolean closed;

    private static final class Chunk {
        long refs;
        Arena arena;
        MemorySegment mapping;
    }

    /**
     * @param fd the open descriptor (owned from now on)
     * @param writable whether it was opened for writing
     * @param mappable whether mmap may be used (else everything goes through the fallback)
     * @param seekable whether positional I/O works (false for pipes)
     * @param path for messages
     */
    public MappedFd(int fd, boolean writable, boolean mappable, boolean seekable, String path) {
        this.fd = fd;
        this.writable = writable;
        this.mappable = mappable;
        this.seekable = seekable;
        this.path = path;
    }

    /** Whether the descriptor is open for writing. */
    public boolean isWritable() {
        return writable;
    }

    /** Whether mmap is used (else mapInternal signals the fallback). */
    public boolean isMappable() {
        return mappable;
    }

    // ---------------------------------------------------------------- reference counting

    @Override
    public void incRef(FileRange fr, int memCgId) {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            forEachChunk(fr, (c, pages) -> chunks.computeIfAbsent(c, k -> new Chunk()).refs += pages);
        } finally {
            mu.unlock();
        }
    }

    @Override
    public void decRef(FileRange fr) {
        fr.checkPageAligned("fr");
        mu.lock();
        try {
            forEachChunk(fr, (c, pages) -> {
                Chunk ch = chunks.get(c);
                if (ch == null || ch.refs < pages) {
                    throw new IllegalStateException("decRef of " + fr + " on " + path + ": chunk " + Pages.hex(c)
                            + " has only " + (ch == null ? 0 : ch.refs) + " page references");
                }
            });
            forEachChunk(fr, (c, pages) -> {
                Chunk ch = chunks.get(c);
                ch.refs -= pages;
                if (ch.refs == 0) {
                    chunks.remove(c);
                    if (ch.arena != null) {
                        ch.arena.close();
                    }
                }
            });
            maybeClose();
        } finally {
            mu.unlock();
        }
    }

    private interface ChunkVisitor {
        void visit(long chunkStart, long pages);
    }

    /** Calls {@code v} with each chunk {@code fr} touches and the number of its pages in {@code fr}. */
    private static void forEachChunk(FileRange fr, ChunkVisitor v) {
        for (long c = fr.start() & -CHUNK; Long.compareUnsigned(c, fr.end()) < 0 && c >= 0; c += CHUNK) {
            long s = Math.max(c, fr.start());
            long e = Math.min(c + CHUNK, fr.end());
            v.visit(c, (e - s) / Pages.PAGE_SIZE);
            if (c + CHUNK < c) {
                break;
            }
        }
    }

    // ---------------------------------------------------------------- mapping

    @Override
    public BlockSeq mapInternal(FileRange fr, AccessType at) throws MemmapException {
        fr.checkNonEmpty("fr");
        if (!mappable) {
            throw new MemmapException(BufferedIOFallback.INSTANCE);
        }
        if (at.write() && !writable) {
            throw Errno.EACCES.exception(path + " is open read-only");
        }
        mu.lock();
        try {
            if (closed) {
                throw Errno.EBADF.exception(path + " is closed");
            }
            long first = fr.start() & -CHUNK;
            long last = (fr.end() - 1) & -CHUNK;
            Block[] blocks = new Block[(int) ((last - first) / CHUNK + 1)];
            for (long c = first; c <= last; c += CHUNK) {
                MemorySegment m = chunkMapping(c);
                long s = Math.max(c, fr.start());
                long e = Math.min(c + CHUNK, fr.end());
                MemorySegment slice = m.asSlice(s - c, e - s);
                // Without write access asked for, hand out read-only segments even on a
                // read-write descriptor: a private mapping's reader cannot write the file.
                blocks[(int) ((c - first) / CHUNK)] = Block.ofUnsafe(at.write() ? slice : slice.asReadOnly());
            }
            return BlockSeq.of(blocks);
        } finally {
            mu.unlock();
        }
    }

    /** The cached mapping of the chunk at {@code c}, made on first use. Requires {@link #mu}. */
    private MemorySegment chunkMapping(long c) throws MemmapException {
        Chunk ch = chunks.computeIfAbsent(c, k -> new Chunk());
        if (ch.mapping == null) {
            int prot = Posix.PROT_READ | (writable ? Posix.PROT_WRITE : 0);
            MemorySegment raw;
            try {
                raw = Posix.mmap(CHUNK, prot, Posix.MAP_SHARED, fd, c);
            } catch (MemmapException e) {
                if (ch.refs == 0) {
                    chunks.remove(c);
                }
                throw e;
            }
            Arena arena = Arena.ofShared();
            ch.arena = arena;
            ch.mapping = raw.reinterpret(CHUNK, arena, seg -> {
                try {
                    Posix.munmap(seg, CHUNK);
                } catch (MemmapException ignored) {
                    // Unmapping a mapping we made cannot fail short of a kernel bug; nothing to do.
                }
            });
        }
        return ch.mapping;
    }

    /**
     * Forces the mapped, written pages of {@code fr} to storage, and no other page: msync of
     * the chunk mappings over exactly {@code fr} (Linux's msync: vfs_fsync_range; a chunk not
     * mapped now is mapped for the call), or fdatasync for a file that cannot be mapped. Writing back a
     * page outside the range would be visible: the kernel zeroes the part of the last page past
     * the end of the file whenever it writes that page back.
     */
    public void sync(FileRange fr) throws MemmapException {
        mu.lock();
        try {
            if (closed) {
                return;
            }
            if (!mappable) {
                Posix.fdatasync(fd); // written through buffered I/O: there is nothing to msync
                return;
            }
            // msync(MS_SYNC) of a mapping is the kernel's vfs_fsync_range over exactly that file
            // range (data, and the metadata needed to read it back), as a C program's msync: no
            // page outside the range is written back. A chunk whose mapping is gone (its pages
            // dropped after they were written) is mapped for the call.
            for (long c = fr.start() & -CHUNK; Long.compareUnsigned(c, fr.end()) < 0; c += CHUNK) {
                long s = Math.max(c, fr.start() & -Pages.PAGE_SIZE);
                long e = Math.min(c + CHUNK, fr.end());
                Chunk ch = chunks.get(c);
                if (ch != null && ch.mapping != null) {
                    Posix.msync(ch.mapping.asSlice(s - c), e - s, Posix.MS_SYNC);
                } else {
                    MemorySegment m = Posix.mmap(e - s, Posix.PROT_READ, Posix.MAP_SHARED, fd, s);
                    try {
                        Posix.msync(m, e - s, Posix.MS_SYNC);
                    } finally {
                        Posix.munmap(m, e - s);
                    }
                }
            }
        } finally {
            mu.unlock();
        }
    }

    @Override
    public int dataFd(FileRange fr) {
        return fd;
    }

    @Override
    public int fd() {
        return fd;
    }

    // ---------------------------------------------------------------- buffered I/O

    @Override
    public IoResult bufferReadAt(long off, MemorySegment dst) {
        return transfer(off, dst, false);
    }

    @Override
    public IoResult bufferWriteAt(long off, MemorySegment src) {
        if (!writable) {
            return new IoResult(0, Errno.EACCES.withDetail(path + " is open read-only"));
        }
        return transfer(off, src, true);
    }

    /**
     * Loops {@code pread}/{@code pwrite} (or read/write on pipes) until {@code buf} is done,
     * a read hits end of file ({@link EndOfFile}), or an error; never short without an error.
     * Heap memory is bounced through a native buffer.
     */
    private IoResult transfer(long off, MemorySegment buf, boolean write) {
        if (off < 0) {
            return new IoResult(0, Errno.EINVAL.withDetail("offset = " + Pages.hex(off) + " is negative as a file offset"));
        }
        long len = buf.byteSize();
        if (!Pages.addFits(off, len) || off + len < 0) {
            return new IoResult(0, Errno.EINVAL.withDetail("offset = " + Pages.hex(off) + " + " + len + " overflows the file offset range"));
        }
        try (Arena bounce = buf.isNative() ? null : Arena.ofConfined()) {
            MemorySegment nbuf = buf;
            if (!buf.isNative()) {
                nbuf = bounce.allocate(len, Pages.PAGE_SIZE);
                if (write) {
                    nbuf.copyFrom(buf);
                }
            }
            long done = 0;
            while (done < len) {
                MemorySegment rest = nbuf.asSlice(done);
                long n;
                try {
                    if (write) {
                        n = seekable ? Posix.pwrite(fd, rest, len - done, off + done) : Posix.write(fd, rest, len - done);
                    } else {
                        n = seekable ? Posix.pread(fd, rest, len - done, off + done) : Posix.read(fd, rest, len - done);
                    }
                } catch (MemmapException e) {
                    if (e.errno().equals(Errno.EINTR)) {
                        continue;
                    }
                    return finish(buf, nbuf, done, write, e.error());
                }
                if (n == 0) {
                    return finish(buf, nbuf, done, write, write ? Errno.EIO.withDetail("write made no progress") : EndOfFile.INSTANCE);
                }
                done += n;
            }
            return finish(buf, nbuf, done, write, null);
        }
    }

    private static IoResult finish(MemorySegment buf, MemorySegment nbuf, long done, boolean write, memmap.api.MemmapError err) {
        if (!write && nbuf != buf && done > 0) {
            MemorySegment.copy(nbuf, 0, buf, 0, done);
        }
        return new IoResult(done, err);
    }

    // ---------------------------------------------------------------- lifetime

    /** The owning Mappable is gone: close once no chunk is referenced. */
    public void release() {
        mu.lock();
        try {
            released = true;
            maybeClose();
        } finally {
            mu.unlock();
        }
    }

    /** True once the descriptor has been closed. */
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
        if (!released || closed) {
            return;
        }
        for (Chunk ch : chunks.values()) {
            if (ch.refs > 0) {
                return;
            }
        }
        closed = true;
        for (Chunk ch : chunks.values()) {
            if (ch.arena != null) {
                ch.arena.close();
            }
        }
        chunks.clear();
        try {
            Posix.close(fd);
        } catch (MemmapException ignored) {
            // The descriptor is gone either way.
        }
    }

    @Override
    public String toString() {
        return "MappedFd[" + path + ", fd " + fd + "]";
    }
}
