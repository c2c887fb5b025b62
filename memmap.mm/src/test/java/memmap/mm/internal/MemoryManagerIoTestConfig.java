package memmap.mm.internal;

import memmap.anon.internal.AnonymousProvider;

/** The anonymous provider's settings for the address-space tests: a 4-page fill window, no populate. */
final class MemoryManagerIoTestConfig {
    private MemoryManagerIoTestConfig() {}

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
