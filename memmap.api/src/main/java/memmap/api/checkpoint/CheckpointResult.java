package memmap.api.checkpoint;

import java.util.UUID;

/**
 * What a checkpoint wrote.
 *
 * @param imageId the image's id (incremental images name their parent's)
 * @param depth 1 for a full image, n for the (n-1)th incremental image after it
 * @param pages pages saved with their bytes
 * @param zeroPages allocated pages that were all zeroes, saved as such without their bytes
 * @param sharedPages pages shared copy-on-write between address spaces, each saved once
 * @param bytes bytes written to the stream
 * @param pauseNanos how long the address spaces were stopped
 * @param chain the chain for the next incremental checkpoint, or null if none was asked for
 */
public record CheckpointResult(UUID imageId, int depth, long pages, long zeroPages, long sharedPages, long bytes, long pauseNanos,
        Chain chain) {}
