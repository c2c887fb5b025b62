package memmap.mm.internal;

import memmap.posix.Log;
import memmap.posix.Logs;

/**
 * The bundle's logs ({@link Logs}): the OSGi Log Service once {@link AddressSpacesComponent}
 * has one injected, System.Logger otherwise (and on a plain module path).
 */
final class Logging {
    private Logging() {}

    static final Logs LOGS = new Logs();
    /** The component's own settings. */
    static final Log CONFIG = LOGS.get(AddressSpacesComponent.PID);
    /** Providers, memory files and System V registries bound and unbound; which one serves each kind. */
    static final Log PROVIDERS = LOGS.get("memmap.mm.providers");
    /** Hot swaps: what moved, from where to where, how much, how long. */
    static final Log SWAP = LOGS.get("memmap.mm.swap");
    /** Checkpoints, restores and migrations. */
    static final Log CHECKPOINT = LOGS.get("memmap.mm.checkpoint");
    /** Pinned views. */
    static final Log PINS = LOGS.get("memmap.mm.pins");
}
