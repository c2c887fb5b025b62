package memmap.api;

/**
 * Options of an address space's I/O (gVisor's {@code usermem.IOOpts}).
 *
 * @param ignorePermissions read and write what the mapping's current protection refuses, as
 *     far as its maximum permissions allow — what ptrace and {@code /proc/[pid]/mem} do (Linux's
 *     {@code FOLL_FORCE}): the protection stays as it is; a write to a private mapping breaks
 *     copy-on-write (the page becomes the address space's own, still read-only to it); a write
 *     to a shared mapping that is not writable is refused, as Linux refuses it
 */
public record IoOpts(boolean ignorePermissions) {
    /** Plain I/O: the mapping's protection applies. */
    public static final IoOpts DEFAULT = new IoOpts(false);

    /** I/O that ignores the protection (ptrace, {@code /proc/[pid]/mem}). */
    public static final IoOpts FORCE = new IoOpts(true);
}
