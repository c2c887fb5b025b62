package memmap.mm.internal;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Pages;
import memmap.api.segment.Segment;

/**
 * The pma layer's dirty bits (an MMU's, for {@link WriteLog}s): which logs are attached, the
 * write permission they withhold from the pmas they cover, what a write fault logs, and
 * re-arming after a log was collected. The dirty-bit branch of
 * {@link PmaLayer#getPmasLocked} is the one place a withheld write is given back.
 *
 * <p>Locking: every method requires the address space's {@code activeMu}; re-arming also
 * {@code mappingMu} in either mode (it reads the vmas).
 */
final class DirtyBits {
    private static final WriteLog[] NO_LOGS = new WriteLog[0];
    private final PmaLayer pmas;
    /** The logs attached; replaced whole (copy on write) under activeMu. */
    private WriteLog[] logs = NO_LOGS;

    DirtyBits(PmaLayer pmas) {
        this.pmas = pmas;
    }


    /**
     * {@code eff}, without write if a write log covers {@code [s, e)} of {@code vma}: the pma is
     * handed out write-protected, so its first write comes to the dirty-bit branch of getPmas.
     * With no log (the normal case) it is {@code eff}, at the cost of one array-length check.
     */
    AccessType grantLocked(long vmaStart, Vma vma, long s, long e, AccessType eff) {
        WriteLog[] ls = logs;
        if (ls.length == 0 || !eff.write()) {
            return eff;
        }
        for (WriteLog l : ls) {
            if (l.covers(vmaStart, vma, s, e)) {
                return eff.withoutWrite();
            }
        }
        return eff;
    }

    /** The coarsest granule (bytes, a power of two) of the logs covering {@code [s, e)} of {@code vma}. */
    long granuleLocked(long vmaStart, Vma vma, long s, long e) {
        long g = Pages.PAGE_SIZE;
        for (WriteLog l : logs) {
            if (l.granule() > g && l.covers(vmaStart, vma, s, e)) {
                g = l.granule();
            }
        }
        return g;
    }

    void logWrittenLocked(long vmaStart, Vma vma, long s, long e) {
        for (WriteLog l : logs) {
            if (l.covers(vmaStart, vma, s, e)) {
                l.written(pmas.mm, vmaStart, vma, s, e);
            }
        }
    }

    /** Starts logging writes into {@code l}. Requires activeMu; the caller re-arms what {@code l} covers. */
    void addLogLocked(WriteLog l) {
        WriteLog[] ls = java.util.Arrays.copyOf(logs, logs.length + 1);
        ls[ls.length - 1] = l;
        logs = ls;
        pmas.retire();
    }

    /** Stops logging into {@code l}; pages it withheld become writable on their next write. Requires activeMu. */
    void removeLogLocked(WriteLog l) {
        logs = java.util.Arrays.stream(logs).filter(x -> x != l).toArray(WriteLog[]::new);
        pmas.retire();
    }

    /**
     * {@code [ar)} is about to be unmapped: the logs hear of every part of it that maps a
     * Mappable shared. Requires mappingMu for writing; takes activeMu if any log is attached.
     */
    void unmappingLocked(MemoryManager mm, AddrRange ar) {
        if (logs.length == 0) {
            return;
        }
        pmas.lockForChange();
        try {
            for (memmap.api.segment.Segment<Vma> v = mm.vmas.set.lowerBoundSegment(ar.start());
                    v != null && Long.compareUnsigned(v.start(), ar.end()) < 0; v = v.nextSegment()) {
                Vma vma = v.value();
                if (vma.mappable() == null || vma.isPrivate()) {
                    continue;
                }
                long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
                long e = Long.compareUnsigned(v.end(), ar.end()) < 0 ? v.end() : ar.end();
                for (WriteLog l : logs) {
                    l.unmapping(mm, v.start(), vma, s, e);
                }
            }
        } finally {
            pmas.unlock();
        }
    }

    /** Whether any write log is attached (for tests). */
    boolean tracked() {
        return logs.length != 0;
    }

    /**
     * Write-protects again every page of {@code ar} that a log covers (after the log was
     * collected), merging the pmas back together. Requires mappingMu (either mode) and activeMu
     * via {@link #lockForChange}.
     */
    void rearmLocked(AddrRange ar) {
        if (logs.length == 0) {
            return;
        }
        Segment<Vma> v = null;
        boolean changed = false;
        for (Segment<Pma> p = pmas.set.lowerBoundSegment(ar.start()); p != null && Long.compareUnsigned(p.start(), ar.end()) < 0;
                p = p.nextSegment()) {
            Pma pma = p.value();
            if (!pma.effectivePerms().write()) {
                continue;
            }
            if (v == null || Long.compareUnsigned(p.start(), v.end()) >= 0) {
                v = pmas.mm.vmas.set.findSegment(p.start());
            }
            AccessType eff = grantLocked(v.start(), v.value(), p.start(), p.end(), pma.effectivePerms());
            if (!eff.write()) {
                p = pmas.set.isolate(p, ar.start(), ar.end());
                Pma q = p.value();
                p.setValue(new Pma(q.file(), q.off(), q.translatePerms(), eff, q.maxPerms(), q.needCOW(), q.isPrivate(), q.internal()));
                changed = true;
            }
        }
        if (changed) {
            pmas.set.mergeInsideRange(ar.start(), ar.end());
            pmas.set.mergeOutsideRange(ar.start(), ar.end());
        }
        pmas.mm.pins.relogLocked(ar); // open write views may be written at any time, unseen
    }

    /** mremap moved pmas to {@code ar}: the logs hear of it, and what they cover there is write-protected. Requires both locks. */
    void movedLocked(AddrRange ar) {
        for (WriteLog l : logs) {
            l.moved(pmas.mm, ar.start(), ar.end());
        }
        rearmLocked(ar);
    }
}
