package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MMapPlatformEffect;
import memmap.api.MRemapMove;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.ResourceLimits;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.segment.Segment;

/**
 * The memory system calls that create, remove, move and write back mappings (gVisor's
 * {@code syscalls.go}; the ones that change vma attributes are {@link AttributeCalls}): each
 * validates its arguments in Linux's order, then changes the vma layer, then the pma layer. A refused call changes
 * nothing unless Linux's own semantics say otherwise (documented per call).
 *
 * <p>Locking: each call takes {@code mappingMu} itself (for writing unless noted); identity
 * references dropped while it is held are released after unlocking, because a last DecRef
 * may take locks ranking above it.
 */
final class Syscalls {
    private final MemoryManager mm;

    Syscalls(MemoryManager mm) {
        this.mm = mm;
    }

    private VmaLayer vmas() {
        return mm.vmas;
    }

    // ---------------------------------------------------------------- mmap, munmap

    long mmap(Context ctx, MMapOpts opts) throws MemmapException {
        if (opts.length() == 0) {
            throw Errno.EINVAL.exception("length = 0");
        }
        Pages.Rounded len = Pages.roundUp(opts.length());
        if (!len.ok() || len.value() == 0) {
            throw Errno.ENOMEM.exception("length = " + Pages.hex(opts.length()) + " overflows when rounded up to a page");
        }
        long offset = 0;
        if (opts.mappable() != null) {
            if (!Pages.isPageAligned(opts.offset())) {
                throw Errno.EINVAL.exception("offset = " + Pages.hex(opts.offset()) + " is not page-aligned");
            }
            if (!Pages.addFits(opts.offset(), len.value())) {
                throw Errno.EOVERFLOW.exception("offset = " + Pages.hex(opts.offset()) + " + length overflows");
            }
            offset = opts.offset();
        }
        long addr = opts.addr();
        if (!Pages.isPageAligned(addr)) {
            if (opts.fixed()) {
                throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned for a fixed mapping");
            }
            addr = Pages.roundDown(addr);
        }
        if (!opts.maxPerms().supersetOf(opts.perms())) {
            throw Errno.EACCES.exception("perms = " + opts.perms() + " exceed maxPerms = " + opts.maxPerms());
        }
        if (opts.growsDown() && opts.mappable() != null) {
            throw Errno.EINVAL.exception("growsDown is for anonymous mappings only");
        }
        Backing shared = null;
        if (opts.mappable() == null && !opts.isPrivate()) {
            // MAP_SHARED | MAP_ANONYMOUS: memory from the anonymous provider, as gVisor's mmap
            // system call makes a shared anonymous Mappable.
            shared = mm.backings().backing(ctx, new BackingRequest.Anonymous(len.value()));
            opts = opts.toBuilder().mappable(shared.mappable()).mappingIdentity(shared.identity()).offset(0).build();
        }
        MMapOpts o = opts;
        long off = offset;
        long a = addr;
        try {
            return mm.withWriteLock(ctx, dropped -> {
                MLockMode mlock = MLockMode.max(o.mlockMode(), vmas().defMLockMode);
                long start = vmas().createLocked(ctx, o, len.value(), off, a, mlock, dropped);
                AddrRange ar = new AddrRange(start, start + len.value());
                if (o.platformEffect().compareTo(MMapPlatformEffect.POPULATE) >= 0 || mlock == MLockMode.EAGER) {
                    // Spec §4.3: populate now; only with requirePlatformEffect does a failure undo the mmap.
                    MemmapError err = mm.pmas.populateLocked(ctx, ar, false);
                    if (err != null && o.requirePlatformEffect() && o.platformEffect() != MMapPlatformEffect.DEFAULT) {
                        vmas().unmapLocked(ctx, ar, dropped);
                        throw err.toErrno().exception("populating " + ar + ": " + err.message());
                    }
                }
                return start;
            });
        } finally {
            if (shared != null) {
                shared.identity().decRef(ctx); // the vma holds its own reference (or none, on failure)
            }
        }
    }

