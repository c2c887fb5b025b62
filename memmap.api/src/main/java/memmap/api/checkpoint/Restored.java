package memmap.api.checkpoint;

import java.util.List;

import memmap.api.AddressSpace;
import memmap.api.MemmapException;

/**
 * The address spaces a restore made, in the order they were saved.
 *
 * <p>Thread-safe. For a lazy restore the spaces are usable at once; page contents are loaded in
 * the background and {@link #awaitLoaded} waits for the last one.
 */
@org.osgi.annotation.versioning.ProviderType
public interface Restored {
    /** The restored address spaces, in the order they were given to the checkpoint. */
    List<AddressSpace> spaces();

    /** Page bytes still to load (0 for an eager restore). */
    long pendingBytes();

    /**
     * Waits until every page is loaded.
     *
     * @throws MemmapException ({@link ImageException}) if a page record failed its checksum while
     *     loading in the background: the pages of that record read as an EIO fault
     * @throws InterruptedException if interrupted while waiting
     */
    void awaitLoaded() throws MemmapException, InterruptedException;
}
