package memmap.api.checkpoint;

/**
 * Told how far a long checkpoint, restore or migration has come. Called from the thread doing
 * the work, at most every few megabytes and at the end; it must return quickly and must not
 * call back into the address spaces being saved (their locks may be held).
 */
@FunctionalInterface
@org.osgi.annotation.versioning.ConsumerType
public interface Progress {
    /** Says nothing. */
    Progress NONE = (done, total, nanos) -> { };

    /**
     * @param doneBytes page bytes handled so far
     * @param totalBytes page bytes to handle in all (known from the image's metadata)
     * @param elapsedNanos time since the operation started
     */
    void update(long doneBytes, long totalBytes, long elapsedNanos);

    /** One line for a terminal: {@code 412.0 MiB of 1.0 GiB, 1.9 GiB/s, 0.3 s left}. */
    static String line(long doneBytes, long totalBytes, long elapsedNanos) {
        double secs = Math.max(elapsedNanos, 1) / 1e9;
        double rate = doneBytes / secs;
        String left = rate <= 0 ? "?" : String.format(java.util.Locale.ROOT, "%.1f s", Math.max(0, totalBytes - doneBytes) / rate);
        return size(doneBytes) + " of " + size(totalBytes) + ", " + size((long) rate) + "/s, " + left + " left";
    }

    private static String size(long b) {
        if (b >= 1L << 30) {
            return String.format(java.util.Locale.ROOT, "%.1f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        }
        return String.format(java.util.Locale.ROOT, "%.1f KiB", b / 1024.0);
    }
}
