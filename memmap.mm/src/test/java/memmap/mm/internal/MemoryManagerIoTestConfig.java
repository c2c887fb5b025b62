package memmap.mm.internal;

import memmap.anon.internal.AnonymousProvider;

/** The anonymous provider's settings for the address-space tests (a 4-page fill window, no populate), and a real host file to map. */
final class MemoryManagerIoTestConfig {
    private MemoryManagerIoTestConfig() {}

    /** The anonymous provider the address-space tests use, over {@code mf}. */
    static AnonymousProvider anonymous(memmap.api.MemoryFile mf) {
        return new AnonymousProvider(mf, config(), java.util.Map.of("component.id", 1L));
    }

    static AnonymousProvider.Config config() {
        return new AnonymousProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return AnonymousProvider.Config.class;
            }

            @Override
            public long fillAhead() {
                return 4 * 4096;
            }

            @Override
            public boolean populate() {
                return false;
            }
        };
    }

    /**
     * {@code bytes} zero bytes written to {@code file}, opened read-write and made a Mappable as
     * the host-file provider makes it (the caller drops it with {@code decRef}).
     */
    static memmap.posix.FdMappable hostFile(java.nio.file.Path file, long bytes) throws Exception {
        java.nio.file.Files.write(file, new byte[(int) bytes]);
        int fd = memmap.posix.Posix.open(file.toString(), memmap.posix.Posix.O_RDWR | memmap.posix.Posix.O_CLOEXEC, 0);
        return new memmap.posix.FdMappableCache().get(fd, memmap.posix.Posix.fstat(fd), file.toString(), true, true, true);
    }
}
