package memmap.mm.internal;

import java.lang.foreign.MemorySegment;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BufferedIOFallback;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FaultException;
import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Segment;

/**
 * I/O (gVisor's {@code io.go}): CopyIn, CopyOut, ZeroOut and page faults.
 *
 * <p>Contract of every copy: vma checks, then {@link PmaLayer#getPmasLocked}, then a copy
 * through the pmas it prepared and no further — a short count plus the first error, never an
 * exception. A copy also refuses a pma whose effective permissions lack the access (the pma
 * layer's postcondition, checked where it matters: a write must never reach a page it may
 * not).
 *
 * <p>Locking: takes {@code mappingMu} for reading, then {@code activeMu} per vma (to
 * translate: the TLB stays valid unless a pma changes); every pma Block a copy goes through
 * is remembered in the {@link Tlb}, whose fast path ({@link MemoryManager#read}/{@code write})
 * takes {@code activeMu} alone to write and nothing to read.
 */
final class Io {
    private final MemoryManager mm;

    Io(MemoryManager mm) {
        this.mm = mm;
    }

    /** One step of an I/O: transfer between {@code block} and the caller's memory at offset {@code at}. */
    interface Transfer {
        IoResult apply(Block block, long at);
    }

    /** The full path of CopyIn (the caller tried {@link MemoryManager}'s fast path first); {@code force}: IgnorePermissions. */
    IoResult read(Context ctx, long addr, MemorySegment dst, boolean force) {
        return copy(ctx, addr, dst.byteSize(), AccessType.READ, force,
                (block, at) -> Block.copy(Block.ofSafe(dst.asSlice(at, block.length())), block));
    }

    /** The full path of CopyOut (the caller tried {@link MemoryManager}'s fast path first); {@code force}: IgnorePermissions. */
    IoResult write(Context ctx, long addr, MemorySegment src, boolean force) {
        return copy(ctx, addr, src.byteSize(), AccessType.WRITE, force,
                (block, at) -> Block.copy(block, Block.ofSafe(src.asSlice(at, block.length()))));
    }

    IoResult zero(Context ctx, long addr, long length) {
        return copy(ctx, addr, length, AccessType.WRITE, false, (block, at) -> Block.zero(block));
    }

    /**
     * Why {@code vma} refuses an access {@code at}, or null if it allows it. With {@code force}
     * (gVisor's IgnorePermissions, Linux's FOLL_FORCE in {@code check_vma_flags}) the
     * protection may refuse as long as the maximum permissions allow: a read if the mapping may
     * be made readable; a write only to a private mapping that may be made writable (it breaks
     * copy-on-write) — a shared mapping that is not writable refuses, as Linux's does.
     */
    static String refusal(Vma vma, AccessType at, boolean force) {
        AccessType eff = vma.effectivePerms();
        if (eff.supersetOf(at)) {
            return null;
        }
        if (!force) {
            return "is mapped " + eff + ", not for " + at;
        }
        if (at.write() && !eff.write() && !(vma.isPrivate() && vma.maxPerms().write())) {
            return "is mapped " + eff + (vma.isPrivate() ? ", at most " + vma.maxPerms() : " shared")
                    + ": a forced write needs a private mapping that may be made writable";
        }
        if (at.read() && !eff.read() && !vma.maxPerms().read()) {
            return "is mapped " + eff + ", at most " + vma.maxPerms() + ": a forced read needs a mapping that may be made readable";
        }
        return null;
    }

    /**
     * Whether a copy for {@code at} may go through {@code pma} (prepared by getPmas): its
     * effective permissions allow it, or, forced, its maximum ones do and a write would not
     * reach a page shared copy-on-write.
     */
    static boolean usable(Pma pma, AccessType at, boolean force) {
        if (pma.effectivePerms().supersetOf(at)) {
            return true;
        }
        return force && (!at.write() || (!pma.needCOW() && pma.maxPerms().write())) && (!at.read() || pma.maxPerms().read());
    }

    /**
     * The pma layer's getPmas for an access that found no cached translation (a page fault in
     * the kernel's terms), as a {@code memmap.PageFault} JFR event. Requires what getPmasLocked
     * requires.
     */
    private PmaLayer.Prepared prepare(Context ctx, Segment<Vma> vseg, AddrRange pages, AccessType at) {
        Events.PageFault event = new Events.PageFault();
        event.begin();
        PmaLayer.Prepared r = mm.pmas.getPmasLocked(ctx, vseg, pages, at);
        if (event.shouldCommit()) {
            event.address = pages.start();
            event.access = at.toString();
            event.backing = vseg.value().mappable() == null ? "anonymous" : vseg.value().mappable().getClass().getSimpleName();
            event.commit();
        }
        return r;
    }

