package memmap.api;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;

/**
 * A pinned range of an address space (gVisor's {@code mm.Pin}/{@code Unpin} with the internal
 * mappings of what it pins; Linux's {@code pin_user_pages} with an MMU notifier; rust-vmm's
 * {@code GuestMemory::get_slice}): the memory that backed the range when it was pinned, as one
 * contiguous {@link MemorySegment} ({@link #segment()}) the holder reads and writes directly,
 * at the speed of the memory, until it {@linkplain #close closes} the view — however many
 * mappings, files or chunks the range spans (they are mapped side by side for the view). Obtain
 * one from {@link AddressSpace#pin}.
 *
 * <p><b>Pages stay.</b> The view holds a reference on every page it shows: munmap, mprotect,
 * mremap, madvise, invalidation, truncation through memmap, copy-on-write and hot swap only
 * change what the address space maps from then on; no page the view shows is freed or reused
 * while it is open. A host file truncated behind memmap's back can still fault: use
 * {@link #read}/{@link #write}, which report it as a {@link BusError} value, for pieces that
 * {@linkplain Piece#mayFault may fault}; a direct access to such a page past the new end of the
 * file gets the JDK's {@code InternalError}, never a crash.
 *
 * <p><b>Staleness (an MMU notifier).</b> When the address space is about to stop mapping a
 * pinned page at its address with the pinned access — munmap or MAP_FIXED over it, mprotect
 * taking the access away, mremap moving it, madvise(DONTNEED), an invalidation (truncation,
 * MS_INVALIDATE), a copy-on-write break replacing the page a read view shows, a hot swap moving
 * it to another provider — the view becomes stale <em>before</em> the change takes effect: the
 * listeners run with the affected range, and from then on {@link #isStale} is true. After a
 * listener returns, the holder must not rely on the view for that range: writes through it no
 * longer reach the address space (a hot swap copies the page after the listeners have run, so
 * nothing written before they returned is lost). Re-pin to see the address space again. Fork
 * does not make a write view stale: as Linux does for pinned pages, the child gets its own copy
 * of them at once, and the parent keeps writing its own. Dirty tracking counts every page of
 * an open write view as written at every collect.
 *
 * <p>Listeners run on the thread making the change, with the address space's locks held: they
 * must be quick, must not call into the address space and must not wait for a thread that
 * does (an emulator flips a flag and kicks its vCPUs out of their TLB).
 *
 * <p>Thread safety: every method may be called concurrently; {@link #close} is idempotent.
 */
@org.osgi.annotation.versioning.ProviderType
public interface PinnedView extends AutoCloseable {
    /**
     * A run of a view's pages that may fault, or may not: the view split where that changes.
     *
     * @param range the addresses the piece covers
     * @param segment the memory behind them (a slice of {@link #segment()}), readable, and
     *     writable if the view was pinned for writing
     * @param mayFault whether a page of it may fault (a host file others can truncate)
     */
    record Piece(AddrRange range, MemorySegment segment, boolean mayFault) {
    }

    /** The pinned addresses: {@code [addr, addr + length)} as asked of {@link AddressSpace#pin}. */
    AddrRange range();

    /** The access the view was pinned for (what its segments allow). */
    AccessType access();

    /** The pieces, in address order, covering {@link #range} exactly. */
    List<Piece> pieces();

    /**
     * The memory behind the whole view: byte {@code i} is address {@code range().start() + i}.
     * Read-only unless the view was pinned for writing; inaccessible once it is closed.
     *
     * @throws IllegalStateException if the view is closed
     */
    MemorySegment segment();

    /**
     * The memory behind {@code [addr, addr + length)}: a slice of {@link #segment()}.
     *
     * @throws IllegalArgumentException if the range leaves the view (the message names it)
     * @throws IllegalStateException if the view is closed
     */
    MemorySegment segment(long addr, long length);

    /**
     * Copies {@code dst.byteSize()} bytes at {@code addr} of the view into {@code dst}, across
     * pieces, fault-tolerantly: a page that faults ends the copy with a {@link BusError}. A
     * range outside the view is EFAULT (nothing copied); a closed view is EBADF.
     */
    IoResult read(long addr, MemorySegment dst);

    /** As {@link #read}, from {@code src} into the view; EACCES if it was not pinned for writing. */
    IoResult write(long addr, MemorySegment src);

    /** Whether the address space has stopped (or is about to stop) mapping some of the view. */
    boolean isStale();

    /**
     * Calls {@code listener} with each range of the view that goes stale, before the change
     * (see the class comment); at once, with the whole range, if the view is stale already.
     */
    void onStale(Consumer<AddrRange> listener);

    /** Unpins: the page references go, the segments become inaccessible. Idempotent. */
    @Override
    void close();
}
