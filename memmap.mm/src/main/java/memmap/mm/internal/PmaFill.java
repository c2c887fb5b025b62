package memmap.mm.internal;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.BufferedIOFallback;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MappableRange;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Segment;

/**
 * How the pma layer's gaps and copy-on-write pmas get their pages (gVisor's
 * getPMAsInternalLocked and breakCopyOnWriteLocked): private anonymous memory-file pages, up to a
 * huge page around a fault; translations of a vma's Mappable; the copy a write to a shared page
 * makes. Each adds or replaces pmas of {@link PmaLayer} and keeps its RSS.
 *
 * <p>Locking: every method requires what {@link PmaLayer#getPmasLocked} requires (mappingMu,
 * activeMu); none retires the TLB (adding pmas leaves it; a replaced pma's caller retired it).
 */
final class PmaFill {
    private final PmaLayer pmas;

    PmaFill(PmaLayer pmas) {
        this.pmas = pmas;
    }

    /** Private anonymous memory for {@code [need, needEnd)}, up to a huge page around it within the gap. */
    PmaLayer.Prepared allocateAnonymousLocked(Context ctx, Segment<Vma> vseg, long gapStart, long gapEnd, long need, long needEnd) {
        Vma vma = vseg.value();
        long s = Long.compareUnsigned(gapStart, Pages.hugeRoundDown(need)) > 0 ? gapStart : Pages.hugeRoundDown(need);
        Pages.Rounded hugeEnd = Pages.hugeRoundUp(needEnd);
        long e = !hugeEnd.ok() || Long.compareUnsigned(gapEnd, hugeEnd.value()) < 0 ? gapEnd : hugeEnd.value();
        FileRange fr;
        MemoryFile memoryFile;
        AllocOpts.Direction dir = direction(vma.lastFault(), need, pmas.mm.layout().topDown());
        try {
            memoryFile = pmas.mm.backings().memoryFile();
            fr = memoryFile.allocate(e - s, new AllocOpts(AllocationMode.CALLER_INDIRECT_COMMIT, dir, false, ctx.memCgId()));
        } catch (MemmapException ex) {
            return new PmaLayer.Prepared(need, ex.error());
        }
        // The hint is the vma's, changed under activeMu with mappingMu read (gVisor's
        // vma.lastFault): a racing reader of the vma sees the old record or the new one, and
        // only getPmas reads the hint.
        vseg.setValue(vma.withLastFault(need));
        pmas.set.insert(pmas.set.findGap(s), s, e, new Pma(memoryFile, fr.start(), AccessType.ANY_ACCESS,
                pmas.dirty.grantLocked(vseg.start(), vma, s, e, vma.effectivePerms()), vma.maxPerms(), false, true, null));
        pmas.curRSS += e - s;
        return new PmaLayer.Prepared(needEnd, null);
    }

    /**
     * The direction to allocate private memory in for a fault at {@code start} (spec §4.5,
     * gVisor's getPMAsInternalLocked): the layout's default unless the vma was faulted
     * elsewhere before, then top-down when faulting below the last fault (a stack growing
     * down: consecutive faults get consecutive memory-file pages, and their pmas merge) and
     * bottom-up above it.
     */
    static AllocOpts.Direction direction(long lastFault, long start, boolean layoutTopDown) {
        if (lastFault == 0 || lastFault == start) {
            return layoutTopDown ? AllocOpts.Direction.TOP_DOWN : AllocOpts.Direction.BOTTOM_UP;
        }
        return Long.compareUnsigned(start, lastFault) < 0 ? AllocOpts.Direction.TOP_DOWN : AllocOpts.Direction.BOTTOM_UP;
    }

    static AllocOpts allocOpts(Context ctx) {
        return new AllocOpts(AllocationMode.CALLER_INDIRECT_COMMIT, AllocOpts.Direction.BOTTOM_UP, false, ctx.memCgId());
    }

    /**
     * Translates the gaps of {@code ar} (inside vma {@code vseg}) for {@code at} with the optional
     * range equal to the required one, so a Mappable that fills all it may (shared memory makes
     * pages for the whole optional range) makes none it was not asked for: a restore's
     * re-translation of the pmas that were saved, exactly. Requires mappingMu and activeMu.
     */
    PmaLayer.Prepared translateExactlyLocked(Context ctx, Segment<Vma> vseg, AddrRange ar, AccessType at) {
        long pos = ar.start();
        while (Long.compareUnsigned(pos, ar.end()) < 0) {
            Segment.Step<Pma> st = pmas.set.find(pos);
            if (st.segment() != null) {
                pos = st.segment().end();
                continue;
            }
            long ge = Long.compareUnsigned(st.gap().end(), ar.end()) < 0 ? st.gap().end() : ar.end();
            PmaLayer.Prepared r = translateGapLocked(ctx, vseg, pos, ge, pos, ge, at);
            if (r.error() != null) {
                return r;
            }
            pos = ge;
        }
        return new PmaLayer.Prepared(ar.end(), null);
    }

