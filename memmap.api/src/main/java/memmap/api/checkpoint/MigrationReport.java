package memmap.api.checkpoint;

import java.util.List;

/**
 * What a live migration did.
 *
 * @param rounds pre-copy rounds before the stop
 * @param roundBytes page bytes sent per round, then the stop's
 * @param bytes bytes sent in all
 * @param downtimeNanos from stopping the address spaces here to the other side saying they run there
 * @param totalNanos the whole migration
 */
public record MigrationReport(int rounds, List<Long> roundBytes, long bytes, long downtimeNanos, long totalNanos) {
    public MigrationReport {
        roundBytes = List.copyOf(roundBytes);
    }
}
