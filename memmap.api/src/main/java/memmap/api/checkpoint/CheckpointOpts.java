package memmap.api.checkpoint;

import java.util.Objects;

/**
 * How to checkpoint.
 *
 * @param parent null for a full image; else the chain of the last image, and only what was
 *     written since it is saved (an incremental image, restorable only after its parents)
 * @param keepChain whether to start a {@link Chain} for an incremental checkpoint after this one
 * @param progress told as pages are written
 */
public record CheckpointOpts(Chain parent, boolean keepChain, Progress progress) {
    /** A full image, no chain kept, silent. */
    public static final CheckpointOpts FULL = new CheckpointOpts(null, false, Progress.NONE);

    public CheckpointOpts {
        Objects.requireNonNull(progress, "progress");
    }

    /** A full image that starts a chain. */
    public static CheckpointOpts startChain() {
        return new CheckpointOpts(null, true, Progress.NONE);
    }

    /** An incremental image after {@code parent}, keeping the chain going. */
    public static CheckpointOpts after(Chain parent) {
        return new CheckpointOpts(Objects.requireNonNull(parent, "parent"), true, Progress.NONE);
    }

    public CheckpointOpts withProgress(Progress p) {
        return new CheckpointOpts(parent, keepChain, p);
    }
}
