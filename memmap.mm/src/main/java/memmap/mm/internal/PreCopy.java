package memmap.mm.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.OwnedPages;
import memmap.api.segment.Segment;

/**
 * A hot swap's pre-copy (QEMU's and Firecracker's live migration, inside one process): moves a
 * set of live backings to their twins while readers and writers keep running, and stops each
 * writer only for the last dirty pages of the few backings a short stop switches.
 *
 * <ol>
 * <li><b>Track.</b> This log is attached to every address space (new ones and forks too, by
 *     {@link ProviderSwap#created}); it covers every vma mapping a moving backing whose pages
 *     are its own ({@link OwnedPages}), and every such page is write-protected
 *     ({@link DirtyBits#rearmLocked}). A backing whose contents are a file's needs no copy and is
 *     not tracked.</li>
 * <li><b>Round 0</b> copies every page that exists ({@link OwnedPages#copy}) with no address
 *     space lock held; writes meanwhile fault once per page and are logged by Mappable offset.</li>
 * <li><b>Rounds 1..</b> take the log (swap the dirty sets, then write-protect again — in that
 *     order, so a write between the two lands on a page that is being reported and will be
 *     copied after both), copy what it held. A round starts only if what is dirty is more than
 *     {@link #FINAL_BYTES} and at most half of what the round before copied (else writers are
 *     about as fast as the copy, and another round would copy the same pages again), and at
 *     most {@link #MAX_ROUNDS} run. A writer faster than the copy costs no longer stops, only
 *     more of them: each stop copies what is dirty when it stops.</li>
 * <li><b>Switch</b>, stop by stop: every address space's {@code mappingMu} is write-locked in
 *     creation order (after letting in whoever the last stop kept waiting), then backing by
 *     backing until the stop has lasted {@link #STOP_NANOS}, copied {@link #BATCH_BYTES} or
 *     switched {@link #BATCH_BACKINGS} (at least one backing): its vmas lose their translations
 *     (from then on nobody can write the old backing: the fast path misses, the slow path waits
 *     for the lock), its last dirty pages are copied, its vmas are re-pointed. Unlock. Backings
 *     outside the stop stay readable and writable through their cached translations meanwhile.
 *     A backing whose copy failed is not re-pointed: it stays on its old provider, working.
 *     A single backing's last dirty pages may be more than {@link #BATCH_BYTES} (a writer faster
 *     than the copy on one large backing): that stop is as long as they take.</li>
 * </ol>
 *
 * <p>Correctness: a byte written to an old backing after round 0 started is on a page that was
 * write-protected when it was written (pages are re-protected after each take, before the copy
 * that follows it), so the write was logged and the page is copied again later — by a round or
 * by its batch's final copy, which runs when no writer can reach the old backing.
 *
 * <p>Locking: {@link #written} (under an address space's {@code activeMu}) takes this object's
 * monitor, a leaf. The switch holds every {@code mappingMu} for writing, then takes
 * {@code activeMu}s one at a time; copies hold no address space lock.
 */
final class PreCopy implements WriteLog {
    /** Rounds before the switch, at most. */
    static final int MAX_ROUNDS = 8;
    /** No round starts for this much dirty or less: the switch's stops copy it. */
    static final long FINAL_BYTES = 1L << 20;
    /** Backings switched under one stop, at most. */
    static final int BATCH_BACKINGS = 256;
    /** A stop switches backings until it has lasted this long (at least one). */
    static final long STOP_NANOS = 1_000_000;
    /** The granule of the pre-copy's dirty log: one write fault makes this much writable (fewer faults, a little more copied). */
    static final long GRANULE = 64L << 10;
    /** Dirty bytes copied under one stop, at most (a single backing's may be more: the fallback). */
    static final long BATCH_BYTES = 2L << 20;
    private static final MappableRange ALL = new MappableRange(0, -memmap.api.Pages.PAGE_SIZE);