    // ---------------------------------------------------------------- brk

    /** gVisor's BrkSetup. */
    void brkSetup(Context ctx, long addr) throws MemmapException {
        if (!Pages.isPageAligned(addr) || addr == 0) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + (addr == 0 ? ": the heap cannot start at 0" : " is not page-aligned"));
        }
        mm.withWriteLock(ctx, dropped -> {
            AddrRange old = mm.brk;
            Pages.Rounded end = Pages.roundUp(old.end());
            if (Long.compareUnsigned(old.start(), end.value()) < 0) {
                vmas().unmapLocked(ctx, new AddrRange(old.start(), end.value()), dropped);
            }
            mm.brk = new AddrRange(addr, addr);
            return null;
        });
    }

    /** gVisor's mm.Brk: the checks in its order, then grow (a fixed mapping that replaces nothing) or shrink (unmap). */
    long brk(Context ctx, long addr) throws MemmapException {
        return mm.withWriteLock(ctx, dropped -> {
            AddrRange heap = mm.brk;
            if (heap.start() == 0) {
                throw Errno.ENOMEM.exception("addr = " + Pages.hex(addr) + ": no heap yet (brkSetup places it after the program's data)");
            }
            if (Long.compareUnsigned(addr, heap.start()) < 0) {
                throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is below the heap's start " + Pages.hex(heap.start()));
            }
            long data = ctx.limits().data();
            if (data != ResourceLimits.INFINITY && Long.compareUnsigned(addr - heap.start(), data) > 0) {
                throw Errno.ENOMEM.exception("RLIMIT_DATA: a heap of " + Long.toUnsignedString(addr - heap.start()) + " bytes would pass "
                        + Long.toUnsignedString(data));
            }
            long oldPages = Pages.roundUp(heap.end()).value();
            Pages.Rounded newPages = Pages.roundUp(addr);
            if (!newPages.ok()) {
                throw Errno.EFAULT.exception("addr = " + Pages.hex(addr) + " rounds past the address space");
            }
            if (Long.compareUnsigned(oldPages, newPages.value()) < 0) {
                MLockMode mlock = vmas().defMLockMode;
                MMapOpts opts = MMapOpts.builder().addr(oldPages).length(newPages.value() - oldPages).fixed(true)
                        .perms(AccessType.READ_WRITE).maxPerms(AccessType.ANY_ACCESS).isPrivate(true).mlockMode(mlock).name("[heap]").build();
                long start = vmas().createLocked(ctx, opts, newPages.value() - oldPages, 0, oldPages, mlock, dropped);
                if (mlock == MLockMode.EAGER) {
                    mm.pmas.populateLocked(ctx, new AddrRange(start, newPages.value()), false);
                }
            } else if (Long.compareUnsigned(newPages.value(), oldPages) < 0) {
                vmas().unmapLocked(ctx, new AddrRange(newPages.value(), oldPages), dropped);
            }
            mm.brk = new AddrRange(heap.start(), addr);
            return addr;
        });
    }

    void munmap(Context ctx, long addr, long length) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            throw Errno.EINVAL.exception("length = 0");
        }
        Pages.Rounded len = Pages.roundUp(length);
        if (!len.ok() || len.value() == 0 || !Pages.addFits(addr, len.value()) || addr + len.value() == 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        mm.withWriteLock(ctx, dropped -> {
            vmas().unmapLocked(ctx, new AddrRange(addr, addr + len.value()), dropped);
            return null;
        });
    }

    // ---------------------------------------------------------------- shm

    long shmat(Context ctx, int id, long addr, int flags) throws MemmapException {
        try (SysVSharedMemory.Attachment a = mm.backings().sysv().attach(ctx, id, addr, flags)) {
            return mmap(ctx, a.opts());
        }
    }

    void shmdt(Context ctx, long addr) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        mm.withWriteLock(ctx, dropped -> {
            Segment<Vma> v = vmas().set.lowerBoundSegment(addr);
            while (v != null && !(v.value().mappable() instanceof SysVSharedMemory.Segment && v.start() - addr == v.value().off())) {
                v = v.nextSegment();
            }
            if (v == null) {
                throw Errno.EINVAL.exception("no System V segment is attached at " + Pages.hex(addr));
            }
            SysVSharedMemory.Segment seg = (SysVSharedMemory.Segment) v.value().mappable();
            long end = addr + seg.effectiveSize();
            List<AddrRange> fragments = new ArrayList<>();
            for (; v != null && Long.compareUnsigned(v.end(), end) <= 0; v = v.nextSegment()) {
                if (v.value().mappable() == seg && v.start() - addr == v.value().off()) {
                    fragments.add(new AddrRange(v.start(), v.end()));
                }
            }
            for (AddrRange f : fragments) {
                vmas().unmapLocked(ctx, f, dropped);
            }
            return null;
        });
    }

    // ---------------------------------------------------------------- mremap

    long mremap(Context ctx, long oldAddr, long oldSize, long newSize, MRemapMove move, long newAddr) throws MemmapException {
        if (!Pages.isPageAligned(oldAddr)) {
            throw Errno.EINVAL.exception("oldAddr = " + Pages.hex(oldAddr) + " is not page-aligned");
        }
        long oldLen0 = Pages.roundUp(oldSize).value(); // overflow wraps to 0: "copy", as in Linux
        Pages.Rounded nl = Pages.roundUp(newSize);
        if (!nl.ok() || nl.value() == 0) {
            throw Errno.EINVAL.exception("newSize = " + Pages.hex(newSize) + " is 0 or overflows");
        }
        long newLen = nl.value();
        if (oldLen0 != 0 && Long.compareUnsigned(oldAddr + oldLen0, oldAddr) <= 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(oldAddr) + ", +" + Pages.hex(oldLen0) + ") overflows");
        }
        return mm.withWriteLock(ctx, dropped -> {
            long oldLen = oldLen0;
            Segment<Vma> v = vmas().set.findSegment(oldAddr);
            if (v == null) {
                throw Errno.EFAULT.exception(Pages.hex(oldAddr) + " is not mapped");
            }
            Vma vma = v.value();
            if (vma.mlockMode() != MLockMode.NONE && Long.compareUnsigned(newLen, oldLen) > 0
                    && !ctx.credentials().has(Capability.IPC_LOCK)) {
                long limit = ctx.limits().memlock();
                if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(vmas().lockedAS - oldLen + newLen, limit) > 0) {
                    throw Errno.EAGAIN.exception("RLIMIT_MEMLOCK: growing the locked mapping passes " + limit);
                }
            }
            if (move != MRemapMove.MUST_MOVE) {
                if (oldLen == newLen) {
                    return oldAddr;
                }
                if (oldLen != 0 && Long.compareUnsigned(oldLen, newLen) > 0) {
                    vmas().unmapLocked(ctx, new AddrRange(oldAddr + newLen, oldAddr + oldLen), dropped);
                    return oldAddr;
                }
                if (oldLen == 0 && move == MRemapMove.NO_MOVE) {
                    throw Errno.ENOMEM.exception("cannot grow a zero-length range in place");
                }
                if (oldLen != 0) {
                    long oldEnd = oldAddr + oldLen;
                    if (Long.compareUnsigned(oldEnd, v.end()) > 0) {
                        throw Errno.EFAULT.exception("[" + Pages.hex(oldAddr) + ", " + Pages.hex(oldEnd) + ") spans more than one mapping");
                    }
                    try {
                        long off = vma.mappable() == null ? 0 : vma.off() + (oldEnd - v.start());
                        vmas().createLocked(ctx, extensionOpts(vma, oldEnd, newLen - oldLen, off), newLen - oldLen, off, oldEnd,
                                vma.mlockMode(), dropped);
                        if (vma.mlockMode() == MLockMode.EAGER) {
                            mm.pmas.populateLocked(ctx, new AddrRange(oldAddr, oldAddr + newLen), false); // errors ignored, as gVisor does
                        }
                        return oldAddr;
                    } catch (MemmapException e) {
                        if (move == MRemapMove.NO_MOVE) {
                            throw e;
                        }
                    }
                }
            }
            // Move (or copy, for an old size of 0).
            long dst;
            if (move == MRemapMove.MAY_MOVE) {
                dst = vmas().findAvailableLocked(MMapOpts.builder().length(newLen).build(), newLen, 0);
            } else {
                if (!Pages.isPageAligned(newAddr)) {
                    throw Errno.EINVAL.exception("newAddr = " + Pages.hex(newAddr) + " is not page-aligned");
                }
                if (Long.compareUnsigned(newAddr + newLen, newAddr) <= 0) {
                    throw Errno.EINVAL.exception("[" + Pages.hex(newAddr) + ", +" + Pages.hex(newLen) + ") overflows");
                }
                AddrRange dstAR = new AddrRange(newAddr, newAddr + newLen);
                if (oldLen != 0 && dstAR.overlaps(new AddrRange(oldAddr, oldAddr + oldLen))) {
                    throw Errno.EINVAL.exception("the new range " + dstAR + " overlaps the old one");
                }
                dst = vmas().findAvailableLocked(MMapOpts.builder().length(newLen).addr(newAddr).fixed(true).unmap(true).build(),
                        newLen, newAddr);
                // As gVisor (and Linux <= 6.16): the destination goes before the checks below.
                vmas().unmapLocked(ctx, dstAR, dropped);
                if (Long.compareUnsigned(oldLen, newLen) > 0) {
                    vmas().unmapLocked(ctx, new AddrRange(oldAddr + newLen, oldAddr + oldLen), dropped);
                    oldLen = newLen;
                }
            }
            v = vmas().set.findSegment(oldAddr);
            if (v == null) {
                throw Errno.EFAULT.exception(Pages.hex(oldAddr) + " is not mapped");
            }
            vma = v.value();
            AddrRange oldAR = new AddrRange(oldAddr, oldAddr + oldLen);
            if (oldLen != 0 && Long.compareUnsigned(oldAR.end(), v.end()) > 0) {
                throw Errno.EFAULT.exception(oldAR + " spans more than one mapping");
            }
            long limit = ctx.limits().addressSpace();
            if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(vmas().usageAS - oldLen + newLen, limit) > 0) {
                throw Errno.ENOMEM.exception("RLIMIT_AS: moving to " + newLen + " bytes passes " + limit);
            }
            long off = vma.mappable() == null ? 0 : vma.off() + (oldAddr - v.start());
            if (vma.mappable() != null && !Pages.addFits(off, newLen)) {
                throw Errno.EINVAL.exception("offset " + Pages.hex(off) + " + " + Pages.hex(newLen) + " overflows");
            }
            AddrRange newAR = new AddrRange(dst, dst + newLen);
            if (vma.mappable() != null) {
                vma.mappable().copyMapping(ctx, mm, oldAR, newAR, off, vma.canWriteMappable());
            }
            Vma moved = vma.withOffset(off);
            if (oldLen == 0) {
                if (vma.id() != null) {
                    vma.id().incRef();
                }
            } else {
                // The old vma goes without RemoveMapping (yet) and without dropping its identity: both transfer.
                v = vmas().set.isolate(v, oldAR.start(), oldAR.end());
                mm.pmas.splitAtLocked(oldAR.start());
                mm.pmas.splitAtLocked(oldAR.end());
                vmas().set.remove(v);
                vmas().account(vma, -oldLen);
            }
            vmas().insertLocked(newAR, moved, true);
            if (oldLen != 0) {
                mm.pmas.moveLocked(oldAR, newAR.start());
                mm.pmas.lockForChange();
                try {
                    mm.pmas.dirty.movedLocked(newAR); // dirty tracking: the pages' addresses changed
                } finally {
                    mm.pmas.unlock();
                }
                if (vma.mappable() != null) {
                    vma.mappable().removeMapping(ctx, mm, oldAR, off, vma.canWriteMappable());
                }
            }
            if (vma.mlockMode() == MLockMode.EAGER) {
                mm.pmas.populateLocked(ctx, newAR, false); // errors ignored, as gVisor does
            }
            return dst;
        });
    }

    /** What MMapOpts can carry of {@code vma}, for an extension of {@code length} bytes at {@code addr}. */
    private static MMapOpts extensionOpts(Vma vma, long addr, long length, long off) {
        return MMapOpts.builder().length(length).addr(addr).fixed(true).mappable(vma.mappable()).mappingIdentity(vma.id())
                .offset(off).perms(vma.realPerms()).maxPerms(vma.maxPerms()).isPrivate(vma.isPrivate())
                .growsDown(vma.growsDown()).stack(vma.isStack()).mlockMode(vma.mlockMode()).name(vma.name())
                .nameMut(vma.nameMut()).build();
    }

    // ---------------------------------------------------------------- msync

    /**
     * msync (spec §4.12): with {@code sync}, each shared vma's identity msyncs its range
     * (mappingMu, read-locked here, is released around the call); {@code invalidate} on an
     * mlocked vma is EBUSY. A hole gives ENOMEM after the rest is done.
     */
    void msync(Context ctx, long addr, long length, boolean sync, boolean invalidate) throws MemmapException {
        AddrRange ar = alignedRange(addr, length, Errno.ENOMEM);
        if (ar == null) {
            return;
        }
        boolean unmapped = false;
        long pos = ar.start();
        mm.mappingMu.readLock().lock();
        try {
            Segment<Vma> v = vmas().set.lowerBoundSegment(pos);
            if (v == null) {
                throw Errno.ENOMEM.exception("nothing is mapped at or after " + Pages.hex(pos));
            }
            while (true) {
                if (Long.compareUnsigned(v.start(), ar.end()) >= 0) {
                    unmapped = true; // a hole up to the end of the range (the next vma starts past it)
                    break;
                }
                if (Long.compareUnsigned(pos, v.start()) < 0) {
                    unmapped = true;
                }
                Vma vma = v.value();
                if (invalidate && vma.mlockMode() != MLockMode.NONE) {
                    throw Errno.EBUSY.exception("MS_INVALIDATE on the mlocked mapping at " + Pages.hex(v.start()));
                }
                long vEnd = v.end();
                if (sync && vma.id() != null && vma.mappable() != null && !vma.isPrivate()) {
                    long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
                    long e = Long.compareUnsigned(vEnd, ar.end()) < 0 ? vEnd : ar.end();
                    long base = vma.off() - v.start();
                    MappableRange mr = new MappableRange(base + s, base + e);
                    MappingIdentity id = vma.id();
                    id.incRef();
                    mm.mappingMu.readLock().unlock();
                    try {
                        id.msync(ctx, mr);
                    } finally {
                        id.decRef(ctx);
                        mm.mappingMu.readLock().lock();
                    }
                }
                if (Long.compareUnsigned(vEnd, ar.end()) >= 0) {
                    break;
                }
                pos = vEnd;
                v = vmas().set.lowerBoundSegment(pos);
                if (v == null) {
                    unmapped = true;
                    break;
                }
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        if (unmapped) {
            throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
        }
    }

    /**
     * The page range of a call that takes a page-aligned address and any length (mprotect,
     * madvise, msync, setName): null for a zero length (nothing to do).
     *
     * @throws MemmapException EINVAL naming {@code addr} if it is not page-aligned; {@code overflow} if the range wraps
     */
    static AddrRange alignedRange(long addr, long length, Errno overflow) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        return length == 0 ? null : pageRange(addr, length, overflow);
    }

    /** {@code [addr, addr + roundUp(length))}, or {@code overflow} naming the range. */
    static AddrRange pageRange(long addr, long length, Errno overflow) throws MemmapException {
        Pages.Rounded len = Pages.roundUp(length);
        long end = addr + len.value();
        if (!len.ok() || Long.compareUnsigned(end, addr) <= 0) {
            throw overflow.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        return new AddrRange(addr, end);
    }
}
