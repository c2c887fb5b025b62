package memmap.api;

import java.util.Map;

/**
 * A memory file's usage.
 *
 * @param allocated bytes handed out and still referenced
 * @param committed bytes really resident in the backing file (its block count)
 * @param retained bytes freed but kept committed and zeroed for reuse
 * @param fileSize the backing file's size
 * @param byCgroup allocated and committed bytes per memory cgroup
 */
public record MemoryUsage(long allocated, long committed, long retained, long fileSize, Map<Integer, Cgroup> byCgroup) {
    public MemoryUsage {
        byCgroup = Map.copyOf(byCgroup);
    }

    /**
     * One memory cgroup's share.
     *
     * @param allocated bytes allocated to it and still referenced
     * @param committed of those, bytes resident
     */
    public record Cgroup(long allocated, long committed) {}
}
