package memmap.mm.internal;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

import memmap.api.Context;
import memmap.api.Mappable;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.SysVSharedMemory;

/**
 * The hot-swap protocol: remembers which provider made each backing handed out and which
 * address spaces exist, and moves live mappings of a kind to the provider now serving it.
 *
 * <p>A migration to provider {@code P} of kind {@code K} moves every backing of kind {@code K}
 * mapped somewhere and made by another provider to its twin from {@code P}
 * ({@link BackingProvider#twin}) by pre-copy ({@link PreCopy}): pages copied while readers and
 * writers run, written pages copied again, and each backing switched in a short stop of every
 * address space's {@code mappingMu}. A twin refused or a copy that fails leaves that backing
 * where it was (it keeps working on its old provider). Address spaces made during a migration
 * are caught by repeating it until a pass finds none new. Memory files
 * ({@link #migratePrivatePages}) and System V registries ({@link #migrateSegments}) still move
 * with every address space stopped. One line is logged per migration that moved anything.
 *
 * <p>Thread safety: migrations are serialized; registration is safe from any thread. Weak
 * references only: remembering a backing or an address space never keeps it alive.
 */
public final class ProviderSwap {
    /** What is remembered of a backing handed out (not the Mappable: that is the key). */
    private record Made(Backing template, WeakReference<MappingIdentity> identity) {
    }