    /** Translates the gap {@code [gapStart, gapEnd)} of a file-backed vma, requiring {@code [need, needEnd)}. */
    PmaLayer.Prepared translateGapLocked(Context ctx, Segment<Vma> vseg, long gapStart, long gapEnd, long need, long needEnd,
            AccessType at) {
        Vma vma = vseg.value();
        long base = vma.off() - vseg.start();
        MappableRange optional = new MappableRange(base + gapStart, base + gapEnd);
        MappableRange required = new MappableRange(base + need, base + needEnd);
        AccessType perms = vma.isPrivate() ? AccessType.READ : at;
        TranslateResult tr = vma.mappable().translate(ctx, required, optional, perms);
        assert tr.check(required, optional, perms).isEmpty() : vma.mappable() + " broke translate's postconditions: "
                + tr.check(required, optional, perms);
        for (Translation t : tr.translations()) {
            long s = t.source().start() - base;
            long e = t.source().end() - base;
            AccessType eff = vma.effectivePerms().intersect(t.perms());
            AccessType max = vma.maxPerms().intersect(t.perms());
            if (vma.isPrivate()) {
                eff = eff.withoutWrite();
                max = max.withoutWrite();
            }
            t.file().incRef(t.fileRange(), ctx.memCgId());
            pmas.set.insert(pmas.set.findGap(s), s, e, new Pma(t.file(), t.offset(), t.perms(), pmas.dirty.grantLocked(vseg.start(), vma, s, e, eff), max,
                    vma.isPrivate(), false, null));
            pmas.curRSS += e - s;
        }
        if (tr.translations().isEmpty()) {
            return new PmaLayer.Prepared(need, tr.error() != null ? tr.error() : Errno.EFAULT.withDetail("nothing translated"));
        }
        long covered = tr.translations().getLast().source().end() - base;
        if (tr.error() != null && Long.compareUnsigned(covered, needEnd) < 0) {
            return new PmaLayer.Prepared(covered, tr.error());
        }
        return new PmaLayer.Prepared(needEnd, null);
    }

    /**
     * Gives pma {@code p} private pages for {@code range} (spec §4.10): the written part is
     * copied from what the pma maps — through the buffered-I/O fallback when the file cannot
     * be mapped — into new memory-file pages, which replace it. On failure nothing changes.
     */
    MemmapError breakCopyOnWriteLocked(Context ctx, Segment<Pma> p, Segment<Vma> vseg, AddrRange range) {
        Events.CopyOnWrite event = new Events.CopyOnWrite();
        event.begin();
        MemmapError err = breakCopyOnWrite(ctx, p, vseg, range);
        if (err == null && event.shouldCommit()) {
            event.start = Pages.roundDown(range.start());
            event.bytes = Pages.roundUp(range.end()).value() - event.start;
            event.commit();
        }
        return err;
    }

    private MemmapError breakCopyOnWrite(Context ctx, Segment<Pma> p, Segment<Vma> vseg, AddrRange range) {
        Vma vma = vseg.value();
        p = pmas.set.isolate(p, Pages.roundDown(range.start()), Pages.roundUp(range.end()).value());
        Pma old = p.value();
        long len = p.length();
        FileRange fr;
        MemoryFile memoryFile;
        try {
            memoryFile = pmas.mm.backings().memoryFile();
            fr = memoryFile.allocate(len, allocOpts(ctx));
        } catch (MemmapException e) {
            return e.error();
        }
        MemmapError err;
        try {
            err = copyInto(memoryFile.mapInternal(fr, AccessType.WRITE), old, len);
        } catch (MemmapException e) {
            err = e.error();
        }
        if (err != null) {
            memoryFile.decRef(fr);
            return err;
        }
        old.file().decRef(old.fileRange(len));
        p.setValue(new Pma(memoryFile, fr.start(), AccessType.ANY_ACCESS, pmas.dirty.grantLocked(vseg.start(), vma, p.start(), p.end(),
                vma.effectivePerms()), vma.maxPerms(), false, true, null));
        return null;
    }

    /** Copies the {@code len} bytes {@code src} maps into {@code dst}; null on success. */
    MemmapError copyInto(BlockSeq dst, Pma src, long len) {
        BlockSeq from;
        try {
            from = src.internal() != null ? src.internal() : src.file().mapInternal(src.fileRange(len), AccessType.READ);
        } catch (MemmapException e) {
            if (e.error() != BufferedIOFallback.INSTANCE) {
                return e.error();
            }
            BufferedIOFallbackStrategy strategy = pmas.mm.backings().fallback();
            IoResult r = strategy != null ? strategy.read(src.file(), src.off(), dst) : bufferRead(src, dst);
            // The end of the file inside the last page: the rest stays zero, as the kernel fills it.
            return r.error() == null || r.error() instanceof EndOfFile ? null : r.error();
        }
        IoResult c = BlockSeq.copy(dst, from);
        return c.error() == null ? null : c.error() instanceof HostFault ? new BusError(c.error()) : c.error();
    }

    private static IoResult bufferRead(Pma src, BlockSeq dst) {
        long done = 0;
        for (Block b : dst.toList()) {
            IoResult r = src.file().bufferReadAt(src.off() + done, b.segment());
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error());
            }
        }
        return IoResult.ok(done);
    }
}