    /**
     * A page fault at {@code addr} for {@code at}: the page gets a pma allowing it, or the
     * fault's signal. A file's page is then touched as the access would touch it (a one-byte
     * safe copy out of it): a file truncated behind memmap's back has pmas past its new end,
     * and touching one is the SIGBUS a real fault there gives.
     */
    void fault(Context ctx, long addr, AccessType at) throws FaultException {
        long page = Pages.roundDown(addr);
        boolean file;
        mm.mappingMu.readLock().lock();
        try {
            Segment<Vma> v = mm.vmas.set.findSegment(page);
            if (v == null && mm.growStackFor(ctx, page)) {
                v = mm.vmas.set.findSegment(page);
            }
            if (v == null) {
                throw new FaultException(addr, Errno.EFAULT.withDetail("no mapping"));
            }
            if (!v.value().effectivePerms().supersetOf(at)) {
                throw new FaultException(addr, Errno.EPERM.withDetail("mapped " + v.value().effectivePerms() + ", not for " + at));
            }
            file = v.value().mappable() != null && at.any();
            if (!file) {
                mm.pmas.lockToTranslate();
                try {
                    PmaLayer.Prepared r = prepare(ctx, v, new AddrRange(page, page + Pages.PAGE_SIZE), at);
                    if (r.error() != null) {
                        throw new FaultException(addr, r.error());
                    }
                } finally {
                    mm.pmas.unlock();
                }
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        if (file) {
            MemorySegment scratch = MemorySegment.ofArray(new byte[1]);
            IoResult r = copy(ctx, page, 1, at, false, (block, off) -> Block.copy(Block.ofSafe(scratch), block));
            if (r.error() != null) {
                throw new FaultException(addr, r.error());
            }
        }
    }

    /**
     * The I/O path (spec §4.5). Returns the bytes done and, if short, why: EFAULT for a
     * missing vma or permission, the Mappable's or memory file's error (a {@link BusError}
     * past the end of a file, ENOMEM when a copy-on-write break finds no memory), or a
     * {@link BusError} wrapping the {@link HostFault} a copy took.
     */
    private IoResult copy(Context ctx, long addr, long length, AccessType at, boolean force, Transfer t) {
        if (length == 0) {
            return IoResult.ok(0);
        }
        long end = addr + length;
        if (Long.compareUnsigned(end, addr) < 0) {
            return new IoResult(0, Errno.EFAULT.withDetail("[" + Pages.hex(addr) + ", +" + length + ") overflows"));
        }
        long done = 0;
        mm.mappingMu.readLock().lock();
        try {
            long pos = addr;
            while (Long.compareUnsigned(pos, end) < 0) {
                Segment<Vma> vseg = mm.vmas.set.findSegment(pos);
                if (vseg == null && mm.growStackFor(ctx, pos)) {
                    // The stack grew down to pos (locks were traded): look again. Forced I/O too:
                    // Linux's /proc/[pid]/mem access grows a stack as a fault does.
                    continue;
                }
                if (vseg == null) {
                    return new IoResult(done, Errno.EFAULT.withDetail(Pages.hex(pos) + " is not mapped"));
                }
                Vma vma = vseg.value();
                String refused = refusal(vma, at, force);
                if (refused != null) {
                    return new IoResult(done, Errno.EFAULT.withDetail(Pages.hex(pos) + " " + refused));
                }
                long chunkEnd = Long.compareUnsigned(vseg.end(), end) < 0 ? vseg.end() : end;
                mm.pmas.lockToTranslate();
                try {
                    AddrRange pages = new AddrRange(Pages.roundDown(pos), Pages.roundUp(chunkEnd).value());
                    PmaLayer.Prepared prepared = prepare(ctx, vseg, pages, at);
                    if (force && at.write() && Long.compareUnsigned(prepared.end(), pages.start()) > 0) {
                        // A forced write gets no write permission, so no write fault logs it: log it here.
                        mm.pmas.dirty.logWrittenLocked(vseg.start(), vma, pages.start(), prepared.end());
                    }
                    long limit = Long.compareUnsigned(prepared.end(), chunkEnd) < 0 ? prepared.end() : chunkEnd;
                    while (Long.compareUnsigned(pos, limit) < 0) {
                        Segment<Pma> p = mm.pmas.set.findSegment(pos);
                        if (p == null) {
                            return new IoResult(done, Errno.EFAULT.withDetail(Pages.hex(pos) + " has no memory"));
                        }
                        long n = (Long.compareUnsigned(limit, p.end()) < 0 ? limit : p.end()) - pos;
                        IoResult r = transfer(p, pos, n, at, force, done, t);
                        done += r.n();
                        pos += r.n();
                        if (r.error() != null) {
                            return new IoResult(done, r.error());
                        }
                    }
                    if (Long.compareUnsigned(pos, chunkEnd) < 0) {
                        return new IoResult(done, prepared.error() != null ? prepared.error()
                                : Errno.EFAULT.withDetail(Pages.hex(pos) + " could not be backed"));
                    }
                } finally {
                    mm.pmas.unlock();
                }
            }
            return IoResult.ok(done);
        } finally {
            mm.mappingMu.readLock().unlock();
        }
    }

    /** Copies {@code n} bytes of pma {@code p} from address {@code pos}. Requires activeMu. */
    private IoResult transfer(Segment<Pma> p, long pos, long n, AccessType at, boolean force, long callerOffset, Transfer t) {
        Pma pma = p.value();
        if (!usable(pma, at, force)) {
            // getPmas's postcondition broken: refuse rather than write where the address space may not.
            return new IoResult(0, Errno.EFAULT.withDetail("the pma at " + Pages.hex(p.start()) + " allows " + pma.effectivePerms()
                    + ", not " + at));
        }
        BlockSeq internal = pma.internal();
        if (internal == null) {
            try {
                internal = pma.file().mapInternal(pma.fileRange(p.length()), pma.maxPerms().intersect(AccessType.READ_WRITE));
                p.setValue(pma.withInternal(internal));
            } catch (MemmapException e) {
                if (e.error() == BufferedIOFallback.INSTANCE) {
                    return bufferedTransfer(pma, p.start(), pos, n, at, callerOffset, t);
                }
                return new IoResult(0, e.error());
            }
        }
        long blockStart = internal.blockStartOf(pos - p.start());
        mm.pmas.tlb.fill(pos, p.start() + blockStart, internal.dropFirst(blockStart).head(), pma.effectivePerms(), mm.pmas.version());
        long done = 0;
        for (BlockSeq bs = internal.dropFirst(pos - p.start()).takeFirst(n); !bs.isEmpty(); bs = bs.tail()) {
            IoResult r = t.apply(bs.head(), callerOffset + done);
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error() instanceof HostFault ? new BusError(r.error()) : r.error());
            }
        }
        return IoResult.ok(done);
    }

