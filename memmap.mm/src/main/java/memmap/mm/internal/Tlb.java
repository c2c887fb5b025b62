package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import memmap.api.AccessType;
import memmap.api.Pages;
import memmap.api.safemem.Block;

/**
 * The software TLB of an address space (memmap's analogue of the host MMU's TLB, and of
 * QEMU's softmmu TLB): recent translations of addresses to the internal mapping of the pma
 * Block that backs them, so that small copies skip {@code mappingMu}, the vma and pma trees
 * and the Block walk.
 *
 * <p>Shape: two tables, as a CPU keeps one for huge and one for small pages. An entry is a
 * whole Block of a pma's internal mapping ({@code [start, end)} of the address space, never
 * crossing a pma edge). Blocks of 2 MiB or more go to the huge table, indexed by the 2 MiB
 * region of the address, two ways a set ({@value #HUGE_SETS} sets: 4 GiB of reach; a region
 * meets at most two such Blocks); smaller Blocks go to the small table, indexed by 64 KiB
 * region, one way ({@value #SMALL_SETS} sets). A fill writes the entry into every set its
 * Block covers near the address, so a random access elsewhere in the same Block hits.
 *
 * <p>Invariant (checked by {@link PmaLayer#checkInvariants}): an entry whose {@code version}
 * equals the pma layer's {@link PmaLayer#version()} lies inside pmas with at least its
 * permissions, and its segment maps exactly their pages. Soundness: the pma layer retires
 * every entry (bumps its version, before changing anything) whenever an existing pma may lose
 * a page, a permission or its backing; inserting new pmas and splitting or merging them keeps
 * every translation, and does not.
 *
 * <p>Concurrency: fills and the version bump happen under {@code activeMu}; lookups run without
 * it. Entries are immutable and published through plain array stores, so a racing reader sees
 * either a whole old entry or a whole new one, and trusts it only at the version it read. A
 * read that raced with a change is thrown away (the version moved) and redone. A write cannot
 * be: fast writers announce themselves in a striped counter ({@link #enterWrite}) and a change
 * first shoots the TLB down ({@link #shootDown}: close the gate, wait for the writers in flight
 * to leave — Dekker's handshake, both sides sequentially consistent), so no write through an old
 * translation lands after a change has begun; writers that find the gate closed take the full
 * path, which waits for {@code activeMu}. A page fault never shoots down: it only adds pmas.
 */
final class Tlb {
    static final int HUGE_SHIFT = 21;
    static final int HUGE_SETS = 2048;
    static final int SMALL_SHIFT = 16;
    static final int SMALL_SETS = 1024;
    /** How far from the faulting address a fill reaches (bounds the cost of one fill). */
    private static final long FILL_REACH = 64L << 20;

    /**
     * One translation: {@code [start, end)} of the address space is {@code segment}, allowed
     * {@code readable}/{@code writable}, faulting if {@code mayFault} (a host file's pages).
     */
    record Entry(long start, long end, MemorySegment segment, boolean readable, boolean writable, boolean mayFault, long version) {
        /** Whether this entry, at version {@code v}, holds all of {@code [addr, addr + n)} (which cannot wrap: entries lie in user addresses, below 2^63). */
        boolean covers(long addr, long n, long v) {
            return version == v && Long.compareUnsigned(addr, start) >= 0 && Long.compareUnsigned(addr + n, end) <= 0;
        }
    }

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    /** Fast writers in flight, striped by thread, each stripe on a cache line of its own. */
    private static final int STRIPES = 16;
    private static final int PAD = 16;
    private final java.util.concurrent.atomic.AtomicLongArray writers = new java.util.concurrent.atomic.AtomicLongArray(STRIPES * PAD);
    /** Closed while a change runs: fast writers stay out. */
    private volatile boolean shotDown;

    /** The calling thread's stripe of {@link #writers}. */
    static int stripe() {
        return (int) (Thread.currentThread().threadId() & (STRIPES - 1)) * PAD;
    }

    /** A fast writer comes in at {@code stripe}: false (and not in) if a change has shot the TLB down. */
    boolean enterWrite(int stripe) {
        writers.getAndIncrement(stripe);
        if (shotDown) {
            writers.getAndDecrement(stripe);
            return false;
        }
        return true;
    }

    /** The fast writer that came in at {@code stripe} leaves. */
    void exitWrite(int stripe) {
        writers.getAndDecrement(stripe);
    }

