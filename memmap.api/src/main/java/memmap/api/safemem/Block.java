package memmap.api.safemem;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.Pages;

/**
 * A contiguous run of bytes (gVisor's {@code safemem.Block}, spec §3.1): a
 * {@link MemorySegment} plus whether it may fault when touched ({@code needSafecopy}, e.g. a
 * mapping of a host file that can be truncated behind our back). The empty Block has
 * length 0.
 *
 * <p>Copies into or out of a Block that needs safecopy never crash the JVM: a fault (which
 * the JDK reports as {@code InternalError} for a mapped page past the end of its file, or
 * {@code IllegalStateException} for a closed mapping) ends the copy with the bytes done so
 * far and a {@link HostFault}.
 *
 * @param segment the bytes
 * @param needSafecopy whether accesses may fault
 */
public record Block(MemorySegment segment, boolean needSafecopy) {
    /** The empty Block. */
    public static final Block EMPTY = new Block(MemorySegment.NULL, false);

    /** Granule of fault-tolerant copies: a fault loses at most the granule in progress. */
    private static final long SAFE_GRANULE = Pages.PAGE_SIZE;

    public Block {
        Objects.requireNonNull(segment, "segment");
    }

    /** A Block over memory that cannot fault (BlockFromSafeSlice / BlockFromSafePointer). */
    public static Block ofSafe(MemorySegment segment) {
        return segment.byteSize() == 0 ? EMPTY : new Block(segment, false);
    }

    /** A Block over memory that may fault (BlockFromUnsafeSlice / BlockFromUnsafePointer). */
    public static Block ofUnsafe(MemorySegment segment) {
        return segment.byteSize() == 0 ? EMPTY : new Block(segment, true);
    }

    /** A safe Block over a byte array (BlockFromSafeSlice). */
    public static Block ofArray(byte[] bytes) {
        return ofSafe(MemorySegment.ofArray(bytes));
    }

    /** The number of bytes. */
    public long length() {
        return segment.byteSize();
    }

    /** True if the Block has no bytes. */
    public boolean isEmpty() {
        return segment.byteSize() == 0;
    }

    /** The address of the first byte (for heap memory, the offset in its array). */
    public long address() {
        return segment.address();
    }

    /**
     * This Block without its first {@code n} bytes; empty if {@code n >= length()}.
     * {@code n} is unsigned (gVisor's uint64): 2^63 and more drop or take everything.
     */
    public Block dropFirst(long n) {
        if (n == 0) {
            return this;
        }
        return Long.compareUnsigned(n, length()) >= 0 ? EMPTY : new Block(segment.asSlice(n), needSafecopy);
    }

    /**
     * The first {@code n} bytes of this Block; this Block if {@code n >= length()}.
     * {@code n} is unsigned (gVisor's uint64): 2^63 and more drop or take everything.
     */
    public Block takeFirst(long n) {
        if (n == 0) {
            return EMPTY;
        }
        return Long.compareUnsigned(n, length()) >= 0 ? this : new Block(segment.asSlice(0, n), needSafecopy);
    }

