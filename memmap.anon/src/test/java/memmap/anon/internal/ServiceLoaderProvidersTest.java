package memmap.anon.internal;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

import memmap.api.Context;
import memmap.api.MemoryFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;

/** The plain-JPMS entry points: default settings, one memory file per JVM shared by the providers. */
class ServiceLoaderProvidersTest {
    @Test
    void providersShareOneMemoryFileWithDefaultSettings() throws Exception {
        MemoryFile mf = ServiceLoaderMemoryFile.provider();
        assertSame(mf, ServiceLoaderMemoryFile.provider(), "one memory file per JVM");
        BackingProvider p = ServiceLoaderAnonymousProvider.provider();
        assertEquals(BackingKind.ANONYMOUS, p.kind());
        assertTrue(p.id().startsWith("memmap.anon/serviceloader#"), p.id());
        long before = mf.usage().allocated();
        Backing b = p.create(Context.background(), new BackingRequest.Anonymous(1 << 16));
        assertEquals(1, p.usage().liveBackings());
        b.identity().decRef(Context.background());
        assertEquals(0, p.usage().liveBackings());
        assertEquals(before, mf.usage().allocated(), "nothing leaked into the shared memory file");
    }

    @Test
    void defaultsAreTheConfigurationTypesDefaults() {
        AnonymousProvider.Config c = memmap.posix.Settings.defaults(AnonymousProvider.Config.class);
        assertEquals(64L << 10, c.fillAhead());
        assertTrue(c.populate());
        assertEquals(AnonymousProvider.Config.class, c.annotationType());
        assertEquals(16L << 30, memmap.posix.Settings.defaults(MemfdMemoryFile.Config.class).memoryLimit());
    }
}
