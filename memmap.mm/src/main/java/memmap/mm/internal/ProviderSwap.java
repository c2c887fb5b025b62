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
 * <p>A migration to provider {@code P} of kind {@code K}:
 * <ol>
 * <li>locks every address space's {@code mappingMu} for writing, in creation order, and drops
 *     the cached translations of every mapping that will move: no reader or writer (fast path
 *     included) reaches the moving memory while it is copied — their faults wait for the
 *     lock — so no byte is lost or changed. {@code activeMu} is not held while providers are
 *     called: their locks come before it in the lock order;</li>
 * <li>for each backing of kind {@code K} mapped somewhere and made by a provider other than
 *     {@code P}: {@code P.adopt} makes an equal backing (memory copied, file re-opened, segment
 *     handed over), then every vma mapping the old one is re-pointed
 *     ({@link Migration#repointLocked});</li>
 * <li>unlocks, then drops the old identities' references: when the last goes, the old
 *     provider's memory is freed and it holds nothing.</li>
 * </ol>
 * An adoption that fails leaves that backing where it was (it keeps working on its old
 * provider). Address spaces made during a migration are caught by repeating it until a pass
 * finds none new.
 *
 * <p>Thread safety: migrations are serialized; registration is safe from any thread. Weak
 * references only: remembering a backing or an address space never keeps it alive.
 */
public final class ProviderSwap {
    /** What is remembered of a backing handed out (not the Mappable: that is the key). */
    private record Made(Backing template, WeakReference<MappingIdentity> identity) {
    }

    /** The result of a migration. */
    public record Result(int backings, int vmas, int failed) {
    }

    private static final System.Logger LOG = System.getLogger("memmap.mm");
    private final Map<Mappable, Made> made = Collections.synchronizedMap(new WeakHashMap<>());
    private final Set<MemoryManager> spaces = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private final Object migrationLock = new Object();

    /** Remembers that {@code b} was handed out. */
    public void made(Backing b) {
        made.put(b.mappable(), new Made(b, new WeakReference<>(b.identity())));
    }

    public void created(MemoryManager mm) {
        spaces.add(mm);
    }

    public void released(MemoryManager mm) {
        spaces.remove(mm);
    }

    /** Moves every mapped backing of {@code target}'s kind made by another provider to {@code target}. */
    public Result migrate(Context ctx, BackingProvider target) {
        synchronized (migrationLock) {
            int backings = 0;
            int vmas = 0;
            int failed = 0;
            Set<MemoryManager> done = Collections.newSetFromMap(new IdentityHashMap<>());
            while (true) {
                List<MemoryManager> pass;
                synchronized (spaces) {
                    pass = new ArrayList<>(spaces);
                }
                // Every space again while new ones appear: a fork made meanwhile may share backings.
                if (done.containsAll(pass)) {
                    return new Result(backings, vmas, failed);
                }
                pass.sort(Comparator.comparingLong(mm -> mm.serial));
                Result r = migrateLocked(ctx, target, pass);
                backings += r.backings;
                vmas += r.vmas;
                failed += r.failed;
                done.addAll(pass);
            }
        }
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

    private Result migrateLocked(Context ctx, BackingProvider target, List<MemoryManager> pass) {
        BackingKind kind = target.kind();
        List<MappingIdentity> dropped = new ArrayList<>();
        Map<Mappable, Backing> adopted = new IdentityHashMap<>();
        Set<Mappable> refused = Collections.newSetFromMap(new IdentityHashMap<>());
        int vmas = 0;
        java.util.function.Predicate<Mappable> moving = m -> {
            Made from = made.get(m);
            return from != null && from.template.request().kind() == kind && !from.template.providerId().equals(target.id());
        };
        pass.forEach(mm -> mm.migration.lockMapping());
        try {
            // First nobody reaches the moving memory (not even the fast path), then copy it.
            pass.forEach(mm -> mm.migration.invalidateMappablesLocked(moving));
            for (MemoryManager mm : pass) {
                vmas += mm.migration.repointLocked(ctx, m -> {
                    if (refused.contains(m)) {
                        return null;
                    }
                    Backing to = adopted.get(m);
                    if (to != null) {
                        return new Migration.Replacement(to);
                    }
                    Made from = made.get(m);
                    if (from == null || from.template.request().kind() != kind || from.template.providerId().equals(target.id())) {
                        return null;
                    }
                    MappingIdentity id = from.identity.get();
                    if (id == null) {
                        return null;
                    }
                    Backing live = new Backing(from.template.request(), m, id, from.template.providerId(), from.template.mapAs());
                    try {
                        to = target.adopt(ctx, live);
                    } catch (MemmapException | RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "memmap.mm: " + target.id() + " refused to adopt " + live.request()
                                + " from " + live.providerId() + " (it stays there, working): " + e);
                        refused.add(m);
                        return null;
                    }
                    adopted.put(m, to);
                    return new Migration.Replacement(to);
                }, dropped);
            }
        } finally {
            pass.forEach(mm -> mm.migration.unlockMapping());
            adopted.forEach((old, to) -> {
                made.remove(old);
                made(to);
                // The adoption's own reference: the vmas now hold theirs.
                dropped.add(to.identity());
            });
            dropped.forEach(id -> id.decRef(ctx));
        }
        return new Result(adopted.size(), vmas, refused.size());
    }
}
