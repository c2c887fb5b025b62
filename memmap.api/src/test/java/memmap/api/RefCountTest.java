package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** RefCount, and the Mappable argument checks every provider shares. */
class RefCountTest {
    @Test
    void countsAndDiesAtZero() {
        RefCount r = new RefCount("thing");
        r.incRef();
        assertEquals(2, r.get());
        assertFalse(r.decRef());
        assertTrue(r.decRef(), "the last reference");
        assertFalse(r.tryIncRef());
        var e = assertThrows(IllegalStateException.class, r::incRef);
        assertEquals("incRef on released thing", e.getMessage());
        assertThrows(IllegalStateException.class, r::decRef);
        assertEquals(0, r.get(), "a refused decRef changes nothing");
    }

    @Test
    void concurrentIncAndDecBalance() throws Exception {
        RefCount r = new RefCount("x");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            pool.submit(() -> {
                for (int i = 0; i < 100_000; i++) {
                    r.incRef();
                    r.decRef();
                }
            });
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        assertEquals(1, r.get());
    }

    @Test
    void mappableArgumentChecks() {
        assertEquals(new MappableRange(0x1000, 0x3000), Mappable.checkMapping(new AddrRange(0x10000, 0x12000), 0x1000));
        assertThrows(IllegalArgumentException.class, () -> Mappable.checkMapping(new AddrRange(0x10000, 0x10000), 0));
        var e = assertThrows(IllegalArgumentException.class, () -> Mappable.checkMapping(new AddrRange(0x10000, 0x11000), 0x10));
        assertEquals("offset = 0x10 is not page-aligned", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Mappable.checkMapping(new AddrRange(0x10000, 0x11000), -0x1000L));
        assertTrue(e.getMessage().contains("overflows 2^64"), e.getMessage());
        Mappable.checkTranslate(new MappableRange(0x1000, 0x2000), new MappableRange(0, 0x3000));
        e = assertThrows(IllegalArgumentException.class,
                () -> Mappable.checkTranslate(new MappableRange(0x1000, 0x2000), new MappableRange(0x1800, 0x3000)));
        assertTrue(e.getMessage().startsWith("optional = [0x1800, 0x3000)"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Mappable.checkTranslate(new MappableRange(0x1000, 0x1000), new MappableRange(0, 0x3000)));
    }
}
