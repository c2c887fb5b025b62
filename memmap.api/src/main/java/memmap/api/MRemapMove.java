package memmap.api;

/** Whether mremap may move the mapping (mremap's MREMAP_MAYMOVE and MREMAP_FIXED). */
public enum MRemapMove {
    /** Resize in place or fail. */
    NO_MOVE,
    /** Resize in place, else move anywhere (MREMAP_MAYMOVE). */
    MAY_MOVE,
    /** Move to the given address (MREMAP_MAYMOVE | MREMAP_FIXED). */
    MUST_MOVE
}
