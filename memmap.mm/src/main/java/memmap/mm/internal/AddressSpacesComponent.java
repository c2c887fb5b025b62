package memmap.mm.internal;

import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;

/**
 * The {@link AddressSpaces} service: makes address spaces that find their backings here, at
 * each use. Every reference is dynamic and greedy, so a provider, memory file or strategy
 * replaced at run time (a new bundle version, a higher ranking, a reconfiguration) serves the
 * next request at once; what was made before keeps its own provider's memory.
 *
 * <p>DS sets each list anew on every change, sorted by ascending service ranking; the last
 * entry of a kind is the highest ranked. Providers are kept in their own order (ranking, then
 * newest last) because their arrivals and departures drive the hot swap.
 */
@Component(service = AddressSpaces.class, immediate = true)
public final class AddressSpacesComponent implements AddressSpaces, Backings {
    private final ProviderSwap swap = new ProviderSwap();
    /**
     * Bound providers, ascending by ranking and then by age: among equal rankings the newest
     * (highest service id) serves, so a provider bundle dropped in beside the old one takes over.
     * Guarded by itself.
     */
    private final TreeMap<ServiceReference<BackingProvider>, BackingProvider> bound = new TreeMap<>(
            Comparator.comparingInt((ServiceReference<BackingProvider> r) -> r.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0)
                    .thenComparingLong(r -> (Long) r.getProperty(Constants.SERVICE_ID)));
    /** {@link #bound}'s values, republished on every change for lock-free routing. */
    private volatile List<BackingProvider> providers = List.of();

    /** Bound memory files in the providers' order (ranking, then newest last); guarded by itself. */
    private final TreeMap<ServiceReference<MemoryFile>, MemoryFile> files = new TreeMap<>(
            Comparator.comparingInt((ServiceReference<MemoryFile> r) -> r.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0)
                    .thenComparingLong(r -> (Long) r.getProperty(Constants.SERVICE_ID)));
    private volatile List<MemoryFile> memoryFiles = List.of();

    /** A memory file arrived: if it now serves, private pages held in other memory files move into it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        synchronized (files) {
            files.put(ref, mf);
            memoryFiles = List.copyOf(files.values());
        }
        movePrivatePages();
    }

    /** A memory file left: private pages move to the one serving now, if any, else stay. */
    void unbindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        synchronized (files) {
            files.values().removeIf(v -> v == mf);
            memoryFiles = List.copyOf(files.values());
        }
        movePrivatePages();
    }

    private void movePrivatePages() {
        List<MemoryFile> mfs = memoryFiles;
        if (!mfs.isEmpty()) {
            swap.migratePrivatePages(Context.background(), mfs.getLast());
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<BufferedIOFallbackStrategy> strategies;

    /** Bound System V registries in the providers' order; guarded by itself. */
    private final TreeMap<ServiceReference<SysVSharedMemory>, SysVSharedMemory> registries = new TreeMap<>(
            Comparator.comparingInt((ServiceReference<SysVSharedMemory> r) -> r.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0)
                    .thenComparingLong(r -> (Long) r.getProperty(Constants.SERVICE_ID)));
    private volatile List<SysVSharedMemory> sysvs = List.of();

    /** A System V registry arrived: if it now serves, attached segments are handed over to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        synchronized (registries) {
            registries.put(ref, r);
            sysvs = List.copyOf(registries.values());
        }
        handOverSegments();
    }

    /** A System V registry left: its attached segments go to the one serving now, if any, else stay. */
    void unbindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        synchronized (registries) {
            registries.values().removeIf(v -> v == r);
            sysvs = List.copyOf(registries.values());
        }
        handOverSegments();
    }

    private void handOverSegments() {
        List<SysVSharedMemory> rs = sysvs;
        if (!rs.isEmpty()) {
            swap.migrateSegments(Context.background(), rs.getLast());
        }
    }

    /** A provider arrived: if it now serves its kind, live mappings of that kind move to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        synchronized (bound) {
            bound.put(ref, p);
            providers = List.copyOf(bound.values());
        }
        migrateTo(p.kind());
    }

    /** A provider's ranking changed: the highest-ranked one of its kind takes the live mappings. */
    void updatedProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        synchronized (bound) {
            // The ranking in the key has changed: find the entry by its service object.
            bound.values().removeIf(v -> v == p);
            bound.put(ref, p);
            providers = List.copyOf(bound.values());
        }
        migrateTo(p.kind());
    }

    /**
     * A provider left: live mappings of its kind move to the next provider of the kind if there
     * is one, and otherwise stay on the departed provider's memory, which lives until unmapped.
     */
    void unbindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        synchronized (bound) {
            bound.values().removeIf(v -> v == p);
            providers = List.copyOf(bound.values());
        }
        migrateTo(p.kind());
    }

    private void migrateTo(BackingKind kind) {
        BackingProvider top = null;
        for (BackingProvider q : providers) {
            if (q.kind() == kind) {
                top = q;
            }
        }
        if (top != null) {
            swap.migrate(Context.background(), top);
        }
    }

    @Override
    public void created(MemoryManager mm) {
        swap.created(mm);
    }

    @Override
    public void released(MemoryManager mm) {
        swap.released(mm);
    }

    @Override
    public SysVSharedMemory sysv() throws MemmapException {
        List<SysVSharedMemory> ss = sysvs;
        if (ss.isEmpty()) {
            throw Errno.ENODEV.exception("no provider for kind shm");
        }
        return ss.getLast();
    }

    @Override
    public AddressSpace create(Context ctx) {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, this);
    }

    @Override
    public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
        Backing b = Backings.route(providers, ctx, request);
        swap.made(b);
        return b;
    }

    @Override
    public MemoryFile memoryFile() throws MemmapException {
        List<MemoryFile> mfs = memoryFiles;
        if (mfs.isEmpty()) {
            throw Errno.ENODEV.exception("no MemoryFile service: is memmap.anon running?");
        }
        return mfs.getLast();
    }

    @Override
    public BufferedIOFallbackStrategy fallback() {
        List<BufferedIOFallbackStrategy> ss = strategies;
        return ss == null || ss.isEmpty() ? null : ss.getLast();
    }
}