    /**
     * The buffered-I/O fallback for a file that cannot be mapped: through a heap buffer, by the
     * highest-ranked fallback strategy (taken afresh for each copy), else the File's own
     * buffered I/O. Only shared pmas get here for writing: a private mapping's write goes to
     * its own memory-file copy.
     */
    private IoResult bufferedTransfer(Pma pma, long pmaStart, long pos, long n, AccessType at, long callerOffset, Transfer t) {
        long fileOff = pma.off() + (pos - pmaStart);
        byte[] buf = new byte[(int) Math.min(n, Integer.MAX_VALUE)];
        MemorySegment seg = MemorySegment.ofArray(buf);
        BufferedIOFallbackStrategy strategy = mm.backings().fallback();
        if (!at.write()) {
            IoResult r = strategy != null ? strategy.read(pma.file(), fileOff, BlockSeq.of(Block.ofSafe(seg)))
                    : pma.file().bufferReadAt(fileOff, seg);
            IoResult c = t.apply(Block.ofSafe(seg.asSlice(0, r.n())), callerOffset);
            return r.error() != null ? new IoResult(c.n(), r.error()) : c;
        }
        IoResult c = t.apply(Block.ofSafe(seg), callerOffset);
        IoResult w = strategy != null ? strategy.write(pma.file(), fileOff, BlockSeq.of(Block.ofSafe(seg.asSlice(0, c.n()))))
                : pma.file().bufferWriteAt(fileOff, seg.asSlice(0, c.n()));
        return w.error() != null ? w : c;
    }
}
