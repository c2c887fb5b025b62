package memmap.api.provider;

/** The kinds of backing memory a {@link BackingProvider} serves. */
public enum BackingKind {
    /** Anonymous memory (MAP_ANONYMOUS), from the memory file. */
    ANONYMOUS("anonymous"),
    /** Real host files. */
    HOST_FILE("hostfile"),
    /** System V and POSIX shared memory. */
    SHARED_MEMORY("shm");

    private final String id;

    BackingKind(String id) {
        this.id = id;
    }

    /** The value of the {@link BackingProvider#KIND} service property for this kind. */
    public String id() {
        return id;
    }

    /**
     * The kind whose {@link #id()} is {@code id}.
     *
     * @throws IllegalArgumentException naming the value if there is none
     */
    public static BackingKind ofId(String id) {
        for (BackingKind k : values()) {
            if (k.id.equals(id)) {
                return k;
            }
        }
        throw new IllegalArgumentException("kind = \"" + id + "\" is not one of anonymous, hostfile, shm");
    }
}
