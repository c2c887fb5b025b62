package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.Map;

import org.junit.jupiter.api.Test;

import memmap.api.safemem.BlockSeq;

/** The small API types: NoBufferedIOFallback's defaults, AllocOpts, MemoryUsage. */
class SmallTypesTest {
    @Test
    void filesWithoutAFallbackRefuseBufferedIo() {
        NoBufferedIOFallback f = new NoBufferedIOFallback() {
            @Override
            public void incRef(FileRange fr, int memCgId) {}

            @Override
            public void decRef(FileRange fr) {}

            @Override
            public BlockSeq mapInternal(FileRange fr, AccessType at) {
                return BlockSeq.EMPTY;
            }

            @Override
            public int dataFd(FileRange fr) {
                return 3;
            }

            @Override
            public int fd() {
                return 3;
            }
        };
        var e = assertThrows(UnsupportedOperationException.class, () -> f.bufferReadAt(0, MemorySegment.ofArray(new byte[1])));
        assertTrue(e.getMessage().contains("never falls back"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> f.bufferWriteAt(0, MemorySegment.ofArray(new byte[1])));
    }

    @Test
    void allocOptsWithers() {
        AllocOpts o = AllocOpts.DEFAULT.withMode(AllocationMode.COMMIT).withDirection(AllocOpts.Direction.TOP_DOWN)
                .withHuge(true).withMemCgId(9);
        assertEquals(new AllocOpts(AllocationMode.COMMIT, AllocOpts.Direction.TOP_DOWN, true, 9), o);
        assertEquals(AllocationMode.UNCOMMITTED, AllocOpts.DEFAULT.mode());
        assertThrows(NullPointerException.class, () -> new AllocOpts(null, AllocOpts.Direction.BOTTOM_UP, false, 0));
    }

    @Test
    void memoryUsageIsImmutable() {
        var m = new java.util.HashMap<Integer, MemoryUsage.Cgroup>();
        m.put(1, new MemoryUsage.Cgroup(4096, 0));
        MemoryUsage u = new MemoryUsage(4096, 0, 0, 1 << 30, m);
        m.clear();
        assertEquals(Map.of(1, new MemoryUsage.Cgroup(4096, 0)), u.byCgroup());
    }
}
