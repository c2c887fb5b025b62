package memmap.mm.internal;

import java.util.List;

import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import memmap.api.AddressSpace;
import memmap.api.Context;
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
public final class AddressSpacesComponent implements AddressSpaces {
    private final ProviderSwap swap = new ProviderSwap();
    private final ServingOrder<BackingProvider> providers = new ServingOrder<>();
    private final ServingOrder<MemoryFile> memoryFiles = new ServingOrder<>();
    private final ServingOrder<SysVSharedMemory> sysvs = new ServingOrder<>();
    /** What the address spaces made here use: the serving services, read at each use. */
    private final Backings backings = Backings.swapping(swap, memoryFiles::serving, providers::all, sysvs::serving, () -> {
        List<BufferedIOFallbackStrategy> ss = this.strategies; // DS sets it; ascending ranking
        return ss == null || ss.isEmpty() ? null : ss.getLast();
    });

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<BufferedIOFallbackStrategy> strategies;

    /** A provider arrived: if it now serves its kind, live mappings of that kind move to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
        migrateTo(p.kind());
    }

    /** A provider's ranking changed: the one serving its kind now takes the live mappings. */
    void updatedProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
        migrateTo(p.kind());
    }

    /**
     * A provider left: live mappings of its kind move to the next provider of the kind if there
     * is one, and otherwise stay on the departed provider's memory, which lives until unmapped.
     */
    void unbindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.remove(p);
        migrateTo(p.kind());
    }

    private void migrateTo(BackingKind kind) {
        BackingProvider top = null;
        for (BackingProvider q : providers.all()) {
            if (q.kind() == kind) {
                top = q;
            }
        }
        if (top != null) {
            swap.migrate(Context.background(), top);
        }
    }

    /** A memory file arrived: if it now serves, private pages held in other memory files move into it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        memoryFiles.put(ref, mf);
        movePrivatePages();
    }

    /** A memory file left: private pages move to the one serving now, if any, else stay. */
    void unbindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        memoryFiles.remove(mf);
        movePrivatePages();
    }

    private void movePrivatePages() {
        MemoryFile serving = memoryFiles.serving();
        if (serving != null) {
            swap.migratePrivatePages(Context.background(), serving);
        }
    }

    /** A System V registry arrived: if it now serves, attached segments are handed over to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        sysvs.put(ref, r);
        handOverSegments();
    }

    /** A System V registry left: its attached segments go to the one serving now, if any, else stay. */
    void unbindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        sysvs.remove(r);
        handOverSegments();
    }

    private void handOverSegments() {
        SysVSharedMemory serving = sysvs.serving();
        if (serving != null) {
            swap.migrateSegments(Context.background(), serving);
        }
    }

    @Override
    public AddressSpace create(Context ctx) {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    @Override
    public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
        return backings.backing(ctx, request);
    }
}
