package memmap.api;

import java.lang.foreign.MemorySegment;

import memmap.api.safemem.BlockSeq;

/**
 * Host-mappable memory whose pages are reference counted: the target of every
 * {@link Translation} (gVisor's {@code memmap.File}, spec §1.11; named so as not to shadow
 * {@code java.io.File}).
 *
 * <p>Invariant: a page is usable (mappable, readable, writable) exactly while at least one
 * reference is held on it. The interface has no way to take the first reference;
 * implementations define one (the memory file's {@code allocate}, a Mappable's translate).
 *
 * <p>Lock order: locks taken by File methods rank below everything else in memmap; File
 * methods never call out to Mappables or MappingSpaces.
 */
@org.osgi.annotation.versioning.ProviderType
public interface MemmapFile {
    /**
     * Takes one more reference on every page of {@code fr}, associating pages that had no
     * reference with memory cgroup {@code memCgId} (pages that had one keep theirs).
     *
     * <p>Preconditions: {@code fr} page-aligned and non-empty; at least one reference already
     * held on every page.
     */
    void incRef(FileRange fr, int memCgId);

    /**
     * Drops one reference on every page of {@code fr}.
     *
     * <p>Preconditions: {@code fr} page-aligned and non-empty; at least one reference held on
     * every page.
     */
    void decRef(FileRange fr);

    /**
     * Maps {@code fr} into this process for the accesses {@code at}. {@code fr} need not be
     * page-aligned.
     *
     * <p>Preconditions: {@code fr} non-empty; references held on every page.
     *
     * <p>Postconditions: the mapping stays valid while a reference is held on its pages.
     *
     * @throws MemmapException with {@link BufferedIOFallback} if the file cannot be mapped
     *     but supports {@link #bufferReadAt}/{@link #bufferWriteAt}; with a {@link BusError}
     *     or errno otherwise
     */
    BlockSeq mapInternal(FileRange fr, AccessType at) throws MemmapException;

    /**
     * Waits until offsets {@code fr} contain valid data, then returns the file descriptor to
     * map into other address spaces. {@code fr} need not be page-aligned.
     *
     * <p>Preconditions: {@code fr} non-empty; references held on every page.
     */
    int dataFd(FileRange fr) throws MemmapException;

    /**
     * Reads {@code dst.byteSize()} bytes at file offset {@code off} into {@code dst}. Never
     * returns a short count without an error (like {@code io.ReaderAt}).
     *
     * <p>Preconditions: {@link #mapInternal} signalled {@link BufferedIOFallback}; references
     * held on the pages read.
     */
    IoResult bufferReadAt(long off, MemorySegment dst);

    /**
     * Writes {@code src.byteSize()} bytes at file offset {@code off}. Never returns a short
     * count without an error.
     *
     * <p>Preconditions: {@link #mapInternal} signalled {@link BufferedIOFallback}; references
     * held on the pages written.
     */
    IoResult bufferWriteAt(long off, MemorySegment src);

    /**
     * The file descriptor this File represents. Not for mapping into address spaces (its
     * contents may not be valid yet); use {@link #dataFd}.
     */
    int fd();
}
