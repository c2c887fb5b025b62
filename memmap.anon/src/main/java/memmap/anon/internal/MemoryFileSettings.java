package memmap.anon.internal;

import java.util.Map;

import memmap.api.Pages;

/**
 * The memory file's configuration as DS hands it over, checked property by property
 * ({@link memmap.posix.Settings}): a bad value is one line (logged once the memory file is activated) naming the PID, the property
 * and the value, and the default serves in its place.
 */
final class MemoryFileSettings {
    private MemoryFileSettings() {}

    /** The memory file's settings. */
    record Checked(long chunkSize, long memoryLimit, long retainedLimit, boolean hugePages, java.util.List<String> rejected) {}

    /** The settings {@code properties} ask for, bad values replaced by defaults. */
    static Checked checked(Map<String, Object> properties) {
        MemfdMemoryFile.Config d = memmap.posix.Settings.defaults(MemfdMemoryFile.Config.class);
        memmap.posix.Settings in = new memmap.posix.Settings(MemfdMemoryFile.PID, properties);
        long chunk = in.longValue("chunkSize", d.chunkSize(), d.chunkSize(), "must be a positive multiple of 2 MiB",
                v -> v > 0 && Pages.isHugePageAligned(v));
        long limit = in.longValue("memoryLimit", d.memoryLimit(), d.memoryLimit(), "must be positive", v -> v > 0);
        long retained = in.longValue("retainedLimit", d.retainedLimit(), d.retainedLimit(), "must not be negative", v -> v >= 0);
        boolean huge = in.booleanValue("hugePages", d.hugePages(), d.hugePages());
        return new Checked(chunk, limit, retained, huge, in.rejected());
    }
}
