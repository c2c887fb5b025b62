package memmap.anon.internal;

import memmap.api.MemmapException;
import memmap.api.MemoryFile;

/**
 * The memory file for plain-JPMS use ({@code ServiceLoader.load(MemoryFile.class)}): one per
 * JVM, made on first use with the component's default settings, never released (it lives as
 * long as the program, as the OSGi service lives as long as its bundle).
 */
public final class ServiceLoaderMemoryFile {
    private static volatile MemfdMemoryFile instance;

    private ServiceLoaderMemoryFile() {
    }

    /** The ServiceLoader provider method. */
    public static MemoryFile provider() {
        return shared();
    }

    static MemfdMemoryFile shared() {
        MemfdMemoryFile mf = instance;
        if (mf == null) {
            synchronized (ServiceLoaderMemoryFile.class) {
                mf = instance;
                if (mf == null) {
                    try {
                        instance = mf = new MemfdMemoryFile(memmap.posix.Settings.defaults(MemfdMemoryFile.Config.class));
                    } catch (MemmapException e) {
                        throw new IllegalStateException("cannot make the memory file: " + e.getMessage(), e);
                    }
                }
            }
        }
        return mf;
    }
}
