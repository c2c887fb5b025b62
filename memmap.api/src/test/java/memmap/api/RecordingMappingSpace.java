package memmap.api;

import java.util.ArrayList;
import java.util.List;

/** gVisor's testMappingSpace: records the address range of every invalidate call. */
final class RecordingMappingSpace implements MappingSpace {
    final List<AddrRange> invalidated = new ArrayList<>();
    final List<InvalidateOpts> opts = new ArrayList<>();

    @Override
    public void invalidate(AddrRange ar, InvalidateOpts o) {
        invalidated.add(ar);
        opts.add(o);
    }

    void reset() {
        invalidated.clear();
        opts.clear();
    }
}
