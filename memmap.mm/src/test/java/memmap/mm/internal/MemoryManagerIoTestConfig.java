package memmap.mm.internal;

import memmap.anon.internal.AnonymousProvider;

/** The anonymous provider's settings for the address-space tests: a 4-page fill window, no populate. */
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
}
