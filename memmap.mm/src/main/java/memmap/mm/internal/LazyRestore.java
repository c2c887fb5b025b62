package memmap.mm.internal;

import java.nio.file.Path;
import java.util.List;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/** Lazy restore: not built yet (issue 15) — refused before anything is read or made. */
final class LazyRestore {
    private LazyRestore() {}

    static Restored start(Context ctx, CheckpointService service, List<Path> chain, RestoreOpts opts) throws MemmapException {
        throw Errno.ENOSYS.exception("opts.lazy = true: lazy restore is not built yet; restore with RestoreOpts.EAGER");
    }
}
