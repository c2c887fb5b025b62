package memmap.mm.internal;

import java.util.List;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;

/**
 * What an address space takes from outside, looked up at each use so that replaced services
 * serve the next use at once: the memory file (private pages), backing providers by kind, the
 * buffered-I/O fallback strategy.
 */
public interface Backings {
    /** The memory file for new private pages. */
    MemoryFile memoryFile() throws MemmapException;

    /** A backing from the highest-ranked provider of the request's kind; ENODEV if none. */
    Backing backing(Context ctx, BackingRequest request) throws MemmapException;

    /** The highest-ranked fallback strategy, or null to use the File's own buffered I/O. */
    BufferedIOFallbackStrategy fallback();

    /** The System V shared memory service; ENODEV if none. */
    SysVSharedMemory sysv() throws MemmapException;

    /**
     * Told of every address space made with these backings (forks included), at the end of its
     * constructor, so that a provider replaced later can migrate its mappings.
     */
    default void created(MemoryManager mm) {
    }

    /** Told that {@code mm} was released: it maps nothing any more. */
    default void released(MemoryManager mm) {
    }

    /** Fixed services (for tests and plain-Java use): one memory file, the given providers, no strategy. */
    static Backings of(MemoryFile memoryFile, BackingProvider... providers) {
        List<BackingProvider> ps = List.of(providers);
        return new Backings() {
            @Override
            public MemoryFile memoryFile() {
                return memoryFile;
            }

            @Override
            public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
                return route(ps, ctx, request);
            }

            @Override
            public BufferedIOFallbackStrategy fallback() {
                return null;
            }

            @Override
            public SysVSharedMemory sysv() throws MemmapException {
                for (BackingProvider p : ps) {
                    if (p instanceof SysVSharedMemory s) {
                        return s;
                    }
                }
                throw Errno.ENODEV.exception("no provider for kind shm");
            }
        };
    }

    /**
     * What the AddressSpaces component does, with the serving services chosen by the caller
     * (tests, benchmarks, plain-Java hosts): every backing handed out and every address space
     * made is registered with {@code swap}, so {@code swap} can migrate them; no strategy.
     * A supplier returning null means none is serving (ENODEV).
     */
    static Backings swapping(ProviderSwap swap, java.util.function.Supplier<MemoryFile> memoryFile,
            java.util.function.Supplier<BackingProvider> provider, java.util.function.Supplier<SysVSharedMemory> sysv) {
        return new Backings() {
            @Override
            public MemoryFile memoryFile() throws MemmapException {
                MemoryFile mf = memoryFile.get();
                if (mf == null) {
                    throw Errno.ENODEV.exception("no MemoryFile service: is memmap.anon running?");
                }
                return mf;
            }

            @Override
            public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
                BackingProvider p = provider.get();
                Backing b = route(p == null ? List.of() : List.of(p), ctx, request);
                swap.made(b);
                return b;
            }

            @Override
            public BufferedIOFallbackStrategy fallback() {
                return null;
            }

            @Override
            public SysVSharedMemory sysv() throws MemmapException {
                SysVSharedMemory s = sysv.get();
                if (s == null) {
                    throw Errno.ENODEV.exception("no provider for kind shm");
                }
                return s;
            }

            @Override
            public void created(MemoryManager mm) {
                swap.created(mm);
            }

            @Override
            public void released(MemoryManager mm) {
                swap.released(mm);
            }
        };
    }

    /** The last provider of the request's kind in {@code providers} (lists are in ascending ranking order). */
    static Backing route(List<BackingProvider> providers, Context ctx, BackingRequest request) throws MemmapException {
        BackingProvider chosen = null;
        for (BackingProvider p : providers) {
            if (p.kind() == request.kind()) {
                chosen = p;
            }
        }
        if (chosen == null) {
            throw Errno.ENODEV.exception("no provider for kind " + request.kind().id());
        }
        return chosen.create(ctx, request);
    }
}
