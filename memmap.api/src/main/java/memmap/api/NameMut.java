package memmap.api;

/**
 * The effect of {@code prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)} on a mapping
 * (gVisor's {@code memmap.NameMut}, spec §1.10).
 */
public enum NameMut {
    /** Renaming fails with EBADF. The zero value. */
    DISALLOWED,
    /** Renaming succeeds; the mapping is named {@code [anon:NAME]} as private anonymous memory. */
    ANON,
    /** Renaming succeeds; the mapping is named {@code [anon_shmem:NAME]} as shared anonymous memory. */
    ANON_SHMEM
}
