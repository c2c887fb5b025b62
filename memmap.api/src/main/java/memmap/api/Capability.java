package memmap.api;

/** The Linux capabilities memmap's checks consult. */
public enum Capability {
    /** {@code CAP_IPC_LOCK}: lock memory beyond RLIMIT_MEMLOCK. */
    IPC_LOCK,
    /** {@code CAP_IPC_OWNER}: bypass System V IPC permission checks. */
    IPC_OWNER,
    /** {@code CAP_SYS_ADMIN}: e.g. {@code IPC_SET} on another user's segment. */
    SYS_ADMIN
}
