package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.provider.BackingProvider;

/**
 * What the hot-swap tests share: two anonymous providers on two real memfds, the one serving
 * chosen by the test ({@link #current}), address spaces made through {@link #backings} so that
 * {@link #swap} can move them, and 8-byte reads and writes that assert they went through.
 */
abstract class TwoAnonymousProviders {
    static final long P = 4096;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf1;
    MemfdMemoryFile mf2;
    AnonymousProvider anon1;
    AnonymousProvider anon2;
    final ProviderSwap swap = new ProviderSwap();
    final AtomicReference<BackingProvider> current = new AtomicReference<>();
    /** What AddressSpacesComponent does, with the provider chosen by the test. */
    final Backings backings = Backings.swapping(swap, () -> mf1, () -> List.of(current.get()), () -> null, () -> null);

    @BeforeEach
    void twoProviders() throws MemmapException {
        mf1 = new MemfdMemoryFile("swap-1", 2L << 20, 4L << 30, 0, false);
        mf2 = new MemfdMemoryFile("swap-2", 2L << 20, 4L << 30, 0, false);
        anon1 = new AnonymousProvider(mf1, MemoryManagerIoTestConfig.config(), Map.of("component.id", 1L));
        anon2 = new AnonymousProvider(mf2, MemoryManagerIoTestConfig.config(), Map.of("component.id", 2L));
        current.set(anon1);
    }

    @AfterEach
    void releaseFiles() {
        mf1.release();
        mf2.release();
    }

    static void put(MemoryManager mm, long addr, long v) {
        IoResult r = mm.write(CTX, addr, MemorySegment.ofArray(new long[] {v}));
        assertEquals(8, r.n(), () -> "write at " + Long.toHexString(addr) + ": " + r);
    }

    static long get(MemoryManager mm, long addr) {
        long[] out = new long[1];
        IoResult r = mm.read(CTX, addr, MemorySegment.ofArray(out));
        assertEquals(8, r.n(), () -> "read at " + Long.toHexString(addr) + ": " + r);
        return out[0];
    }
}
