package memmap.api;

import java.lang.foreign.MemorySegment;

/**
 * An address space with the system calls of Linux's mm (gVisor's {@code mm.MemoryManager},
 * spec §4): what users of memmap program against. Obtain one from the
 * {@link memmap.api.provider.AddressSpaces} service.
 *
 * <p>Errors: calls that change mappings throw a {@link MemmapException} carrying Linux's errno,
 * checked in the order the spec gives, and leave the address space unchanged unless the spec
 * says otherwise (mmap with {@code unmap} has already unmapped its target when the Mappable
 * refuses). I/O returns the bytes done and, if short, why: EFAULT for an unmapped or
 * protected address (the system-call view), or a {@link BusError} where a Mappable or a copy
 * reported one (what a page fault would turn into SIGBUS).
 *
 * <p>Lock order: see the {@code memmap.api} package documentation (mappingMu → Mappable and
 * identity locks → activeMu → translate's locks → File locks).
 *
 * <p>Thread safety: every method may be called concurrently.
 */
@org.osgi.annotation.versioning.ProviderType
public interface AddressSpace extends MappingSpace {
    /**
     * mmap. A null Mappable with {@code isPrivate} is private anonymous memory; a null
     * Mappable without it is shared anonymous memory, made by the anonymous backing provider.
     *
     * @return the mapping's address
     */
    long mmap(Context ctx, MMapOpts opts) throws MemmapException;

    /**
     * shmat: attaches System V segment {@code id} (through the SysVSharedMemory service) at
     * {@code addr} (0: anywhere) with shmat's {@code flags}.
     *
     * @return the attachment's address
     * @throws MemmapException ENODEV "no provider for kind shm" without the service, or shmat's errors
     */
    long shmat(Context ctx, int id, long addr, int flags) throws MemmapException;

    /**
     * shmdt (spec §4.15): detaches the segment attached at {@code addr}, with every fragment of
     * the same attachment after it (left by munmap or mremap).
     *
     * @throws MemmapException EINVAL if {@code addr} is unaligned or no attachment starts there
     */
    void shmdt(Context ctx, long addr) throws MemmapException;

    /**
     * Sets where the heap starts (gVisor's {@code BrkSetup}, what a loader does after placing
     * the program's data): the heap becomes {@code [addr, addr)}, any previous heap unmapped.
     *
     * @throws MemmapException EINVAL if {@code addr} is 0 or not page-aligned (nothing changed)
     */
    void brkSetup(Context ctx, long addr) throws MemmapException;

    /**
     * brk (gVisor's {@code mm.Brk}): moves the program break, the end of the heap, to
     * {@code addr}. Growing past a page boundary maps private anonymous memory {@code [heap]}
     * (read-write, locked if {@code mlockall(MCL_FUTURE)} asked); shrinking unmaps the whole
     * pages above the new break. The brk system call returns the new break, or on failure the
     * old one ({@link #heap}{@code .end()}).
     *
     * @return the new break
     * @throws MemmapException with the break unchanged: ENOMEM before {@link #brkSetup}; EINVAL
     *     below the heap's start; ENOMEM if the heap would pass RLIMIT_DATA (its size, as gVisor counts it) or grow into another
     *     mapping; EFAULT if {@code addr} rounds past the address space
     */
    long brk(Context ctx, long addr) throws MemmapException;

    /** The heap: {@code [start, break)}, empty until {@link #brkSetup}. */
    AddrRange heap();

    /** munmap. Unmapping what is not mapped is not an error. */
    void munmap(Context ctx, long addr, long length) throws MemmapException;

    /** mremap; returns the mapping's address afterwards. */
    long mremap(Context ctx, long oldAddr, long oldSize, long newSize, MRemapMove move, long newAddr) throws MemmapException;

    /**
     * mincore: one byte per page of {@code [addr, addr + length)} (length rounded up to whole
     * pages), 1 if the page is resident: a page of anonymous memory is resident once it has
     * memory (touched, or filled ahead with a touched neighbour: memmap's fill-ahead makes this
     * a superset of what Linux would report); a page of a file mapping is always reported
     * resident, as gVisor reports every mapped page (the host page cache is not consulted).
     *
     * @throws MemmapException EINVAL if {@code addr} is not page-aligned; ENOMEM if the range
     *     wraps or holds an unmapped page (the message names it)
     */
    byte[] mincore(Context ctx, long addr, long length) throws MemmapException;

    /** mprotect. */
    void mprotect(Context ctx, long addr, long length, AccessType perms) throws MemmapException;

    /**
     * mprotect with {@code PROT_GROWSDOWN} ({@code growsDown}): the range is extended down to
     * the start of the growsDown mapping holding {@code addr} (or, in a hole, the first one
     * above it, the hole left alone).
     *
     * @throws MemmapException EINVAL if that mapping does not grow down; ENOMEM if it starts at or
     *     after the range's end; else as {@link #mprotect(Context, long, long, AccessType)}
     */
    void mprotect(Context ctx, long addr, long length, AccessType perms, boolean growsDown) throws MemmapException;

