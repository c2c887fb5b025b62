package memmap.anon.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/**
 * The anonymous provider's and the memory file's configuration as DS hands it over: a bad value
 * or a mistyped key is one line naming the PID, the property and the value, the value serving
 * goes on serving, and the provider keeps making backings.
 */
class ConfigurationMistakesTest {
    static final Context CTX = Context.background();
    MemfdMemoryFile mf;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("config-test", 2L << 20, 1L << 30, 0, false);
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    @Test
    void aBadValueAtActivationLeavesTheDefaultServing() throws Exception {
        AnonymousProvider p = new AnonymousProvider(mf, Map.of("component.id", 1L, "fillAhead", "banana", "populate", "false"));
        assertEquals(new AnonymousProvider.Serving(65536, false), p.settings(), "the rest of the configuration applies");
        Backing b = p.create(CTX, new BackingRequest.Anonymous(1 << 20));
        b.identity().decRef(CTX);
    }

    @Test
    void aBadValueLaterLeavesTheServingValueServing() {
        AnonymousProvider p = new AnonymousProvider(mf, Map.of("component.id", 1L, "fillAhead", "8192"));
        assertEquals(8192, p.settings().fillAhead());
        List<String> r = p.apply(Map.of("fillAhead", "banana"));
        assertEquals(List.of("memmap.anon.provider: fillAhead = \"banana\" rejected: not a number; keeping 8192"), r);
        assertEquals(8192, p.settings().fillAhead());
        r = p.apply(Map.of("fillAhead", 12345L));
        assertEquals(List.of("memmap.anon.provider: fillAhead = 12345 rejected: must be a power of two of at least 4096; keeping 8192"), r);
        assertEquals(List.of(), p.apply(Map.of("fillAhead", "16K")));
        assertEquals(16384, p.settings().fillAhead(), "a good value applies live");
        assertEquals(List.of(), p.apply(Map.of()));
        assertEquals(65536, p.settings().fillAhead(), "a deleted configuration is the defaults again");
    }

    @Test
    void aMistypedKeyIsOneLineAndChangesNothing() {
        AnonymousProvider p = new AnonymousProvider(mf, Map.of("component.id", 1L));
        List<String> r = p.apply(Map.of("fillahead", "8192", "memmap.backing.kind", "anonymous", "service.pid", "memmap.anon.provider"));
        assertEquals(List.of("memmap.anon.provider: unknown property fillahead = \"8192\" ignored (did you mean fillAhead?)"), r);
        assertEquals(65536, p.settings().fillAhead());
    }

    @Test
    void theMemoryFileTakesGoodValuesAndRejectsBadOnes() throws Exception {
        MemfdMemoryFile m = new MemfdMemoryFile(Map.of("memoryLimit", "banana", "chunkSize", "2M", "retainedLimit", -5L));
        try {
            assertEquals(16L << 30, m.memoryLimit(), "the default where the value was bad");
        } finally {
            m.release();
        }
    }
}
