package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Many mappings of the same offsets: past the inline capacity the set switches representation and keeps its order. */
class MappingsOfRangeTest {
    @Test
    void manySpacesMappingTheSameOffsetsKeepInsertionOrder() {
        MappingSet set = new MappingSet();
        List<RecordingMappingSpace> spaces = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            RecordingMappingSpace ms = new RecordingMappingSpace();
            spaces.add(ms);
            List<MappableRange> fresh = set.addMapping(ms, new AddrRange(0x100000 + i * 0x10000L, 0x102000 + i * 0x10000L), 0, i % 2 == 0);
            assertEquals(i == 0 ? List.of(new MappableRange(0, 0x2000)) : List.of(), fresh);
        }
        MappingSet.Entry e = set.entries().get(0);
        assertEquals(20, e.mappings().size());
        for (int i = 0; i < 20; i++) {
            assertSame(spaces.get(i), e.mappings().get(i).mappingSpace(), "insertion order at " + i);
        }
        set.invalidate(new MappableRange(0x1000, 0x2000), InvalidateOpts.DEFAULT);
        for (int i = 0; i < 20; i++) {
            assertEquals(List.of(new AddrRange(0x101000 + i * 0x10000L, 0x102000 + i * 0x10000L)), spaces.get(i).invalidated);
        }
        // Remove all but the last; then the last: only its removal unmaps the offsets.
        for (int i = 0; i < 19; i++) {
            assertEquals(List.of(), set.removeMapping(spaces.get(i), new AddrRange(0x100000 + i * 0x10000L, 0x102000 + i * 0x10000L), 0, i % 2 == 0));
        }
        assertEquals(1, set.entries().get(0).mappings().size());
        assertEquals(List.of(new MappableRange(0, 0x2000)),
                set.removeMapping(spaces.get(19), new AddrRange(0x100000 + 19 * 0x10000L, 0x102000 + 19 * 0x10000L), 0, false));
        assertTrue(set.isEmpty());
    }

    @Test
    void splittingALargeSetSplitsEveryMapping() {
        MappingSet set = new MappingSet();
        List<RecordingMappingSpace> spaces = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            RecordingMappingSpace ms = new RecordingMappingSpace();
            spaces.add(ms);
            set.addMapping(ms, new AddrRange(0x100000 + i * 0x10000L, 0x104000 + i * 0x10000L), 0, true);
        }
        RecordingMappingSpace late = new RecordingMappingSpace();
        set.addMapping(late, new AddrRange(0x900000, 0x901000), 0x1000, true);
        assertEquals(3, set.entries().size(), "[0,1) [1,2) [2,4)");
        assertEquals(13, set.entries().get(1).mappings().size());
        assertEquals(12, set.entries().get(2).mappings().size());
        assertEquals(List.of(), set.removeMapping(late, new AddrRange(0x900000, 0x901000), 0x1000, true));
        assertEquals(1, set.entries().size(), "the edge merges put the 12-mapping segment back together");
        assertEquals(new AddrRange(0x100000, 0x104000), set.entries().get(0).mappings().get(0).addrRange());
    }
}
