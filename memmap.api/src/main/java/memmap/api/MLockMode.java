package memmap.api;

/**
 * The memory-locking behaviour of a mapping (gVisor's {@code memmap.MLockMode}, spec §1.8).
 *
 * <p>The declaration order is significant: a new mapping gets the larger (by
 * {@link #ordinal()}) of the requested mode and the address space's default mode, so
 * {@link #NONE} must stay first.
 */
public enum MLockMode {
    /** No memory locking; the zero value. */
    NONE,
    /**
     * Memory-locked as by {@code mlock()}: pages are made resident as soon as possible and
     * kept resident (Linux {@code VM_LOCKED}).
     */
    EAGER,
    /**
     * Memory-locked, but pages are kept resident only once they became resident through a
     * fault (Linux {@code VM_LOCKED | VM_LOCKONFAULT}).
     */
    LAZY;

    /** The larger of the two modes in declaration order. */
    public static MLockMode max(MLockMode a, MLockMode b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
