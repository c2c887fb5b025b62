package memmap.api.checkpoint;

import java.util.Objects;

/**
 * How to restore.
 *
 * @param lazy return once the metadata is loaded and load private page contents in the
 *     background (an access to a page not loaded yet waits for it, loading it first); only
 *     for images in files. <b>Not built yet:</b> a restore with it throws ENOSYS, leaving the
 *     runtime as it was
 * @param progress told as page contents are loaded
 */
public record RestoreOpts(boolean lazy, Progress progress) {
    /** Everything loaded before restore returns, silent. */
    public static final RestoreOpts EAGER = new RestoreOpts(false, Progress.NONE);
    /** Metadata first, pages in the background, silent. */
    public static final RestoreOpts LAZY = new RestoreOpts(true, Progress.NONE);

    public RestoreOpts {
        Objects.requireNonNull(progress, "progress");
    }

    public RestoreOpts withProgress(Progress p) {
        return new RestoreOpts(lazy, p);
    }
}
