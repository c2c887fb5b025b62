package memmap.anon.internal;

import memmap.posix.Log;
import memmap.posix.Logs;

/** The bundle's logs ({@link Logs}): the Log Service when a component has one, else System.Logger. */
final class Logging {
    private Logging() {}

    static final Logs LOGS = new Logs();
    /** Provider life and settings. */
    static final Log PROVIDER = LOGS.get(AnonymousProvider.PID);
    /** The memory file's life, settings and limits. */
    static final Log MEMORY_FILE = LOGS.get(MemfdMemoryFile.PID);
}