    /** One backing moving to its twin. */
    static final class Move {
        final Mappable from;
        final Mappable to;
        final MappingIdentity toId;
        final boolean owned;
        /** Guarded by the PreCopy's monitor. */
        DirtyPages dirty = new DirtyPages();
        boolean failed;
        int vmas;

        Move(Mappable from, Mappable to, MappingIdentity toId) {
            this.from = from;
            this.to = to;
            this.toId = toId;
            this.owned = from instanceof OwnedPages;
        }
    }

    /** What a pre-copy did. */
    record Stats(int moved, int failed, int vmas, long bytes, int rounds, long maxPauseNanos, int stops, long precopyNanos,
            long switchNanos) {
    }

    /** Phases, for tests that act between them (never set in production). */
    enum Phase { ROUND_0_COPIED, ROUNDS_DONE }

    private final Map<Mappable, Move> moves = new IdentityHashMap<>();
    /** Where the moving backings are mapped, per address space as of its vmaGeneration; the migrating thread's own. */
    private final Map<MemoryManager, SpaceIndex> index = new IdentityHashMap<>();

    /** A vma of a moving backing: its address space and start. */
    private record Mapped(MemoryManager space, long start) {
    }

    /** The starts of the vmas mapping each move in one address space, valid while its vmaGeneration is {@code generation}. */
    private record SpaceIndex(long generation, Map<Move, List<Long>> starts) {
    }
    private final List<Move> order;

    PreCopy(Collection<Move> ms) {
        this.order = List.copyOf(ms);
        for (Move m : order) {
            moves.put(m.from, m);
        }
    }

    // ---------------------------------------------------------------- WriteLog

    @Override
    public long granule() {
        return GRANULE;
    }

    @Override
    public boolean covers(long vmaStart, Vma vma, long start, long end) {
        Move m = vma.mappable() == null ? null : moves.get(vma.mappable());
        return m != null && m.owned;
    }

    @Override
    public void written(MemoryManager mm, long vmaStart, Vma vma, long start, long end) {
        Move m = moves.get(vma.mappable());
        long off = vma.off() + (start - vmaStart);
        synchronized (this) {
            m.dirty.add(off, off + (end - start));
        }
    }

    private synchronized DirtyPages take(Move m) {
        DirtyPages d = m.dirty;
        m.dirty = new DirtyPages();
        return d;
    }

    private synchronized long dirtyBytes(Move m) {
        return m.dirty.bytes();
    }

    // ---------------------------------------------------------------- the protocol

    /** Runs the pre-copy and the switch. The caller commits or discards each move by {@link Move#failed}. */
    Stats run(Context ctx, ProviderSwap swap, List<MappingIdentity> dropped) {
        java.util.function.Consumer<Phase> hook = swap.phaseHook;
        boolean anyOwned = order.stream().anyMatch(m -> m.owned);
        long bytes = 0;
        int rounds = 0;
        long t0 = System.nanoTime();
        if (anyOwned) {
            swap.attach(this);
        }
        try {
            if (anyOwned) {
                rearmAll(swap.spacesInOrder(), null);
                for (Move m : order) {
                    if (m.owned) {
                        bytes += copy(ctx, m, List.of(new long[] {ALL.start(), ALL.end()}));
                    }
                }
                rounds = 1;
                if (hook != null) {
                    hook.accept(Phase.ROUND_0_COPIED);
                }
                long last = bytes;
                while (rounds < MAX_ROUNDS) {
                    // A round pays only if it halves what is left: else writers are about as fast as
                    // the copy, and the switch's batches (which bound each stop anyway) copy it once.
                    long pending = 0;
                    for (Move m : order) {
                        if (m.owned && !m.failed) {
                            pending += dirtyBytes(m);
                        }
                    }
                    if (pending <= FINAL_BYTES || pending > last / 2) {
                        break;
                    }
                    Map<Move, DirtyPages> taken = new IdentityHashMap<>();
                    for (Move m : order) {
                        if (m.owned && !m.failed) {
                            DirtyPages d = take(m);
                            if (!d.isEmpty()) {
                                taken.put(m, d);
                            }
                        }
                    }
                    // Only what was written can be writable again: re-protect just those moves.
                    rearmAll(swap.spacesInOrder(), taken.keySet());
                    for (Map.Entry<Move, DirtyPages> e : taken.entrySet()) {
                        bytes += copy(ctx, e.getKey(), e.getValue().ranges());
                    }
                    rounds++;
                    last = pending;
                }
            }
            if (hook != null && anyOwned) {
                hook.accept(Phase.ROUNDS_DONE);
            }
            long t1 = System.nanoTime();
            long[] pause = {0, 0};
            int vmas = 0;
            int i = 0;
            while (i < order.size()) {
                int[] next = {i};
                long[] b = {0};
                vmas += switchBatch(ctx, swap, next, b, pause, dropped);
                bytes += b[0];
                i = next[0];
            }
            int failed = (int) order.stream().filter(m -> m.failed).count();
            return new Stats(order.size() - failed, failed, vmas, bytes, rounds, pause[0], (int) pause[1], t1 - t0,
                    System.nanoTime() - t1);
        } finally {
            if (anyOwned) {
                swap.detach(this);
            }
        }
    }

