package memmap.mm.internal;

import java.util.List;
import java.util.function.Supplier;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
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

    /** The provider serving {@code kind} now (the one {@link #backing} asks), or null. */
    default BackingProvider serving(BackingKind kind) {
        return null;
    }

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
        SysVSharedMemory sysv = null;
        for (BackingProvider p : ps) {
            if (p instanceof SysVSharedMemory s) {
                sysv = s;
            }
        }
        SysVSharedMemory registry = sysv;
        return swapping(new ProviderSwap(), () -> memoryFile, () -> ps, () -> registry, () -> null);
    }

    /**
     * Backings looked up through the suppliers at each use (a supplier returning null or an
     * empty list means none is serving: ENODEV naming what is missing). Every backing handed
     * out and every address space made is registered with {@code swap}, so that {@code swap}
     * can migrate them. The AddressSpaces component, ServiceLoader use, tests and benchmarks
     * all go through this one.
     *
     * @param providers the bound providers in ascending serving order (the last of a kind serves)
     */
    static Backings swapping(ProviderSwap swap, Supplier<MemoryFile> memoryFile, Supplier<List<BackingProvider>> providers,
            Supplier<SysVSharedMemory> sysv, Supplier<BufferedIOFallbackStrategy> fallback) {
        return swapping(swap, memoryFile, providers, sysv, fallback, ProviderWait.NONE);
    }

    /**
     * Waits for a provider of a kind while none serves it (one is being replaced or restarted).
     * Thread-safe.
     */
    interface ProviderWait {
        /** Never waits: no provider serving is ENODEV at once. */
        ProviderWait NONE = (kind, not) -> null;

        /**
         * The provider serving {@code kind} once there is one other than {@code not}, or null
         * when none is coming (none of the kind is configured) or none came in time.
         */
        BackingProvider await(BackingKind kind, BackingProvider not) throws InterruptedException;
    }

    /** The last provider of {@code kind} in {@code providers} (ascending serving order), or null. */
    static BackingProvider servingOf(List<BackingProvider> providers, BackingKind kind) {
        BackingProvider chosen = null;
        for (BackingProvider p : providers) {
            if (p.kind() == kind) {
                chosen = p;
            }
        }
        return chosen;
    }

    /**
     * As {@link #swapping(ProviderSwap, Supplier, Supplier, Supplier, Supplier)}; a request of a
     * kind no provider serves right now — or whose provider was released under it (a
     * reconfiguration or restart) — waits through {@code wait} for the one coming, and is
     * ENODEV only when none comes.
     */
    static Backings swapping(ProviderSwap swap, Supplier<MemoryFile> memoryFile, Supplier<List<BackingProvider>> providers,
            Supplier<SysVSharedMemory> sysv, Supplier<BufferedIOFallbackStrategy> fallback, ProviderWait wait) {
        return new Backings() {
            @Override
            public BackingProvider serving(BackingKind kind) {
                List<BackingProvider> ps = providers.get();
                return ps == null ? null : servingOf(ps, kind);
            }

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
                BackingProvider released = null;
                for (int attempt = 0; ; attempt++) {
                    BackingProvider p = servingOf(providers.get(), request.kind());
                    if (p == null || p == released) {
                        try {
                            p = wait.await(request.kind(), released);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw Errno.EINTR.exception("waiting for a provider for kind " + request.kind().id());
                        }
                        if (p == null) {
                            throw Errno.ENODEV.exception("no provider for kind " + request.kind().id());
                        }
                    }
                    Backing b;
                    try {
                        b = p.create(ctx, request);
                    } catch (IllegalStateException e) {
                        // Released between being chosen and asked (the BackingProvider contract):
                        // the one replacing it serves. A few rounds at most, then say so.
                        if (attempt >= 3) {
                            throw e;
                        }
                        released = p;
                        continue;
                    }
                    swap.made(b);
                    return b;
                }
            }

            @Override
            public BufferedIOFallbackStrategy fallback() {
                return fallback.get();
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
}
