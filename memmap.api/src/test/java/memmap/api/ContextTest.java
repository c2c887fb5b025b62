package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Set;

import org.junit.jupiter.api.Test;

/** Context, credentials and limits. */
class ContextTest {
    @Test
    void backgroundIsRootWithoutLimits() {
        Context c = Context.background();
        assertTrue(c.credentials().has(Capability.IPC_LOCK));
        assertEquals(0, c.credentials().uid());
        assertEquals(ResourceLimits.UNLIMITED, c.limits());
        assertEquals(ResourceLimits.INFINITY, c.limits().memlock());
    }

    @Test
    void withersChangeOneThing() {
        Context c = Context.background().withCredentials(Credentials.user(1000, 100)).withMemCgId(3).withThreadGroupId(42)
                .withLimits(ResourceLimits.LINUX_DEFAULTS);
        assertFalse(c.credentials().has(Capability.IPC_OWNER));
        assertEquals(3, c.memCgId());
        assertEquals(42, c.threadGroupId());
        assertEquals(8L << 20, c.limits().memlock());
        assertThrows(NullPointerException.class, () -> c.withCredentials(null));
    }

    @Test
    void groups() {
        Credentials cr = new Credentials(1000, 100, Set.of(200, 300), Set.of());
        assertTrue(cr.inGroup(100));
        assertTrue(cr.inGroup(300));
        assertFalse(cr.inGroup(400));
    }
}
