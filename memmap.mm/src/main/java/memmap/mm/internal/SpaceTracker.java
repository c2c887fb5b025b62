package memmap.mm.internal;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import memmap.api.AddrRange;
import memmap.api.DirtyTracker;
import memmap.api.Mappable;

/**
 * The API's {@link DirtyTracker}: a {@link WriteLog} of one address space, by address, over one
 * range. Every vma overlapping the range is covered (a pma straddling the range's edge is
 * write-protected whole; only the pages inside the range are recorded), so tracking never
 * splits a vma and {@code maps} looks the same tracked or not.
 *
 * <p>Locking: the dirty set is guarded by the address space's {@code activeMu}, under which
 * {@link #written} is called; {@link #collect} takes the marks and re-arms the range in one
 * hold of it, so no write can fall between the two.
 */
final class SpaceTracker implements WriteLog, DirtyTracker {
    private final MemoryManager mm;
    private final AddrRange range;
    /** Guarded by the address space's activeMu. */
    private DirtyPages dirty = new DirtyPages();
    /** What was logged in shared mappings unmapped since the last collection, by Mappable offset. Guarded by activeMu. */
    private Map<Mappable, TreeMap<Long, Long>> unmappedWrites = new IdentityHashMap<>();
    private boolean closed;

    private SpaceTracker(MemoryManager mm, AddrRange range) {
        this.mm = mm;
        this.range = range;
    }

    /** Starts tracking {@code range} of {@code mm}: attached, and every page there write-protected. */
    static SpaceTracker start(MemoryManager mm, AddrRange range) {
        SpaceTracker t = new SpaceTracker(mm, range);
        mm.mappingMu.readLock().lock();
        try {
            mm.pmas.lockForChange();
            try {
                mm.pmas.dirty.addLogLocked(t);
                mm.pmas.dirty.rearmLocked(range);
            } finally {
                mm.pmas.unlock();
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        return t;
    }

    @Override
    public AddrRange range() {
        return range;
    }

    @Override
    public boolean covers(long vmaStart, Vma vma, long start, long end) {
        return Long.compareUnsigned(start, range.end()) < 0 && Long.compareUnsigned(range.start(), end) < 0;
    }

    @Override
    public void written(MemoryManager space, long vmaStart, Vma vma, long start, long end) {
        record(start, end);
    }

    @Override
    public void unmapping(MemoryManager space, long vmaStart, Vma vma, long start, long end) {
        for (long[] r : dirty.ranges()) {
            long s = Long.compareUnsigned(r[0], start) > 0 ? r[0] : start;
            long e = Long.compareUnsigned(r[1], end) < 0 ? r[1] : end;
            if (Long.compareUnsigned(s, e) < 0) {
                long off = vma.off() + (s - vmaStart);
                Capture.addRange(unmappedWrites.computeIfAbsent(vma.mappable(), k -> new TreeMap<>()), off, off + (e - s));
            }
        }
    }

    /**
     * What was written through shared mappings that went since the last call, by Mappable and
     * offset ranges (start → end); taken, so the next call starts empty. Requires activeMu (a
     * checkpoint's stop holds it).
     */
    Map<Mappable, TreeMap<Long, Long>> takeUnmappedWrites() {
        Map<Mappable, TreeMap<Long, Long>> out = unmappedWrites;
        unmappedWrites = new IdentityHashMap<>();
        return out;
    }

    @Override
    public void moved(MemoryManager space, long start, long end) {
        record(start, end);
    }

    private void record(long start, long end) {
        long s = Long.compareUnsigned(start, range.start()) > 0 ? start : range.start();
        long e = Long.compareUnsigned(end, range.end()) < 0 ? end : range.end();
        dirty.add(s, e);
    }

    @Override
    public List<AddrRange> collect() {
        DirtyPages taken;
        mm.mappingMu.readLock().lock();
        try {
            mm.pmas.lockForChange();
            try {
                if (closed) {
                    throw new IllegalStateException("this dirty tracker of " + range + " is closed");
                }
                taken = dirty;
                dirty = new DirtyPages();
                mm.pmas.dirty.rearmLocked(range);
            } finally {
                mm.pmas.unlock();
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        List<AddrRange> out = new ArrayList<>();
        for (long[] r : taken.ranges()) {
            out.add(new AddrRange(r[0], r[1]));
        }
        return out;
    }

    @Override
    public void close() {
        mm.pmas.lockForChange();
        try {
            if (!closed) {
                closed = true;
                mm.pmas.dirty.removeLogLocked(this);
            }
        } finally {
            mm.pmas.unlock();
        }
    }

    @Override
    public String toString() {
        return "DirtyTracker[" + range + "]";
    }
}
