package memmap.hostfile.internal;

import java.util.Map;

import memmap.api.provider.BackingProvider;

/**
 * The host-file provider for plain-JPMS use ({@code ServiceLoader.load(BackingProvider.class)}):
 * default settings (no root directory: any file the process may open; every file mapped).
 */
public final class ServiceLoaderHostFileProvider {
    private ServiceLoaderHostFileProvider() {
    }

    /** The ServiceLoader provider method. */
    public static BackingProvider provider() {
        return new HostFileProvider(memmap.posix.Settings.defaults(HostFileProvider.Config.class), Map.of("component.id", "serviceloader"));
    }
}
