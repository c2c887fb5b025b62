package memmap.api;

/**
 * A set of memory access types, gVisor's {@code hostarch.AccessType} (spec §0.2).
 *
 * @param read read access
 * @param write write access
 * @param execute execute access
 */
public record AccessType(boolean read, boolean write, boolean execute) {
    public static final AccessType NO_ACCESS = new AccessType(false, false, false);
    public static final AccessType READ = new AccessType(true, false, false);
    public static final AccessType WRITE = new AccessType(false, true, false);
    public static final AccessType EXECUTE = new AccessType(false, false, true);
    public static final AccessType READ_WRITE = new AccessType(true, true, false);
    public static final AccessType READ_EXECUTE = new AccessType(true, false, true);
    public static final AccessType ANY_ACCESS = new AccessType(true, true, true);

    /** True if any access type is set. */
    public boolean any() {
        return read || write || execute;
    }

    /** True if every access type set in {@code o} is set here. */
    public boolean supersetOf(AccessType o) {
        return (read || !o.read) && (write || !o.write) && (execute || !o.execute);
    }

    /** The access types set in both. */
    public AccessType intersect(AccessType o) {
        return new AccessType(read && o.read, write && o.write, execute && o.execute);
    }

    /** The access types set in either. */
    public AccessType union(AccessType o) {
        return new AccessType(read || o.read, write || o.write, execute || o.execute);
    }

    /** Linux semantics: write or execute access implies read access. */
    public AccessType effective() {
        return (write || execute) && !read ? new AccessType(true, write, execute) : this;
    }

    /** This set without write access. */
    public AccessType withoutWrite() {
        return write ? new AccessType(read, false, execute) : this;
    }

    /** {@code rwx} with {@code -} for each access type not set, e.g. {@code rw-}. */
    @Override
    public String toString() {
        return (read ? "r" : "-") + (write ? "w" : "-") + (execute ? "x" : "-");
    }
}