    /**
     * The result of a migration.
     *
     * @param backings backings moved
     * @param vmas mappings re-pointed
     * @param failed backings that stay on their old provider (refused or failed to copy)
     * @param bytes bytes copied (pre-copy rounds and final stops together)
     * @param rounds pre-copy rounds (0 when nothing had to be copied)
     * @param maxPauseNanos the longest stop: every address space's mappingMu write-locked
     * @param stops how many stops
     * @param twinNanos making the twins (an anonymous twin commits its pages: fresh memory)
     * @param precopyNanos copying while accessors ran (tracking, rounds)
     * @param switchNanos the switch, stop by stop
     * @param releaseNanos dropping the old backings (their memory freed)
     * @param nanos the whole migration
     */
    public record Result(int backings, int vmas, int failed, long bytes, int rounds, long maxPauseNanos, int stops,
            long twinNanos, long precopyNanos, long switchNanos, long releaseNanos, long nanos) {
        Result(int backings, int vmas, int failed) {
            this(backings, vmas, failed, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        /** Only what was moved (for comparisons that must not depend on timing). */
        public Result counts() {
            return new Result(backings, vmas, failed);
        }

        Result plus(Result r) {
            return new Result(backings + r.backings, vmas + r.vmas, failed + r.failed, bytes + r.bytes,
                    Math.max(rounds, r.rounds), Math.max(maxPauseNanos, r.maxPauseNanos), stops + r.stops,
                    twinNanos + r.twinNanos, precopyNanos + r.precopyNanos, switchNanos + r.switchNanos,
                    releaseNanos + r.releaseNanos, nanos + r.nanos);
        }
    }

    /** Called by pre-copies between their phases, in the migrating thread; for tests only. */
    volatile java.util.function.Consumer<PreCopy.Phase> phaseHook;
    /** Pre-copies running: every address space, new ones too, logs writes into them. Guarded by {@link #spaces}. */
    private final List<PreCopy> logging = new ArrayList<>();
    private final Map<Mappable, Made> made = Collections.synchronizedMap(new WeakHashMap<>());
    private final Set<MemoryManager> spaces = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private final Object migrationLock = new Object();

    /** Remembers that {@code b} was handed out. */
    public void made(Backing b) {
        made.put(b.mappable(), new Made(b, new WeakReference<>(b.identity())));
    }

    /** The backing {@code m} was handed out in, or null if it was not made through these backings. */
    Backing template(Mappable m) {
        Made x = made.get(m);
        return x == null ? null : x.template();
    }

    /** Address spaces made with these backings so far (a checkpoint chain notices one made and gone between two images). */
    long createdCount() {
        synchronized (spaces) {
            return created;
        }
    }

    private long created;

    public void created(MemoryManager mm) {
        synchronized (spaces) {
            created++;
            spaces.add(mm);
            if (!logging.isEmpty()) {
                mm.pmas.lockForChange();
                try {
                    logging.forEach(mm.pmas.dirty::addLogLocked); // a fork maps moving backings too
                } finally {
                    mm.pmas.unlock();
                }
            }
        }
    }

    /** Every address space in creation order (the order migrations lock them in, and AddressSpaces.live()). */
    public List<MemoryManager> spacesInOrder() {
        List<MemoryManager> pass;
        synchronized (spaces) {
            pass = new ArrayList<>(spaces);
        }
        pass.sort(Comparator.comparingLong(mm -> mm.serial));
        return pass;
    }

    /** Attaches {@code pc}'s log to every address space, and to every one made until {@link #detach}. */
    void attach(PreCopy pc) {
        synchronized (spaces) {
            logging.add(pc);
            eachActiveLocked(mm -> mm.pmas.dirty.addLogLocked(pc));
        }
    }

    void detach(PreCopy pc) {
        synchronized (spaces) {
            logging.remove(pc);
            eachActiveLocked(mm -> mm.pmas.dirty.removeLogLocked(pc));
        }
    }

    public void released(MemoryManager mm) {
        spaces.remove(mm);
    }

    /** Runs {@code change} on every address space under its activeMu. Requires the {@link #spaces} monitor. */
    private void eachActiveLocked(java.util.function.Consumer<MemoryManager> change) {
        for (MemoryManager mm : spaces) {
            mm.pmas.lockForChange();
            try {
                change.accept(mm);
            } finally {
                mm.pmas.unlock();
            }
        }
    }

    /**
     * Moves every mapped backing of {@code target}'s kind made by another provider to
     * {@code target}, by pre-copy ({@link PreCopy}): readers and writers keep running while
     * the pages are copied, and stop only for a small batch's last dirty pages. Logs one line.
     */
    public Result migrate(Context ctx, BackingProvider target) {
        synchronized (migrationLock) {
            Events.HotSwap event = new Events.HotSwap();
            event.begin();
            long t0 = System.nanoTime();
            Result total = new Result(0, 0, 0);
            Set<String> from = new java.util.TreeSet<>();
            Set<MemoryManager> done = Collections.newSetFromMap(new IdentityHashMap<>());
            while (true) {
                List<MemoryManager> pass = spacesInOrder();
                // Every space again while new ones appear: a fork made meanwhile may share backings.
                if (done.containsAll(pass)) {
                    break;
                }
                total = total.plus(migratePass(ctx, target, pass, from));
                done.addAll(pass);
            }
            total = new Result(total.backings, total.vmas, total.failed, total.bytes, total.rounds, total.maxPauseNanos, total.stops,
                    total.twinNanos, total.precopyNanos, total.switchNanos, total.releaseNanos, System.nanoTime() - t0);
            if (total.backings + total.failed > 0) {
                Logging.SWAP.info(describe(target.kind().id(), String.join(",", from), target.id(), total));
                if (event.shouldCommit()) {
                    event.kind = target.kind().id();
                    event.from = String.join(",", from);
                    event.to = target.id();
                    event.backings = total.backings;
                    event.vmas = total.vmas;
                    event.bytes = total.bytes;
                    event.maxPauseNanos = total.maxPauseNanos;
                    event.commit();
                }
            }
            return total;
        }
    }

    /** The one line a swap logs. */
    public static String describe(String kind, String from, String to, Result r) {
        return String.format(java.util.Locale.ROOT,
                "memmap.mm: swapped %s from %s to %s: %d mappings of %d backings%s, %d bytes copied in %d rounds, longest pause %.3f ms"
                        + " (%d stops), %.1f ms in all (twins %.1f, pre-copy %.1f, switch %.1f, release %.1f)",
                kind, from, to, r.vmas, r.backings, r.failed == 0 ? "" : " (" + r.failed + " stay where they are)", r.bytes, r.rounds,
                r.maxPauseNanos / 1e6, r.stops, r.nanos / 1e6, r.twinNanos / 1e6, r.precopyNanos / 1e6, r.switchNanos / 1e6,
                r.releaseNanos / 1e6);
    }

    private Result migratePass(Context ctx, BackingProvider target, List<MemoryManager> pass, Set<String> from) {
        BackingKind kind = target.kind();
        // What moves: backings of the kind made by another provider, mapped somewhere.
        Map<Mappable, Made> candidates = new java.util.LinkedHashMap<>();
        for (MemoryManager mm : pass) {
            mm.mappingMu.readLock().lock();
            try {
                for (memmap.api.segment.Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                    Mappable m = v.value().mappable();
                    Made f = m == null ? null : made.get(m);
                    if (f != null && f.template.request().kind() == kind && !f.template.providerId().equals(target.id())) {
                        candidates.putIfAbsent(m, f);
                    }
                }
            } finally {
                mm.mappingMu.readLock().unlock();
            }
        }
        long t0 = System.nanoTime();
        List<PreCopy.Move> moves = new ArrayList<>();
        Map<Mappable, Backing> twins = new IdentityHashMap<>();
        int refused = 0;
        for (Map.Entry<Mappable, Made> c : candidates.entrySet()) {
            Made f = c.getValue();
            MappingIdentity id = f.identity.get();
            if (id == null) {
                continue;
            }
            Backing live = new Backing(f.template.request(), c.getKey(), id, f.template.providerId(), f.template.mapAs());
            from.add(live.providerId());
            Backing to;
            try {
                to = target.twin(ctx, live);
            } catch (MemmapException | RuntimeException e) {
                Logging.SWAP.warn("memmap.mm: " + target.id() + " refused to adopt " + live.request()
                        + " from " + live.providerId() + " (it stays there, working): " + e);
                refused++;
                continue;
            }
            twins.put(c.getKey(), to);
            moves.add(new PreCopy.Move(c.getKey(), to.mappable(), to.identity()));
        }
        long twinNanos = System.nanoTime() - t0;
        List<MappingIdentity> dropped = new ArrayList<>();
        PreCopy.Stats st;
        long t1;
        try {
            st = new PreCopy(moves).run(ctx, this, dropped);
        } finally {
            t1 = System.nanoTime();
            for (PreCopy.Move m : moves) {
                Backing to = twins.get(m.from);
                if (!m.failed && m.vmas > 0) {
                    made.remove(m.from);
                    made(to);
                }
                // The twin's own reference: the vmas now hold theirs (none if it failed: it goes).
                dropped.add(to.identity());
            }
            dropped.forEach(i -> i.decRef(ctx));
        }
        int unmapped = (int) moves.stream().filter(m -> !m.failed && m.vmas == 0).count();
        return new Result(st.moved() - unmapped, st.vmas(), st.failed() + refused, st.bytes(), st.rounds(), st.maxPauseNanos(),
                st.stops(), twinNanos, st.precopyNanos(), st.switchNanos(), System.nanoTime() - t1, 0);
    }

    /**
     * Moves every address space's private pages held in other memory files into {@code to} (the
     * memory file now serving), with the same locking as a provider migration.
     *
     * @return bytes moved
     */
    public long migratePrivatePages(Context ctx, MemoryFile to) {
        synchronized (migrationLock) {
            List<MemoryManager> pass;
            synchronized (spaces) {
                pass = new ArrayList<>(spaces);
            }
            pass.sort(Comparator.comparingLong(mm -> mm.serial));
            Map<Migration.PrivateRange, memmap.api.FileRange> moved = new java.util.HashMap<>();
            long bytes = 0;
            pass.forEach(mm -> mm.migration.lockMapping());
            pass.forEach(mm -> mm.migration.lockActive());
            try {
                for (MemoryManager mm : pass) {
                    bytes += mm.migration.movePrivatePagesLocked(ctx, to, moved);
                }
            } finally {
                pass.forEach(mm -> mm.migration.unlockAll());
            }
            return bytes;
        }
    }

    /**
     * Hands every System V segment mapped in an address space and not {@code to}'s own over to
     * {@code to} (same id, key, mode, owner, times; contents copied), re-pointing its mappings,
     * with the same locking as a provider migration. A segment {@code to} refuses (its id or key
     * taken meanwhile) stays with its old registry, still working.
     */
    public Result migrateSegments(Context ctx, SysVSharedMemory to) {
        synchronized (migrationLock) {
            List<MemoryManager> pass;
            synchronized (spaces) {
                pass = new ArrayList<>(spaces);
            }
            pass.sort(Comparator.comparingLong(mm -> mm.serial));
            List<MappingIdentity> dropped = new ArrayList<>();
            Map<Mappable, SysVSharedMemory.Segment> adopted = new IdentityHashMap<>();
            Set<Mappable> refused = Collections.newSetFromMap(new IdentityHashMap<>());
            Set<Mappable> own = Collections.newSetFromMap(new IdentityHashMap<>());
            int vmas = 0;
            pass.forEach(mm -> mm.migration.lockMapping());
            try {
                pass.forEach(mm -> mm.migration.invalidateMappablesLocked(m -> m instanceof SysVSharedMemory.Segment));
                for (MemoryManager mm : pass) {
                    vmas += mm.migration.repointLocked(ctx, m -> {
                        if (!(m instanceof SysVSharedMemory.Segment seg) || refused.contains(m) || own.contains(m)) {
                            return null;
                        }
                        SysVSharedMemory.Segment n = adopted.get(m);
                        if (n == null) {
                            try {
                                n = to.adopt(ctx, seg);
                            } catch (MemmapException | RuntimeException e) {
                                refused.add(m);
                                return null;
                            }
                            if (n == seg) {
                                own.add(m); // already the serving registry's
                                return null;
                            }
                            adopted.put(m, n);
                        }
                        return new Migration.Replacement(n, n);
                    }, dropped);
                }
            } finally {
                pass.forEach(mm -> mm.migration.unlockMapping());
                adopted.values().forEach(dropped::add); // the adoption's reference: the vmas hold theirs
                dropped.forEach(id -> id.decRef(ctx));
            }
            return new Result(adopted.size(), vmas, refused.size());
        }
    }
}
