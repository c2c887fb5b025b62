package memmap.api.checkpoint;

import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;

/**
 * Checkpoint, restore and live migration of address spaces made by this runtime's
 * {@code AddressSpaces} service.
 *
 * <p>What an image holds: for each address space its vmas with every attribute (permissions,
 * maximum permissions, sharing, growsDown, stack, dontfork, mlock mode, name) and the brk heap;
 * the private pages each vma owns, each saved once however many forks share it copy-on-write
 * (and shared copy-on-write again after restore) with the memory cgroup it is charged to; the
 * pages of the shared anonymous memory mapped; the System V registry (ids, keys, modes, owners,
 * times, contents; attach counts follow from the restored mappings); POSIX shared memory and
 * host files by name with an identity check (device, inode, size, modification time) — their
 * contents stay where they are. Pages never allocated are not in the image; allocated pages
 * that are all zeroes are recorded as zero without their bytes. Before saving,
 * {@code Mappable.invalidateUnsavable} is called on every Mappable mapped.
 *
 * <p>Consistency: a checkpoint stops the address spaces (every writer and every change waits)
 * for as long as it takes to save them; a migration stops them only for its last round.
 *
 * <p>Errors: a checkpoint of a space this runtime did not make, or of a mapping it cannot save
 * (a Mappable not obtained through {@code AddressSpaces.backing}), fails with EINVAL naming it
 * before anything is written. A restore that fails — {@link ImageException} for the image, an
 * errno for the runtime (a System V id or key already used, a provider missing) — leaves the
 * runtime as it was: no address space, segment or page left behind.
 */
@org.osgi.annotation.versioning.ProviderType
public interface Checkpoints {
    /**
     * Saves {@code spaces} (and nothing else of the address spaces not listed: a fork that is not
     * listed is not saved) to {@code out}, which is not closed.
     *
     * @throws MemmapException EINVAL naming a space or mapping that cannot be saved, or a chain
     *     that does not belong to these spaces; EIO if writing fails
     */
    CheckpointResult checkpoint(Context ctx, List<AddressSpace> spaces, WritableByteChannel out, CheckpointOpts opts)
            throws MemmapException;

    /**
     * Makes the address spaces of {@code chain} (a full image, then each incremental image after
     * it, oldest first; usually a single full image) again in this runtime.
     *
     * @throws ImageException if an image is truncated, corrupt, of another version, out of order,
     *     or names a host file that changed; the runtime is then as it was
     */
    Restored restore(Context ctx, List<Path> chain, RestoreOpts opts) throws MemmapException;

    /**
     * Restores one full image read from {@code in} (a pipe, a socket), eagerly.
     *
     * @throws ImageException as {@link #restore(Context, List, RestoreOpts)}
     */
    Restored restore(Context ctx, ReadableByteChannel in, RestoreOpts opts) throws MemmapException;

    /**
     * Moves {@code spaces} to the runtime that {@link #receive}s from the other end of
     * {@code channel}: pre-copy rounds while writers run, then a stop in which the last dirty pages
     * and the metadata are sent and the other side restores. On success the spaces here are
     * released (they run there now; a writer here sees EFAULT); on failure they run on here as
     * they were.
     */
    MigrationReport migrate(Context ctx, List<AddressSpace> spaces, java.nio.channels.ByteChannel channel, MigrateOpts opts)
            throws MemmapException;

    /** The other side of {@link #migrate}: returns once the spaces run here. */
    Restored receive(Context ctx, java.nio.channels.ByteChannel channel, RestoreOpts opts) throws MemmapException;
}
