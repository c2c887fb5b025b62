package memmap.mm.internal;

import memmap.shm.internal.ShmProvider;

/** Linux's System V limits for the address-space tests. */
final class ShmConfig {
    private ShmConfig() {}

    static ShmProvider.Config config() {
        return new ShmProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return ShmProvider.Config.class;
            }

            @Override
            public long shmMin() {
                return 1;
            }

            @Override
            public long shmMax() {
                return -1L - (1L << 24);
            }

            @Override
            public long shmAll() {
                return -1L - (1L << 24);
            }

            @Override
            public long shmMni() {
                return 4096;
            }

            @Override
            public String posixDirectory() {
                return "/dev/shm";
            }

            @Override
            public long deviceId() {
                return 1;
            }
        };
    }
}