    /** The bytes as a new array. */
    public byte[] toArray() {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Copies {@code min(dst.length(), src.length())} bytes from {@code src} to {@code dst}.
     * If neither needs safecopy this is a plain copy that cannot fail; otherwise a fault
     * ends the copy with the bytes done before the faulting page and a {@link HostFault}.
     * Overlapping Blocks leave unspecified contents.
     */
    public static IoResult copy(Block dst, Block src) {
        long n = Math.min(dst.length(), src.length());
        if (n == 0) {
            return IoResult.ok(0);
        }
        if (!dst.needSafecopy && !src.needSafecopy) {
            MemorySegment.copy(src.segment, 0, dst.segment, 0, n);
            return IoResult.ok(n);
        }
        // One bulk copy; only if it faults, redo it page by page (aligned to the pages of the
        // side that may fault) to count exactly the bytes before the faulting page. Copying
        // the same bytes twice is harmless.
        try {
            MemorySegment.copy(src.segment, 0, dst.segment, 0, n);
            raisePendingFault();
            return IoResult.ok(n);
        } catch (InternalError | IllegalStateException e) {
            // Fall through to the exact, page-by-page copy.
        }
        long base = src.needSafecopy ? src.segment.address() : dst.segment.address();
        long done = 0;
        try {
            while (done < n) {
                long chunk = Math.min(n - done, SAFE_GRANULE - Pages.pageOffset(base + done));
                MemorySegment.copy(src.segment, done, dst.segment, done, chunk);
                raisePendingFault();
                done += chunk;
            }
        } catch (InternalError | IllegalStateException e) {
            return new IoResult(done, fault(e));
        }
        return IoResult.ok(done);
    }

    /**
     * HotSpot reports a fault in an unsafe copy asynchronously: the {@code InternalError} is
     * raised at the thread's next safepoint poll or VM transition, which may lie after the
     * copy's {@code try}. A native call returns through such a transition, so a fault of the
     * copy just made is raised here, inside the caller's {@code try}.
     */
    private static void raisePendingFault() {
        Thread.holdsLock(Block.class);
    }

    /** Zero-fills {@code dst}; fault-tolerant as {@link #copy}. */
    public static IoResult zero(Block dst) {
        long n = dst.length();
        if (!dst.needSafecopy) {
            dst.segment.fill((byte) 0);
            return IoResult.ok(n);
        }
        long base = dst.segment.address();
        long done = 0;
        try {
            while (done < n) {
                long chunk = Math.min(n - done, SAFE_GRANULE - Pages.pageOffset(base + done));
                dst.segment.asSlice(done, chunk).fill((byte) 0);
                raisePendingFault();
                done += chunk;
            }
        } catch (InternalError | IllegalStateException e) {
            return new IoResult(done, fault(e));
        }
        return IoResult.ok(done);
    }

    private static HostFault fault(Throwable e) {
        // InternalError: the JDK's report of SIGBUS/SIGSEGV in an unsafe access (a mapped page
        // past the end of its file). IllegalStateException: the mapping was already closed.
        return new HostFault(e instanceof InternalError, String.valueOf(e.getMessage()));
    }

    /**
     * Atomically replaces the first 4 bytes (native byte order, 4-byte aligned native memory)
     * with {@code value}.
     *
     * @return the previous value
     * @throws IllegalArgumentException if the Block is shorter than 4 bytes or not aligned
     * @throws MemmapException with a {@link HostFault} if the access faults
     */
    public int swapInt(int value) throws MemmapException {
        checkAtomic(4);
        try {
            return (int) INT.getAndSet(segment, 0L, value);
        } catch (InternalError | IllegalStateException e) {
            throw new MemmapException(fault(e), e);
        }
    }

    /** As {@link #swapInt} for the first 8 bytes. */
    public long swapLong(long value) throws MemmapException {
        checkAtomic(8);
        try {
            return (long) LONG.getAndSet(segment, 0L, value);
        } catch (InternalError | IllegalStateException e) {
            throw new MemmapException(fault(e), e);
        }
    }

    /**
     * Atomically sets the first 4 bytes to {@code newValue} if they hold {@code expected}.
     *
     * @return the value found (equal to {@code expected} on success)
     */
    public int compareAndSwapInt(int expected, int newValue) throws MemmapException {
        checkAtomic(4);
        try {
            return (int) INT.compareAndExchange(segment, 0L, expected, newValue);
        } catch (InternalError | IllegalStateException e) {
            throw new MemmapException(fault(e), e);
        }
    }

    /** Atomically reads the first 4 bytes. */
    public int loadInt() throws MemmapException {
        checkAtomic(4);
        try {
            return (int) INT.getVolatile(segment, 0L);
        } catch (InternalError | IllegalStateException e) {
            throw new MemmapException(fault(e), e);
        }
    }

    private static final java.lang.invoke.VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final java.lang.invoke.VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private void checkAtomic(int size) {
        if (length() < size) {
            throw new IllegalArgumentException("block = " + this + " is shorter than " + size + " bytes");
        }
        if (!segment.isNative() || (segment.address() & (size - 1)) != 0) {
            throw new IllegalArgumentException("block = " + this + " is not " + size + "-byte aligned native memory");
        }
    }

    /** {@code <nil>} for the empty Block, else {@code [0xSTART-0xEND)} with {@code *} if it needs safecopy. */
    @Override
    public String toString() {
        if (isEmpty()) {
            return "<nil>";
        }
        return "[" + Pages.hex(address()) + "-" + Pages.hex(address() + length()) + ")" + (needSafecopy ? "*" : "");
    }
}
