package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** MMapOpts (§1.9): every field round-trips; the combinations the seed forbids are refused. */
class MMapOptsTest {
    @Test
    void everyFieldRoundTrips() {
        MMapOpts o = MMapOpts.builder().length(0x2000).offset(0x1000).addr(0x40000).fixed(true).unmap(true)
                .map32Bit(true).perms(AccessType.READ).maxPerms(AccessType.READ_EXECUTE).isPrivate(true).growsDown(true)
                .stack(true).platformEffect(MMapPlatformEffect.COMMIT).mlockMode(MLockMode.LAZY).name("[stack]")
                .nameMut(NameMut.ANON).force(true).requirePlatformEffect(true).sentryOwnedContent(true).build();
        assertEquals(o, o.toBuilder().build());
        assertEquals(0x2000, o.length());
        assertEquals("[stack]", o.name());
        assertEquals(MLockMode.LAZY, o.mlockMode());
        assertTrue(o.isAnonymous());
    }

    @Test
    void defaults() {
        MMapOpts o = MMapOpts.builder().length(0x1000).build();
        assertEquals(AccessType.READ_WRITE, o.perms());
        assertEquals(AccessType.ANY_ACCESS, o.maxPerms());
        assertEquals(MLockMode.NONE, o.mlockMode());
        assertEquals(NameMut.DISALLOWED, o.nameMut());
        assertEquals(MMapPlatformEffect.DEFAULT, o.platformEffect());
        assertEquals("", o.name());
    }

    @Test
    void forbiddenCombinationsNameTheFields() {
        var e = assertThrows(IllegalArgumentException.class, () -> MMapOpts.builder().unmap(true).build());
        assertEquals("unmap = true requires fixed = true", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MMapOpts.builder().fixed(true).force(true).build());
        assertTrue(e.getMessage().startsWith("force = true requires fixed = true and unmap = true"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MMapOpts.builder().noReplace(true).build());
        assertTrue(e.getMessage().startsWith("noReplace = true requires fixed = true"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MMapOpts.builder().fixed(true).unmap(true).noReplace(true).build());
        e = assertThrows(IllegalArgumentException.class, () -> MMapOpts.builder().maxPerms(AccessType.WRITE).build());
        assertTrue(e.getMessage().startsWith("maxPerms = -w- is not effective"), e.getMessage());
        assertThrows(NullPointerException.class, () -> MMapOpts.builder().perms(null).build());
        assertDoesNotThrow(() -> MMapOpts.builder().fixed(true).noReplace(true).build());
    }
}
