package memmap.api.provider;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The provider service value types. */
class ProviderTypesTest {
    @Test
    void kindsHaveServicePropertyIds() {
        assertEquals("anonymous", BackingKind.ANONYMOUS.id());
        assertEquals(BackingKind.HOST_FILE, BackingKind.ofId("hostfile"));
        assertEquals(BackingKind.SHARED_MEMORY, BackingKind.ofId("shm"));
        var e = assertThrows(IllegalArgumentException.class, () -> BackingKind.ofId("tmpfs"));
        assertTrue(e.getMessage().startsWith("kind = \"tmpfs\""), e.getMessage());
    }

    @Test
    void requestsValidateAndKnowTheirKind() {
        assertEquals(BackingKind.ANONYMOUS, new BackingRequest.Anonymous(4096).kind());
        var e = assertThrows(IllegalArgumentException.class, () -> new BackingRequest.Anonymous(0));
        assertTrue(e.getMessage().startsWith("length = 0x0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new BackingRequest.Anonymous(4097));
        assertEquals(BackingKind.HOST_FILE, new BackingRequest.HostFile(Path.of("x"), false).kind());
        assertThrows(NullPointerException.class, () -> new BackingRequest.HostFile(null, false));
        assertEquals(BackingKind.SHARED_MEMORY, new BackingRequest.SharedMemory("seg", 0).kind());
        assertThrows(NullPointerException.class, () -> new Backing(new BackingRequest.Anonymous(4096), null, null, "p"));
        assertEquals(0, ProviderUsage.NONE.liveBackings());
    }
}
