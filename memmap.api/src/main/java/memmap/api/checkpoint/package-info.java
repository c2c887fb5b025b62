/**
 * Checkpoint, restore and live migration of address spaces (gVisor's save/restore of a
 * sandbox's memory; CRIU's dump, pre-dump and lazy pages; Firecracker's diff snapshots).
 *
 * <p>{@link Checkpoints} is the service: {@code checkpoint} writes a set of address spaces
 * (with their forks' copy-on-write sharing, the shared memory they map and the System V
 * registry) to a stream as an image; {@code restore} makes them again in this runtime from
 * an image or a chain of incremental images, eagerly or lazily; {@code migrate} and
 * {@code receive} move them to another runtime over a byte stream with pre-copy rounds.
 * Images are versioned, every record carries a CRC-32C, and a broken image leaves the
 * restoring runtime as it was. The image format is described in ARCHITECTURE.md.
 */
@Export
@Version("1.0.0")
package memmap.api.checkpoint;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
