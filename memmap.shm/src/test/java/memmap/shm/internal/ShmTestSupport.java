package memmap.shm.internal;

import java.util.Map;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.MemmapException;

/** A shm provider over a real memfd memory file, as the framework would wire it. */
final class ShmTestSupport {
    private ShmTestSupport() {}

    static MemfdMemoryFile memoryFile() throws MemmapException {
        return new MemfdMemoryFile("shm-test", 2L << 20, 1L << 30, 0, false);
    }

    static ShmProvider provider(MemfdMemoryFile mf, long shmMni, long shmAll) {
        return new ShmProvider(mf, config(shmMni, shmAll), Map.of("component.id", 5L));
    }

    static ShmProvider.Config config(long shmMni, long shmAll) {
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
                return shmAll;
            }

            @Override
            public long shmMni() {
                return shmMni;
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
