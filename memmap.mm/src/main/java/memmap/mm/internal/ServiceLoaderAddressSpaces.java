package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;

/**
 * {@link AddressSpaces} for plain-JPMS use ({@code ServiceLoader.load(AddressSpaces.class)}):
 * the memory file, backing providers and fallback strategy are found with ServiceLoader once,
 * when this is made (the first of each kind found serves it). There is no hot swap without a
 * service registry.
 */
public final class ServiceLoaderAddressSpaces implements AddressSpaces {
    private final ProviderSwap swap;
    private final Backings backings;

    private ServiceLoaderAddressSpaces(ProviderSwap swap, Backings backings) {
        this.swap = swap;
        this.backings = backings;
    }

    /** The ServiceLoader provider method. */
    public static AddressSpaces provider() {
        ClassLoader cl = ServiceLoaderAddressSpaces.class.getClassLoader();
        Module self = ServiceLoaderAddressSpaces.class.getModule();
        self.addUses(MemoryFile.class);
        self.addUses(BackingProvider.class);
        self.addUses(BufferedIOFallbackStrategy.class);
        MemoryFile mf = ServiceLoader.load(MemoryFile.class, cl).findFirst().orElse(null);
        List<BackingProvider> ps = new ArrayList<>();
        // The last provider of a kind serves: reverse, so that the first one found does.
        ServiceLoader.load(BackingProvider.class, cl).forEach(ps::addFirst);
        List<BackingProvider> providers = List.copyOf(ps);
        SysVSharedMemory sysv = null;
        for (BackingProvider p : providers) {
            if (p instanceof SysVSharedMemory s && sysv == null) {
                sysv = s;
            }
        }
        SysVSharedMemory registry = sysv;
        BufferedIOFallbackStrategy fb = ServiceLoader.load(BufferedIOFallbackStrategy.class, cl).findFirst().orElse(null);
        ProviderSwap swap = new ProviderSwap();
        return new ServiceLoaderAddressSpaces(swap, Backings.swapping(swap, () -> mf, () -> providers, () -> registry, () -> fb));
    }

    @Override
    public AddressSpace create(Context ctx) {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    @Override
    public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
        return backings.backing(ctx, request);
    }

    @Override
    public java.util.Optional<String> serving(memmap.api.provider.BackingKind kind) {
        java.util.Objects.requireNonNull(kind, "kind = null");
        return java.util.Optional.ofNullable(backings.serving(kind)).map(BackingProvider::id);
    }

    @Override
    public java.util.List<AddressSpace> live() {
        return java.util.List.copyOf(swap.spacesInOrder());
    }
}
