package memmap.api.checkpoint;

import java.util.Objects;

/**
 * How to restore.
 *
 * @param lazy return once the metadata is loaded and load private page contents in the
 *     background (an access to a page not loaded yet waits for its record, which the loader
 *     takes next); only for images in files. Everything but the page bytes is checked before
 *     the restore returns (a broken structure, a missing image, a changed host file leave the
 *     runtime as it was); a page record failing its checksum later is an EIO fault on its
 *     pages and the error of {@link Restored#awaitLoaded}. Anything that looks at or changes
 *     every pma (smaps, mincore, mprotect, munmap, fork, a checkpoint, a hot swap) first waits
 *     for the pages it covers
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
