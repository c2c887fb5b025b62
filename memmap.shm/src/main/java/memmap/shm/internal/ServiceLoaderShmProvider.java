package memmap.shm.internal;

import java.util.Map;
import java.util.ServiceLoader;

import memmap.api.MemoryFile;
import memmap.api.provider.BackingProvider;

/**
 * The shared-memory provider (POSIX and System V) for plain-JPMS use
 * ({@code ServiceLoader.load(BackingProvider.class)}): default settings, pages from the memory
 * file ServiceLoader finds first (memmap.anon's, shared by the whole JVM). One provider per
 * JVM, whoever loads it: the System V and POSIX namespaces are the process's, as the kernel's are.
 */
public final class ServiceLoaderShmProvider {
    private ServiceLoaderShmProvider() {
    }

    private static final class Shared {
        static final ShmProvider INSTANCE = make();

        private static ShmProvider make() {
            ServiceLoaderShmProvider.class.getModule().addUses(MemoryFile.class);
            MemoryFile mf = ServiceLoader.load(MemoryFile.class, ServiceLoaderShmProvider.class.getClassLoader()).findFirst()
                    .orElseThrow(() -> new IllegalStateException("memmap.shm: no MemoryFile on the module path (add memmap.anon)"));
            return new ShmProvider(mf, Map.of("component.id", "serviceloader"));
        }
    }

    /** The ServiceLoader provider method: the JVM's one shared-memory provider. */
    public static BackingProvider provider() {
        return Shared.INSTANCE;
    }
}