    /** Copies {@code ranges} (Mappable offsets) of {@code m}; a failure marks it failed. Returns bytes copied. */
    private static long copy(Context ctx, Move m, List<long[]> ranges) {
        if (m.failed) {
            return 0;
        }
        long n = 0;
        try {
            List<MappableRange> rs = new ArrayList<>(ranges.size());
            for (long[] r : ranges) {
                rs.add(new MappableRange(r[0], r[1]));
            }
            n = OwnedPages.copyAll(ctx, m.from, m.to, rs);
        } catch (MemmapException | RuntimeException e) {
            m.failed = true;
            Logging.SWAP.warn("memmap.mm: copying " + m.from + " failed (it stays where it is, working): " + e);
        }
        return n;
    }

    /**
     * Where the moves are mapped in {@code mm}: from the index while nothing changed its vmas,
     * else scanned again. Requires {@code mm.mappingMu} in either mode.
     */
    private SpaceIndex indexLocked(MemoryManager mm) {
        SpaceIndex i = index.get(mm);
        if (i != null && i.generation == mm.vmaGeneration) {
            return i;
        }
        Map<Move, List<Long>> starts = new IdentityHashMap<>();
        for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
            Move m = v.value().mappable() == null ? null : moves.get(v.value().mappable());
            if (m != null) {
                starts.computeIfAbsent(m, k -> new ArrayList<>(1)).add(v.start());
            }
        }
        i = new SpaceIndex(mm.vmaGeneration, starts);
        index.put(mm, i);
        return i;
    }

    /** Bounds one hold of an address space's activeMu while re-arming (accessors wait for it). */
    static final long REARM_HOLD_NANOS = 200_000;

    /**
     * Write-protects again every page the log covers ({@code only}: of those moves), holding each
     * address space's activeMu for at most about {@link #REARM_HOLD_NANOS} at a time.
     */
    private void rearmAll(List<MemoryManager> spaces, java.util.Set<Move> only) {
        for (MemoryManager mm : spaces) {
            mm.mappingMu.readLock().lock();
            try {
                List<Long> starts = new ArrayList<>();
                for (Map.Entry<Move, List<Long>> e : indexLocked(mm).starts().entrySet()) {
                    Move m = e.getKey();
                    if (m.owned && !m.failed && (only == null || only.contains(m))) {
                        starts.addAll(e.getValue());
                    }
                }
                int i = 0;
                while (i < starts.size()) {
                    mm.pmas.lockForChangeEagerly();
                    try {
                        long t0 = System.nanoTime();
                        do {
                            Segment<Vma> v = mm.vmas.set.findSegment(starts.get(i++));
                            mm.pmas.dirty.rearmLocked(new AddrRange(v.start(), v.end()));
                        } while (i < starts.size() && ((i & 15) != 0 || System.nanoTime() - t0 < REARM_HOLD_NANOS));
                    } finally {
                        mm.pmas.unlock();
                    }
                }
            } finally {
                mm.mappingMu.readLock().unlock();
            }
        }
    }

    /**
     * One stop: the next batch of moves from {@code next[0]} is switched under every address
     * space's {@code mappingMu}; advances {@code next[0]}, adds the bytes copied to {@code b[0]},
     * the longest stop to {@code pause[0]} and the stop count to {@code pause[1]}.
     *
     * @return the vmas re-pointed
     */
    private int switchBatch(Context ctx, ProviderSwap swap, int[] next, long[] b, long[] pause, List<MappingIdentity> dropped) {
        List<MemoryManager> locked = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            // Lock in creation order; a space made meanwhile (a fork waiting for its parent) comes after.
            List<MemoryManager> all = swap.spacesInOrder();
            // Let in whoever the last stop kept waiting before stopping them again: the locks are
            // not fair, and a migration re-locking at once would starve the accesses it paused.
            for (MemoryManager mm : all) {
                while (mm.mappingMu.hasQueuedThreads()) {
                    Thread.yield();
                }
            }
            while (true) {
                for (MemoryManager mm : all) {
                    if (!locked.contains(mm)) {
                        mm.mappingMu.writeLock().lock();
                        locked.add(mm);
                    }
                }
                all = swap.spacesInOrder();
                if (locked.containsAll(all)) {
                    break;
                }
            }
            t0 = System.nanoTime();
            // Backing by backing until the stop has lasted STOP_NANOS or copied BATCH_BYTES (at least one).
            int n = 0;
            int moved = 0;
            long copied = 0;
            int i = next[0];
            while (i < order.size() && moved < BATCH_BACKINGS) {
                Move m = order.get(i);
                if (moved > 0 && (System.nanoTime() - t0 > STOP_NANOS || copied + (m.owned ? dirtyBytes(m) : 0) > BATCH_BYTES)) {
                    break;
                }
                i++;
                moved++;
                // 1. Nobody reaches the old backing any more: its translations go, and faults wait for mappingMu.
                List<Mapped> found = new ArrayList<>();
                for (MemoryManager mm : locked) {
                    List<Long> starts = indexLocked(mm).starts().getOrDefault(m, List.of());
                    if (starts.isEmpty()) {
                        continue;
                    }
                    mm.pmas.lockForChangeEagerly();
                    try {
                        for (long start : starts) {
                            Segment<Vma> v = mm.vmas.set.findSegment(start);
                            mm.pmas.invalidateLocked(new AddrRange(v.start(), v.end()), false);
                            found.add(new Mapped(mm, start));
                        }
                    } finally {
                        mm.pmas.unlock();
                    }
                }
                // 2. Its last dirty pages.
                if (m.owned) {
                    long c = copy(ctx, m, take(m).ranges());
                    copied += c;
                    b[0] += c;
                }
                // 3. Re-point its vmas (none if the copy failed: it stays where it is, working).
                for (Mapped at : found) {
                    MemoryManager mm = at.space();
                    // Re-found by start: a re-pointed vma merging with its (re-pointed) neighbours moves handles.
                    Segment<Vma> v = mm.vmas.set.findSegment(at.start());
                    if (!m.failed && mm.migration.repointInvalidatedLocked(ctx, v, new Migration.Replacement(m.to, m.toId), dropped)) {
                        m.vmas++;
                        n++;
                    }
                }
            }
            next[0] = i;
            return n;
        } finally {
            for (int j = locked.size() - 1; j >= 0; j--) {
                locked.get(j).mappingMu.writeLock().unlock();
            }
            long stop = System.nanoTime() - t0;
            pause[0] = Math.max(pause[0], stop);
            pause[1]++;
        }
    }
}
