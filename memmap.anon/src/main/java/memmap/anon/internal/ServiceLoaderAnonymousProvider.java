package memmap.anon.internal;

import java.util.Map;

import memmap.api.provider.BackingProvider;

/**
 * The anonymous-memory provider for plain-JPMS use ({@code ServiceLoader.load(BackingProvider.class)}):
 * default settings, pages from the {@link ServiceLoaderMemoryFile}.
 */
public final class ServiceLoaderAnonymousProvider {
    private ServiceLoaderAnonymousProvider() {
    }

    /** The ServiceLoader provider method: a new provider on the JVM's shared memory file. */
    public static BackingProvider provider() {
        return new AnonymousProvider(ServiceLoaderMemoryFile.shared(), memmap.posix.Settings.defaults(AnonymousProvider.Config.class),
                Map.of("component.id", "serviceloader"));
    }
}