    /** msync with MS_SYNC ({@code sync}) and/or MS_INVALIDATE. */
    void msync(Context ctx, long addr, long length, boolean sync, boolean invalidate) throws MemmapException;

    /** mlock ({@code mode} EAGER or LAZY) or munlock ({@code mode} NONE). */
    void mlock(Context ctx, long addr, long length, MLockMode mode) throws MemmapException;

    /** mlockall with MCL_CURRENT and/or MCL_FUTURE. */
    void mlockAll(Context ctx, boolean current, boolean future, MLockMode mode) throws MemmapException;

    /** munlockall. */
    void munlockAll(Context ctx) throws MemmapException;

    /** madvise. */
    void madvise(Context ctx, long addr, long length, MAdvice advice) throws MemmapException;

    /** A copy-on-write copy of this address space (fork). */
    AddressSpace fork(Context ctx) throws MemmapException;

    /**
     * A page fault at {@code addr} for {@code at} (gVisor's HandleUserFault): makes the page
     * accessible (translating, allocating or copying on write as needed).
     *
     * @throws FaultException SIGSEGV without a mapping or the permission, SIGBUS where the
     *     Mappable or a copy reports a {@link BusError}; carrying the faulting address
     */
    void fault(Context ctx, long addr, AccessType at) throws FaultException;

    /** Copies {@code dst.byteSize()} bytes at {@code addr} into {@code dst}. */
    IoResult read(Context ctx, long addr, MemorySegment dst);

    /** Copies {@code src} to {@code addr}. */
    IoResult write(Context ctx, long addr, MemorySegment src);

    /**
     * {@link #read} with options: {@link IoOpts#FORCE} reads what the protection refuses, as far
     * as the mapping's maximum permissions allow (ptrace, {@code /proc/[pid]/mem}); EFAULT
     * beyond them. The protection is unchanged afterwards.
     */
    IoResult read(Context ctx, long addr, MemorySegment dst, IoOpts opts);

    /**
     * {@link #write} with options: {@link IoOpts#FORCE} writes what the protection refuses, as
     * Linux's {@code FOLL_FORCE}: in a private mapping whose maximum permissions allow writing,
     * copy-on-write is broken and the page becomes the address space's own (still read-only to
     * it); a shared mapping that is not writable refuses (EFAULT). The protection is unchanged.
     */
    IoResult write(Context ctx, long addr, MemorySegment src, IoOpts opts);

    /**
     * Pins {@code [addr, addr + length)} for {@code at} (gVisor's {@code mm.Pin}): translates
     * every page of it, breaking copy-on-write for a write, takes a reference on each, and
     * returns the memory as a {@link PinnedView} to access directly until it is closed (see
     * its contract: pages stay, staleness before a change, fork, dirty tracking).
     * {@code ignorePermissions} pins what the protection refuses, as {@link IoOpts#FORCE} does.
     *
     * <p>Postcondition on success: the view covers the whole range; on failure nothing is
     * pinned (copy-on-write already broken for part of the range stays broken, as a write
     * fault would leave it).
     *
     * @throws MemmapException EINVAL if {@code length} is 0 or {@code at} is no access, EFAULT
     *     if the range wraps, leaves the mappings or (without {@code ignorePermissions}) their
     *     protection refuses {@code at}, ENOMEM without memory for copy-on-write, or the
     *     backing's error (a {@link BusError} past the end of a file); the message names the
     *     address
     */
    PinnedView pin(Context ctx, long addr, long length, AccessType at, boolean ignorePermissions) throws MemmapException;

    /** Zeroes {@code length} bytes at {@code addr}. */
    IoResult zero(Context ctx, long addr, long length);

    /** {@code /proc/[pid]/maps} in Linux's format. */
    String maps(Context ctx);

    /** {@code /proc/[pid]/smaps} in Linux's format. */
    String smaps(Context ctx);

    /**
     * {@code prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)}: names the mappings of the range
     * {@code [anon:NAME]} or {@code [anon_shmem:NAME]} as their NameMut allows; a null name
     * clears. EINVAL for a character outside printable ASCII or one of {@code \ ` $ [ ]},
     * EBADF for a mapping that may not be renamed, ENOMEM for a hole (after naming the rest).
     */
    void setName(Context ctx, long addr, long length, String name) throws MemmapException;

    /**
     * Starts dirty tracking of {@code range} (see {@link DirtyTracker} for what counts as
     * written, and across fork, mremap and munmap). Several trackers may overlap; each sees every
     * write. Mapped or not, the whole range is tracked.
     *
     * @throws IllegalArgumentException if {@code range} is empty or not page-aligned
     */
    DirtyTracker trackWrites(Context ctx, AddrRange range);

    /** Bytes mapped (RLIMIT_AS's measure). */
    long usageAS();

    /** Bytes of memory backing the address space now (RSS). */
    long rss();

    /** Unmaps everything; the address space is empty afterwards. */
    void release(Context ctx);

    /**
     * This address space's number: unique among the address spaces of this JVM, increasing in
     * creation order (forks and restores included), never reused. What consoles show it as
     * (the memmap Web Console plugin, {@link memmap.api.provider.AddressSpaces#live()}).
     *
     * @since 1.5
     */
    long id();
}
