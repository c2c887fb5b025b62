package memmap.mm.internal;

import memmap.api.Pages;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentSet;

/**
 * The pma layer's invariants, checked after every step of the generated tests:
 * <ul>
 * <li>every pma lies inside one vma, and its effective permissions never exceed the vma's;</li>
 * <li>a pma that needs copy-on-write has neither effective nor maximum write;</li>
 * <li>{@code curRSS} is the sum of the pmas' lengths;</li>
 * <li>every TLB entry valid at the current version lies inside pmas with at least its
 *     permissions and maps exactly their pages.</li>
 * </ul>
 */
final class PmaInvariants {
    private PmaInvariants() {}

    /** Checks the pma invariants of {@code pmas} against its vmas. Requires mappingMu and activeMu. */
    static void check(PmaLayer pmas) {
        SegmentSet<Pma> set = pmas.set;
        MemoryManager mm = pmas.mm;
        Tlb tlb = pmas.tlb;
        set.checkInvariants();
        long rss = 0;
        for (Segment<Pma> p = set.firstSegment(); p != null; p = p.nextSegment()) {
            Pma pma = p.value();
            Segment<Vma> v = mm.vmas.set.findSegment(p.start());
            if (v == null || Long.compareUnsigned(p.end(), v.end()) > 0) {
                throw new IllegalStateException("pma [" + Pages.hex(p.start()) + ", " + Pages.hex(p.end()) + ") is not inside one vma"
                        + (v == null ? "" : " (vma ends at " + Pages.hex(v.end()) + ")"));
            }
            if (!v.value().effectivePerms().supersetOf(pma.effectivePerms())) {
                throw new IllegalStateException("pma at " + Pages.hex(p.start()) + " allows " + pma.effectivePerms() + ", its vma only "
                        + v.value().effectivePerms());
            }
            if (pma.needCOW() && (pma.effectivePerms().write() || pma.maxPerms().write())) {
                throw new IllegalStateException("copy-on-write pma at " + Pages.hex(p.start()) + " is writable");
            }
            rss += p.length();
        }
        if (rss != pmas.curRSS) {
            throw new IllegalStateException("curRSS = " + pmas.curRSS + " but the pmas cover " + rss);
        }
        tlb.forEachValid(pmas.version(), e -> {
            for (long a = e.start(); Long.compareUnsigned(a, e.end()) < 0;) {
                Segment<Pma> p = set.findSegment(a);
                if (p == null || (e.writable() && !p.value().effectivePerms().write())
                        || (e.readable() && !p.value().effectivePerms().read())) {
                    throw new IllegalStateException("the TLB's entry [" + Pages.hex(e.start()) + ", " + Pages.hex(e.end())
                            + ") is not backed by pmas with its permissions at " + Pages.hex(a));
                }
                BlockSeq internal = p.value().internal();
                if (internal != null) {
                    long at = internal.dropFirst(a - p.start()).head().address();
                    if (at != e.segment().address() + (a - e.start())) {
                        throw new IllegalStateException("the TLB's entry [" + Pages.hex(e.start()) + ", " + Pages.hex(e.end())
                                + ") maps " + Pages.hex(a) + " elsewhere than its pma");
                    }
                }
                a = p.end();
            }
        });
    }
}
