package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MMapPlatformEffect;
import memmap.api.MRemapMove;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.NameMut;
import memmap.api.Pages;
import memmap.api.ResourceLimits;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.segment.Segment;

/**
 * The memory system calls (gVisor's {@code syscalls.go}): each validates its arguments in
 * Linux's order, then changes the vma layer, then the pma layer. A refused call changes
 * nothing unless Linux's own semantics say otherwise (documented per call).
 *
 * <p>Locking: each call takes {@code mappingMu} itself (for writing unless noted); identity
 * references dropped while it is held are released after unlocking, because a last DecRef
 * may take locks ranking above it.
 */
final class Syscalls {
    private final MemoryManager mm;
    /** MCL_FUTURE's mode for new mappings. Guarded by mappingMu. */
    private MLockMode defMLockMode = MLockMode.NONE;

    Syscalls(MemoryManager mm) {
        this.mm = mm;
    }

    private VmaLayer vmas() {
        return mm.vmas;
    }

    /** Runs {@code body} with mappingMu write-locked, then drops the identities it queued. */
    private <T> T withWriteLock(Context ctx, Body<T> body) throws MemmapException {
        List<MappingIdentity> dropped = new ArrayList<>();
        mm.mappingMu.writeLock().lock();
        try {
            return body.run(dropped);
        } finally {
            mm.mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
    }

    @FunctionalInterface
    private interface Body<T> {
        T run(List<MappingIdentity> dropped) throws MemmapException;
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
            return withWriteLock(ctx, dropped -> {
                MLockMode mlock = MLockMode.max(o.mlockMode(), defMLockMode);
                long start = vmas().createLocked(ctx, o, len.value(), off, a, mlock, dropped);
                AddrRange ar = new AddrRange(start, start + len.value());
                if (o.platformEffect().compareTo(MMapPlatformEffect.POPULATE) >= 0 || mlock == MLockMode.EAGER) {
                    // Spec §4.3: populate now; only with requirePlatformEffect does a failure undo the mmap.
                    MemmapError err = populateLocked(ctx, ar, false);
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
        withWriteLock(ctx, dropped -> {
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
        withWriteLock(ctx, dropped -> {
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
        return withWriteLock(ctx, dropped -> {
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
                            populateLocked(ctx, new AddrRange(oldAddr, oldAddr + newLen), false); // errors ignored, as gVisor does
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
                if (vma.mappable() != null) {
                    vma.mappable().removeMapping(ctx, mm, oldAR, off, vma.canWriteMappable());
                }
            }
            if (vma.mlockMode() == MLockMode.EAGER) {
                populateLocked(ctx, newAR, false); // errors ignored, as gVisor does
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

    // ---------------------------------------------------------------- calls that change vma attributes

    /** mprotect (spec §4.8): no Mappable is told; {@code writable} and maxPerms never change. */
    void mprotect(Context ctx, long addr, long length, AccessType perms) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.ENOMEM);
        AccessType effective = perms.effective();
        withWriteLock(ctx, dropped -> {
            VmaLayer.Coverage c = vmas().changeLocked(ar, true, piece -> {
                Vma vma = piece.value();
                if (!vma.maxPerms().supersetOf(effective)) {
                    throw Errno.EACCES.exception(effective + " exceeds the maximum " + vma.maxPerms() + " at " + Pages.hex(piece.start()));
                }
                Vma changed = vma.withRealPerms(perms);
                mm.pmas.reprotectLocked(new AddrRange(piece.start(), piece.end()), changed);
                return changed;
            });
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception(Pages.hex(c.end()) + " is not mapped");
            }
            return null;
        });
    }

    /** mlock/munlock (spec §4.13) over the page range around {@code [addr, addr + length)}. */
    void mlock(Context ctx, long addr, long length, MLockMode mode) throws MemmapException {
        long start = Pages.roundDown(addr);
        Pages.Rounded len = Pages.roundUp(length + Pages.pageOffset(addr));
        long end = start + len.value();
        if (Long.compareUnsigned(end, start) < 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        AddrRange ar = new AddrRange(start, end);
        withWriteLock(ctx, dropped -> {
            if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                long limit = ctx.limits().memlock();
                if (limit == 0) {
                    throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                }
                if (limit != ResourceLimits.INFINITY
                        && Long.compareUnsigned(vmas().lockedAS + ar.length() - vmas().lockedIn(ar), limit) > 0) {
                    throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: locking " + ar.length() + " more bytes passes " + limit);
                }
            }
            if (ar.isEmpty()) {
                return null;
            }
            VmaLayer.Coverage c = vmas().changeLocked(ar, true, piece -> piece.value().withMLockMode(mode));
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception(Pages.hex(c.end()) + " is not mapped");
            }
            if (mode == MLockMode.EAGER) {
                MemmapError err = populateLocked(ctx, ar, true);
                if (err != null) {
                    // Linux's __mlock_posix_error_return: EFAULT is ENOMEM, ENOMEM is EAGAIN, the rest as they are.
                    Errno e = err.toErrno();
                    Errno reported = e.equals(Errno.EFAULT) ? Errno.ENOMEM : e.equals(Errno.ENOMEM) ? Errno.EAGAIN : e;
                    throw reported.exception("populating " + ar + ": " + err.message());
                }
            }
            return null;
        });
    }

    /** mlockall: {@code current} locks every vma now (EAGER backs them too, errors ignored as in Linux); {@code future} new ones. */
    void mlockAll(Context ctx, boolean current, boolean future, MLockMode mode) throws MemmapException {
        if (!current && !future) {
            throw Errno.EINVAL.exception("mlockall needs MCL_CURRENT or MCL_FUTURE");
        }
        withWriteLock(ctx, dropped -> {
            if (current) {
                if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                    long limit = ctx.limits().memlock();
                    if (limit == 0) {
                        throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                    }
                    if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(vmas().usageAS, limit) > 0) {
                        throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: " + vmas().usageAS + " bytes mapped pass " + limit);
                    }
                }
                AddrRange all = new AddrRange(0, -1L);
                vmas().changeLocked(all, false, piece -> piece.value().withMLockMode(mode));
                if (mode == MLockMode.EAGER) {
                    populateLocked(ctx, all, false);
                }
            }
            if (future) {
                defMLockMode = mode;
            }
            return null;
        });
    }

    /**
     * madvise (spec §4.14): DONTNEED drops every pma in the range (private copies lost) and is
     * EINVAL on mlocked vmas; DONTFORK/DOFORK mark vmas; REMOVE is ENOSYS, HWPOISON EPERM; the
     * rest succeed doing nothing. Holes give ENOMEM after the rest is done.
     */
    void madvise(Context ctx, long addr, long length, MAdvice advice) throws MemmapException {
        // gVisor's Madvise: the address and length first, then the advice; hints are ignored
        // without looking at the vmas (so, unlike Linux, no ENOMEM for a hole).
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.EINVAL);
        switch (advice) {
            case REMOVE -> throw Errno.ENOSYS.exception("MADV_REMOVE");
            case HWPOISON -> throw Errno.EPERM.exception("MADV_HWPOISON");
            case DONTNEED, DONTFORK, DOFORK -> { }
            default -> {
                return;
            }
        }
        withWriteLock(ctx, dropped -> {
            VmaLayer.Coverage c;
            if (advice == MAdvice.DONTNEED) {
                c = dontNeedLocked(ar);
            } else {
                c = vmas().changeLocked(ar, false, piece -> piece.value().withDontfork(advice == MAdvice.DONTFORK));
            }
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
            return null;
        });
    }

    /** MADV_DONTNEED: no vma changes, every pma of the mapped parts goes. */
    private VmaLayer.Coverage dontNeedLocked(AddrRange ar) throws MemmapException {
        long pos = ar.start();
        boolean hole = false;
        for (Segment<Vma> v = vmas().set.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (Long.compareUnsigned(v.start(), pos) > 0) {
                hole = true;
            }
            if (v.value().mlockMode() != MLockMode.NONE) {
                throw Errno.EINVAL.exception("MADV_DONTNEED on the mlocked mapping at " + Pages.hex(v.start()));
            }
            long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
            long e = Long.compareUnsigned(v.end(), ar.end()) < 0 ? v.end() : ar.end();
            mm.pmas.invalidateLocked(new AddrRange(s, e), true);
            pos = v.end();
        }
        return new VmaLayer.Coverage(pos, hole);
    }

    /** PR_SET_VMA_ANON_NAME. */
    void setName(Context ctx, long addr, long length, String name) throws MemmapException {
        if (name != null) {
            for (char c : name.toCharArray()) {
                if (c <= 0x1f || c >= 0x7f || c == '\\' || c == '`' || c == '$' || c == '[' || c == ']') {
                    throw Errno.EINVAL.exception("name = \"" + name + "\" has the character " + (int) c + ", which names may not");
                }
            }
        }
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.EINVAL);
        withWriteLock(ctx, dropped -> {
            VmaLayer.Coverage c = vmas().changeLocked(ar, false, piece -> {
                Vma vma = piece.value();
                if (vma.nameMut() == NameMut.DISALLOWED) {
                    throw Errno.EBADF.exception("the mapping at " + Pages.hex(piece.start()) + " may not be renamed");
                }
                return vma.withName(name == null ? "" : (vma.nameMut() == NameMut.ANON ? "[anon:" : "[anon_shmem:") + name + "]");
            });
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
            return null;
        });
    }

    // ---------------------------------------------------------------- msync

    /**
     * msync (spec §4.12): with {@code sync}, each shared vma's identity msyncs its range
     * (mappingMu, read-locked here, is released around the call); {@code invalidate} on an
     * mlocked vma is EBUSY. A hole gives ENOMEM after the rest is done.
     */
    void msync(Context ctx, long addr, long length, boolean sync, boolean invalidate) throws MemmapException {
        if (!Pages.isPageAligned(addr)) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        if (length == 0) {
            return;
        }
        AddrRange ar = pageRange(addr, length, Errno.ENOMEM);
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

    // ---------------------------------------------------------------- population

    /**
     * Backs every page of the vmas in {@code ar} now (gVisor's populateVMA: translating for no
     * access, so shared pages are not dirtied and private ones are not copied). A vma without
     * permissions is skipped, or with {@code inaccessibleIsError} reported as EFAULT (what
     * Linux's get_user_pages says, which mlock turns into ENOMEM). Returns the first error.
     * Requires mappingMu.
     */
    MemmapError populateLocked(Context ctx, AddrRange ar, boolean inaccessibleIsError) {
        MemmapError first = null;
        for (Segment<Vma> v = vmas().set.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (!v.value().effectivePerms().any()) {
                if (inaccessibleIsError) {
                    return Errno.EFAULT.withDetail("the mapping at " + Pages.hex(v.start()) + " has no permissions to populate");
                }
                continue;
            }
            long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
            long e = Long.compareUnsigned(v.end(), ar.end()) < 0 ? v.end() : ar.end();
            mm.pmas.lockForChange();
            try {
                PmaLayer.Prepared r = mm.pmas.getPmasLocked(ctx, v, new AddrRange(s, e), AccessType.NO_ACCESS);
                if (r.error() != null) {
                    if (inaccessibleIsError) {
                        return r.error();
                    }
                    first = first == null ? r.error() : first;
                }
            } finally {
                mm.pmas.unlock();
            }
        }
        return first;
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