    /** Closes the gate and waits until no fast writer is in flight. Requires activeMu. */
    void shootDown() {
        shotDown = true;
        for (int i = 0; i < STRIPES * PAD; i += PAD) {
            for (int spins = 0; writers.get(i) != 0; spins++) {
                if (spins < 1024) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // a writer descheduled in its few instructions
                }
            }
        }
    }

    /** Opens the gate again. Requires activeMu. */
    void reopen() {
        shotDown = false;
    }

    /** Sets of two ways: {@code huge[2s]} is the most recently filled. Made on the first fill. */
    private Entry[] huge;
    private Entry[] small;

    /**
     * The entry covering {@code [addr, addr + n)} at version {@code v}, or null. The caller
     * checks that the range does not wrap. Safe without activeMu (see the class comment).
     */
    Entry lookup(long addr, long n, long v) {
        Entry[] h = huge;
        if (h != null) {
            int set = (int) ((addr >>> HUGE_SHIFT) & (HUGE_SETS - 1)) << 1;
            Entry e = h[set];
            if (e != null && e.covers(addr, n, v)) {
                return e;
            }
            e = h[set + 1];
            if (e != null && e.covers(addr, n, v)) {
                return e;
            }
        }
        Entry[] s = small;
        if (s != null) {
            Entry e = s[(int) ((addr >>> SMALL_SHIFT) & (SMALL_SETS - 1))];
            if (e != null && e.covers(addr, n, v)) {
                return e;
            }
        }
        return null;
    }

    /**
     * Remembers that {@code [start, start + block.length())} is {@code block} with
     * {@code perms}, at version {@code v}, in the sets near {@code addr} (which it holds).
     * Requires activeMu.
     */
    void fill(long addr, long start, Block block, AccessType perms, long v) {
        long end = start + block.length();
        Entry e = new Entry(start, end, block.segment(), perms.read(), perms.write(), block.needSafecopy(), v);
        boolean isHuge = block.length() >= Pages.HUGE_PAGE_SIZE;
        int shift = isHuge ? HUGE_SHIFT : SMALL_SHIFT;
        // Region numbers (addresses shifted right by 16 or 21 bits: small, non-negative, so plain
        // arithmetic is exact): the Block's regions, at most FILL_REACH either side of addr's.
        // A huge fill writes at most 65 of the 2048 sets; a small Block (< 2 MiB) spans at most
        // 32 regions of the 1024: no set is written twice.
        long reach = FILL_REACH >>> shift;
        long here = addr >>> shift;
        long lowest = start >>> shift;
        long highest = (end - 1) >>> shift;
        long from = here - lowest > reach ? here - reach : lowest;
        long to = highest - here > reach ? here + reach : highest;
        if (isHuge) {
            if (huge == null) {
                huge = new Entry[2 * HUGE_SETS];
            }
            for (long r = from; r <= to; r++) {
                int set = (int) (r & (HUGE_SETS - 1)) << 1;
                Entry first = huge[set];
                if (first == null || first.version != v || (first.start == start && first.end == end)) {
                    huge[set] = e;
                } else {
                    huge[set + 1] = first;
                    huge[set] = e;
                }
            }
        } else {
            if (small == null) {
                small = new Entry[SMALL_SETS];
            }
            for (long r = from; r <= to; r++) {
                small[(int) (r & (SMALL_SETS - 1))] = e;
            }
        }
    }

    /** Calls {@code f} with every entry valid at {@code v} (for invariant checks). Requires activeMu. */
    void forEachValid(long v, java.util.function.Consumer<Entry> f) {
        for (Entry[] table : new Entry[][] {huge, small}) {
            if (table != null) {
                for (Entry e : table) {
                    if (e != null && e.version == v) {
                        f.accept(e);
                    }
                }
            }
        }
    }

    /**
     * Copies between {@code mem} and {@code [addr, addr + mem.byteSize())} through entry
     * {@code e} (which covers it and allows the access). A page of a host file that faults
     * (truncated behind memmap's back) ends the copy: false, and the caller takes the full
     * path, which reports the fault as a value.
     */
    static boolean copy(Entry e, long addr, MemorySegment mem, boolean write) {
        long n = mem.byteSize();
        if (n != 8 || e.mayFault) {
            return copyBulk(e, addr, mem, write);
        }
        // An 8-byte access (an emulator's or an index's usual one) of memory that cannot fault
        // is a single load and store, small enough to inline into the caller's loop.
        long off = addr - e.start;
        try {
            if (write) {
                e.segment.set(LONG, off, mem.get(LONG, 0));
            } else {
                mem.set(LONG, 0, e.segment.get(LONG, off));
            }
            return true;
        } catch (IllegalStateException closed) {
            return false; // the memory file was released under a lock-free reader: the full path says what is there now
        }
    }

    /** {@link #copy} of any size, fault-tolerant where the memory may fault. */
    private static boolean copyBulk(Entry e, long addr, MemorySegment mem, boolean write) {
        long n = mem.byteSize();
        long off = addr - e.start;
        try {
            if (write) {
                MemorySegment.copy(mem, 0, e.segment, off, n);
            } else {
                MemorySegment.copy(e.segment, off, mem, 0, n);
            }
            if (e.mayFault) {
                // HotSpot raises a fault of an unsafe copy at the next safepoint poll or VM
                // transition (see Block#copy); this native call is one, inside the try.
                Thread.holdsLock(Tlb.class);
            }
            return true;
        } catch (InternalError | IllegalStateException ex) {
            return false;
        }
    }
}
