package memmap.mm.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import java.lang.foreign.MemorySegment;

import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.FileRange;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.safemem.BlockSeq;
import memmap.api.checkpoint.ImageException;

/**
 * Where a restore keeps the pages it read, before the address spaces exist: this runtime's
 * memory file, one allocation per page record, found by frame space and the offset the page had
 * in the checkpointing runtime. A later image of a chain overwrites a page in place. The store
 * holds one reference on each allocation; {@link #free} drops them (the pmas a restore made hold
 * their own, and so do a lazy restore's pending runs). Offsets are file offsets (below 2^63): signed comparisons are safe here.
 *
 * <p>Thread-safe (its monitor) for lookups; allocation happens in the one reading thread.
 */
final class FrameStore {
    /** A run of pages of a frame space kept at {@code target}. */
    record Alloc(long start, long end, long target, int memCgId) {}

    /** A part of a looked-up range: {@code [src, src + length)} of the frame space is at {@code target}; {@code fresh} if just allocated (reads zero). */
    record Piece(long src, long target, long length, boolean fresh) {}

    private final MemoryFile memoryFile;
    private final Map<Long, TreeMap<Long, Alloc>> spaces = new HashMap<>();

    /** Commit and map each allocation at once (see {@link #FrameStore(MemoryFile, boolean)}). */
    private final boolean populate;

    FrameStore(MemoryFile memoryFile) {
        this(memoryFile, false);
    }

    /**
     * @param populate commit and map each allocation at once ({@code MADV_POPULATE_WRITE}: one
     *     call instead of a page fault per page), for a restore that fills what it allocates
     *     before it returns; a lazy restore allocates everything before it returns and fills
     *     later, so it does not
     */
    FrameStore(MemoryFile memoryFile, boolean populate) {
        this.memoryFile = memoryFile;
        this.populate = populate;
    }

    MemoryFile memoryFile() {
        return memoryFile;
    }

    /** Room for {@code [off, end)} of {@code space}: existing pages where kept, new allocations charged to {@code memCgId} for the rest. */
    synchronized List<Piece> slots(long space, long off, long end, int memCgId) throws MemmapException {
        TreeMap<Long, Alloc> m = spaces.computeIfAbsent(space, k -> new TreeMap<>());
        List<Piece> out = new ArrayList<>();
        long pos = off;
        while (pos < end) {
            Map.Entry<Long, Alloc> f = m.floorEntry(pos);
            if (f != null && f.getValue().end() > pos) {
                Alloc a = f.getValue();
                long upTo = Math.min(a.end(), end);
                out.add(new Piece(pos, a.target() + (pos - a.start()), upTo - pos, false));
                pos = upTo;
                continue;
            }
            Map.Entry<Long, Alloc> next = m.higherEntry(pos);
            long upTo = next == null ? end : Math.min(next.getKey(), end);
            AllocOpts how = AllocOpts.DEFAULT.withMemCgId(memCgId);
            FileRange fr = memoryFile.allocate(upTo - pos, populate ? how.withMode(memmap.api.AllocationMode.WRITE_POPULATE) : how);
            m.put(pos, new Alloc(pos, upTo, fr.start(), memCgId));
            out.add(new Piece(pos, fr.start(), upTo - pos, true));
            pos = upTo;
        }
        return out;
    }

    /**
     * Copies a page record's pages into the frames of {@code pieces} (parts of the record's
     * range): a page with bytes from {@code data} (the record's page bytes, in order), a page of
     * zeroes by filling — only where the frame is not fresh (an earlier image's page under it).
     * Runs of pages alike are copied at once. The one loop of every restore, eager or lazy.
     */
    void fill(ImageFormat.PageHead ph, MemorySegment data, List<Piece> pieces) throws MemmapException {
        int[] rank = new int[ph.n()];
        for (int i = 0, k = 0; i < ph.n(); i++) {
            rank[i] = k;
            k += ph.hasBytes(i) ? 1 : 0;
        }
        for (Piece p : pieces) {
            BlockSeq bs = memoryFile.mapInternal(new FileRange(p.target(), p.target() + p.length()), AccessType.WRITE);
            for (long q = 0; q < p.length(); ) {
                int i = (int) ((p.src() + q - ph.off()) >>> Pages.PAGE_SHIFT);
                boolean has = ph.hasBytes(i);
                long blockStart = bs.blockStartOf(q);
                MemorySegment block = bs.dropFirst(blockStart).head().segment();
                long blockEnd = blockStart + block.byteSize();
                long len = Pages.PAGE_SIZE;
                while (q + len < p.length() && q + len < blockEnd && ph.hasBytes(i + (int) (len >>> Pages.PAGE_SHIFT)) == has) {
                    len += Pages.PAGE_SIZE;
                }
                if (has) {
                    MemorySegment.copy(data, (long) rank[i] << Pages.PAGE_SHIFT, block, q - blockStart, len);
                } else if (!p.fresh()) {
                    block.asSlice(q - blockStart, len).fill((byte) 0);
                }
                q += len;
            }
        }
    }

    /** Where {@code [off, end)} of {@code space} is kept; ImageException naming what no image of the chain holds. */
    synchronized List<Piece> lookup(String image, long space, long off, long end) throws ImageException {
        TreeMap<Long, Alloc> m = spaces.getOrDefault(space, new TreeMap<>());
        List<Piece> out = new ArrayList<>();
        long pos = off;
        while (pos < end) {
            Map.Entry<Long, Alloc> f = m.floorEntry(pos);
            if (f == null || f.getValue().end() <= pos) {
                throw new ImageException(image + " needs page 0x" + Long.toHexString(pos) + " of frame space " + space
                        + ", which no image of the chain holds (an image is missing)");
            }
            Alloc a = f.getValue();
            long upTo = Math.min(a.end(), end);
            out.add(new Piece(pos, a.target() + (pos - a.start()), upTo - pos, false));
            pos = upTo;
        }
        return out;
    }

    /** Every page kept for {@code space}, in offset order. */
    synchronized List<Piece> pieces(long space) {
        List<Piece> out = new ArrayList<>();
        for (Alloc a : spaces.getOrDefault(space, new TreeMap<>()).values()) {
            out.add(new Piece(a.start(), a.target(), a.end() - a.start(), false));
        }
        return out;
    }

    /** The charges kept for {@code space}, for {@code [off, end)}; the runs of {@link #lookup}. */
    synchronized int memCgIdAt(long space, long off) {
        Map.Entry<Long, Alloc> f = spaces.getOrDefault(space, new TreeMap<>()).floorEntry(off);
        return f == null ? 0 : f.getValue().memCgId();
    }

    /**
     * Drops the store's references but keeps knowing where each page is (a lazy restore: the
     * pages still to load are held by the address spaces' pending runs, not by the store).
     */
    synchronized void dropRefs() {
        if (!refsDropped) {
            refsDropped = true;
            for (TreeMap<Long, Alloc> m : spaces.values()) {
                for (Alloc a : m.values()) {
                    memoryFile.decRef(new FileRange(a.target(), a.target() + (a.end() - a.start())));
                }
            }
        }
    }

    private boolean refsDropped;

    /** Drops the store's references (pages no pma took are freed) and forgets every page. */
    synchronized void free() {
        dropRefs();
        spaces.clear();
    }
}
