package memmap.mm.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import memmap.api.Context;
import memmap.api.Mappable;
import memmap.api.segment.Segment;

/**
 * Address spaces stopped for a checkpoint: every {@code mappingMu} write-locked in creation
 * order (a migration's order), {@code invalidateUnsavable} called on every Mappable they map
 * (gVisor's save: host-file translations go, they are made again from the file), then every
 * {@code activeMu} taken with a TLB shootdown, in the same order — no write, fault or change
 * gets in until {@link #close}.
 */
final class Stop implements AutoCloseable {
    private final List<MemoryManager> locked = new ArrayList<>();
    private int active;

    Stop(Context ctx, List<MemoryManager> spaces) throws memmap.api.MemmapException {
        List<MemoryManager> order = new ArrayList<>(spaces);
        order.sort(Comparator.comparingLong(mm -> mm.serial));
        try {
            for (MemoryManager mm : order) {
                mm.mappingMu.writeLock().lock();
                locked.add(mm);
            }
            Set<Mappable> told = Collections.newSetFromMap(new IdentityHashMap<>());
            for (MemoryManager mm : order) {
                for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                    Mappable m = v.value().mappable();
                    if (m != null && told.add(m)) {
                        m.invalidateUnsavable(ctx);
                    }
                }
            }
            for (MemoryManager mm : order) {
                mm.pmas.lockForChange();
                active++;
            }
        } catch (memmap.api.MemmapException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    @Override
    public void close() {
        for (int i = active - 1; i >= 0; i--) {
            locked.get(i).pmas.unlock();
        }
        active = 0;
        for (int i = locked.size() - 1; i >= 0; i--) {
            locked.get(i).mappingMu.writeLock().unlock();
        }
        locked.clear();
    }
}
