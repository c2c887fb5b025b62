package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
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
public final class ServiceLoaderAddressSpaces implements AddressSpaces, Backings {
    private final MemoryFile memoryFile;
    private final List<BackingProvider> providers;
    private final BufferedIOFallbackStrategy fallback;

    private ServiceLoaderAddressSpaces(MemoryFile memoryFile, List<BackingProvider> providers, BufferedIOFallbackStrategy fallback) {
        this.memoryFile = memoryFile;
        this.providers = providers;
        this.fallback = fallback;
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
        // Backings.route takes the last provider of a kind: reverse, so the first found serves.
        ServiceLoader.load(BackingProvider.class, cl).forEach(p -> ps.addFirst(p));
        BufferedIOFallbackStrategy fb = ServiceLoader.load(BufferedIOFallbackStrategy.class, cl).findFirst().orElse(null);
        return new ServiceLoaderAddressSpaces(mf, List.copyOf(ps), fb);
    }

    @Override
    public AddressSpace create(Context ctx) {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, this);
    }

    @Override
    public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
        return Backings.route(providers, ctx, request);
    }

    @Override
    public MemoryFile memoryFile() throws MemmapException {
        if (memoryFile == null) {
            throw Errno.ENODEV.exception("no MemoryFile found by ServiceLoader: is memmap.anon on the module path?");
        }
        return memoryFile;
    }

    @Override
    public BufferedIOFallbackStrategy fallback() {
        return fallback;
    }

    @Override
    public SysVSharedMemory sysv() throws MemmapException {
        for (BackingProvider p : providers) {
            if (p instanceof SysVSharedMemory s) {
                return s;
            }
        }
        throw Errno.ENODEV.exception("no provider for kind shm");
    }
}
