package memmap.api.checkpoint;

import java.util.Objects;

/**
 * How to migrate.
 *
 * @param maxRounds pre-copy rounds at most before the stop (round 0 copies everything)
 * @param stopBelowBytes stop as soon as a round leaves no more than this dirty
 * @param progress told as pages are sent
 */
public record MigrateOpts(int maxRounds, long stopBelowBytes, Progress progress) {
    /** Up to 8 rounds, stopping once 2 MiB or less is dirty. */
    public static final MigrateOpts DEFAULT = new MigrateOpts(8, 2L << 20, Progress.NONE);

    public MigrateOpts {
        if (maxRounds < 1) {
            throw new IllegalArgumentException("maxRounds = " + maxRounds + " must be at least 1");
        }
        if (stopBelowBytes < 0) {
            throw new IllegalArgumentException("stopBelowBytes = " + stopBelowBytes + " must not be negative");
        }
        Objects.requireNonNull(progress, "progress");
    }
}
